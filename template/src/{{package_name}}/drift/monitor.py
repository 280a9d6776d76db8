"""`drift`: compare live traffic with the training reference; write reports/drift/drift.json and drift.html.

Exit codes (the CLI's): 0 no alarm, 1 alarm, 2 an error, including too few live rows to judge (a quiet week
is not an alarm). The alarm goes off when any rule of `drift.alarm_rules` fires (see `alarm`): the model's
output drifted, one of the most important features drifted, or at least `drift.drift_share` of the
monitored columns (features and the model's output) drifted; `dataset_drift` in drift.json stays the
verdict of that last rule alone. Live rows that are training rows are compared by their out-of-fold output,
as the reference is (see `training_rows`). Each column is judged by the larger of its configured threshold
and what unchanged data scores by chance at the live sample's size (see `noise`): a column with many
categories and a few hundred live rows is no longer flagged every time; when a threshold is raised, a
progress line says which and by how much, and drift.json keeps both (`configured_threshold`,
`noise_threshold`; `threshold` is the one used, in the HTML report too).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..artifacts import files as artifacts
from ..artifacts.metadata import ModelMetadata
from ..artifacts.paths import PREDICTION_LOG_SUFFIX, ReportFolder
from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import say, step
from . import noise
from .alarm import Alarm, evaluate
from .columns import Column, monitored_columns
from .current import Current, read_file, read_log, read_reference, window_start
from .training_rows import read_training_outputs, seen_line


def run_drift(
    config: Config,
    current_path: Path | None = None,
    since: str | None = None,
    last: str | None = None,
    workspace: Path | None = None,
    sample_rows: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run the monitor; returns what drift.json holds (plus the paths written)."""
    from ..serving.trained_model import read_metadata

    started = time.perf_counter()
    settings = config.drift
    sample_rows = settings.sample_rows if sample_rows is None else sample_rows
    seed = settings.seed if seed is None else seed
    if sample_rows < 0:
        raise UserError(f"--sample-rows is {sample_rows}; use 0 (every row) or a positive number")
    metadata = read_metadata(config)
    columns, skipped = monitored_columns(metadata, settings)
    start = window_start(since, last)
    with step("reading the training reference and the live rows"):
        reference = read_reference(config, metadata, columns)
        known = read_training_outputs(config, metadata)
        current = _read_current(config, current_path, columns, metadata, start, sample_rows, seed, known)
    say(f"  {current.rows:,} live rows in {current.source}, {current.used:,} compared (seed {seed})")
    if current.seen_in_training is not None:
        say(seen_line(current.seen_in_training, current.used))
    if current.used < settings.min_current_rows:
        raise UserError(
            f"only {current.used} live rows in {current.source}"
            f"{' since ' + start.isoformat() if start else ''}; drift needs at least "
            f"{settings.min_current_rows} (drift.min_current_rows) to judge: wait for more traffic or "
            "widen the window"
        )
    summary = _compare(config, metadata, columns, skipped, reference, current, workspace, seed)
    summary["sampling"] = {"sample_rows": sample_rows, "seed": seed}
    summary["seconds"] = round(time.perf_counter() - started, 2)
    artifacts.write_json(ReportFolder(config.reports_dir).drift_json, summary)
    return summary


def headline(summary: dict[str, Any]) -> str:
    """The command's one line: ALARM (the rules that fired, each with its columns) or no alarm, the rules
    whose condition holds but that drift.alarm_rules switches off, and the drifted columns."""
    rules = summary["rules"]
    fired = "; ".join(f"{name} ({', '.join(rules[name]['columns'])})" for name in summary["fired_rules"])
    verdict = f"ALARM: {fired}" if summary["alarm"] else "no alarm"
    if summary["switched_off_rules"]:
        off = ", ".join(summary["switched_off_rules"])
        verdict += f" (switched off in drift.alarm_rules, would have fired: {off})"
    drifted = ", ".join(summary["drifted_columns"]) or "none"
    return (
        f"{verdict}; {summary['n_drifted_columns']} of {summary['n_columns']} columns drifted "
        f"(share {summary['share_of_drifted_columns']:.2f}; drifted: {drifted}); "
        f"report: {summary['outputs']['html']}"
    )


