"""`monitor`: the drift check and the performance check in one run, with one exit code for a schedule.

Each check runs even when the other fails (a week without outcomes still gets its drift check), both
verdicts are printed, and the exit code is the worst of the two: 2 (a check could not judge: bad input, too
little traffic, too few outcomes) over 1 (the drift alarm, performance degraded, or its realized coverage
below target) over 0. A bug in either
check is raised after the other one has run (the CLI then exits 3).
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.config import Config
from ..core.errors import UserError

EXIT_OK, EXIT_ALARM, EXIT_ERROR = 0, 1, 2


def run_monitor(config: Config, since: str | None = None, last: str | None = None) -> int:
    """Run drift, then performance; print a line for each; return the worst exit code."""
    results = [
        _run("drift", lambda: _drift(config, since, last)),
        _run("performance", lambda: _performance(config, since, last)),
    ]
    for _, line, _ in results:
        print(line)
    for _, _, bug in results:
        if bug is not None:
            raise bug
    return max(code for code, _, _ in results)


def _run(name: str, check: Callable[[], tuple[int, str]]) -> tuple[int, str, Exception | None]:
    """(exit code, the verdict line, a bug to raise once both checks ran)."""
    try:
        code, line = check()
    except UserError as error:
        return EXIT_ERROR, f"{name} could not judge (exit 2): {error}", None
    except Exception as bug:  # noqa: BLE001 - raised again by run_monitor, after the other check
        return EXIT_ERROR, f"{name} failed with an internal error ({type(bug).__name__}: {bug})", bug
    return code, line, None


def _drift(config: Config, since: str | None, last: str | None) -> tuple[int, str]:
    from ..drift.monitor import run_drift

    summary = run_drift(config, since=since, last=last)
    alarm = bool(summary.get("alarm", summary["dataset_drift"]))
    fired = summary.get("fired_rules")
    why = f" (rules fired: {', '.join(fired)})" if alarm and fired else ""
    drifted = ", ".join(summary["drifted_columns"]) or "none"
    verdict = f"drift ALARM{why}" if alarm else "drift fine, no alarm"
    line = (
        f"{verdict}: {summary['n_drifted_columns']} of {summary['n_columns']} columns drifted "
        f"(drifted: {drifted}); report: {summary['outputs']['html']}"
    )
    return (EXIT_ALARM if alarm else EXIT_OK), line


def _performance(config: Config, since: str | None, last: str | None) -> tuple[int, str]:
    from .performance import run_performance

    summary = run_performance(config, since=since, last=last)
    return (EXIT_ALARM if summary.degraded else EXIT_OK), summary.headline