def _read_current(config, current_path, columns, metadata, start, sample_rows, seed, known) -> Current:
    if current_path is not None:
        return read_file(current_path, columns, config, start, sample_rows, seed, known)
    directory = config.prediction_log_dir
    current = read_log(directory, columns, metadata, start, sample_rows, seed, known)
    if current.rows == 0 and not any(directory.glob(f"*{PREDICTION_LOG_SUFFIX}")):
        raise UserError(
            f"no prediction log in {directory}: serve the model first (`serve`), or give --current FILE"
        )
    return current


def _compare(config, metadata, columns, skipped, reference, current, workspace, seed) -> dict[str, Any]:
    from . import evidently_run

    with step("loading Evidently"):
        import evidently  # noqa: F401  (seconds on a cold start: say so before it happens)
    started = time.perf_counter()
    with step(f"scoring unchanged samples of {current.used:,} rows: what each column scores by chance"):
        found = noise.thresholds(reference, current.frame, columns, seed)
    noise_seconds = time.perf_counter() - started
    raised = noise.raised_line(found, current.used)
    if raised:
        say(raised)
    judged = noise.judged(columns, found)
    with step(f"comparing {len(columns)} columns with Evidently"):
        verdicts = evidently_run.column_verdicts(reference, current.frame, judged)
        compared = [column for column in judged if column.name in verdicts]
        snapshot, scores = evidently_run.build_report(
            reference, current.frame, compared, config.drift.drift_share
        )
        evidently_run.check_agreement(verdicts, scores)
    results = {c.name: _column_result(c, verdicts.get(c.name), found.get(c.name)) for c in columns}
    drifted = {name: result["drifted"] for name, result in results.items()}
    alarm = evaluate(drifted, columns, metadata, config.drift)
    summary = _summary(config, metadata, columns, skipped, results, reference, current, alarm)
    summary["noise_thresholds"] = {
        "quantile": noise.QUANTILE,
        "raised_columns": [name for name, threshold in found.items() if threshold.raised],
        "seconds": round(noise_seconds, 2),
    }
    folder = ReportFolder(config.reports_dir)
    html = folder.drift_html
    with step(f"writing {html.relative_to(config.root)}"):
        evidently_run.save_html(snapshot, html)
    summary["outputs"] = {"json": str(folder.drift_json), "html": str(html)}
    if workspace is not None:
        project_id = evidently_run.add_to_workspace(snapshot, workspace, config.project_name)
        summary["outputs"]["workspace"] = {"path": str(workspace), "project_id": project_id}
    return summary


def _column_result(column: Column, verdict, threshold: noise.Threshold | None) -> dict[str, Any]:
    """One column in drift.json: `threshold` is the one it was judged by, the larger of
    `configured_threshold` and `noise_threshold` (see `noise`)."""
    thresholds = noise.Threshold(column.threshold, None) if threshold is None else threshold
    result = {"kind": column.kind, "method": column.method, **thresholds.to_json()}
    if verdict is None:
        # No value at all on one side (a feature the callers stopped sending): no distance to compute, and
        # certainly a change worth an alarm.
        return {**result, "method": "no values on one side", "score": 1.0, "drifted": True}
    return {**result, "score": verdict.score, "drifted": verdict.drifted}


def _summary(
    config, metadata: ModelMetadata, columns, skipped, results, reference, current, alarm: Alarm
) -> dict[str, Any]:
    drifted = [name for name, result in results.items() if result["drifted"]]
    share = len(drifted) / len(columns)
    output = next(column for column in columns if column.kind == "prediction")
    for name, result in results.items():
        result["rules"] = alarm.column_rules(name)
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_version": str(metadata.model_version),
        "alarm": alarm.alarm,
        "fired_rules": alarm.fired_rules,
        "rules": alarm.to_json(),
        "switched_off_rules": alarm.switched_off,
        "dataset_drift": alarm.rules["drift_share"].triggered,
        "drift_share_threshold": config.drift.drift_share,
        "share_of_drifted_columns": share,
        "n_columns": len(columns),
        "n_drifted_columns": len(drifted),
        "drifted_columns": drifted,
        "rows": {"reference": len(reference), "current": current.rows, "current_used": current.used},
        "window": {"start": current.window_start, "end": current.window_end},
        "current_source": current.source,
        "columns": results,
        "prediction_drift": {
            "column": output.name,
            **{k: v for k, v in results[output.name].items() if k not in ("kind", "rules")},
        },
        "not_compared": {item.name: item.reason for item in skipped},
        "log_model_versions": current.model_versions,
        "skipped_log_lines": current.skipped_lines,
        "rows_seen_in_training": current.seen_in_training,
    }
