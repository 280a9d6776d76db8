"""`report`: the weekly executive summary for the client, from what the project recorded.

Three bullets (done, blockers, business impact) computed from `reports/experiments.jsonl`, the latest audit
(`reports/audit/audit.json`), the latest drift check (`reports/drift/drift.json`), the latest performance
check (`reports/performance/performance.json`) and the model's metadata (`models/metadata.json`); the model's
health (`health`: needs attention or not, realized and estimated performance over time, the week's input
warnings from the prediction log, `live_warnings`); the shadow model against the current one and the week's
switches of the current model (`shadow`, from models/current.json and `models compare`); a small trend of the
main metric over experiments; written as Markdown (`reports/weekly/<date>.md`, for the repository and email)
and as one self-contained HTML page (`reports/weekly/<date>.html`, images embedded, no external links). Every
input may be missing: the summary then says what has not been run yet instead of failing.

Modules: `sources` reads the inputs (`live_warnings` the week's input warnings), this one words the three
bullets, `health` the model's health, `shadow` the shadow model and the switches, `weekly_render` writes the
text, the page and the trend figure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..artifacts import files as artifacts
from ..artifacts.audit_summary import AuditSummary
from ..artifacts.experiments import PROMOTED, REJECTED, SHADOW, ExperimentEntry
from ..artifacts.metadata import GateVerdict
from ..artifacts.paths import ReportFolder
from ..core import metrics
from ..core.config import Config
from ..core.progress import step
from ..core.wording import count, number
from . import health, shadow
from .sources import Sources, read_sources
from .weekly_render import WEEK, Bullet, render_html, render_markdown, trend_figure


def run_report(config: Config, day: date | None = None) -> dict[str, Path]:
    """Write the week's summary as Markdown and HTML; returns their paths (and the trend figure's)."""
    day = day or datetime.now(UTC).date()
    sources = read_sources(config, day, WEEK)
    bullets = summarise(sources, config, day)
    with step("drawing the trend of the main metric"):
        figure = trend_figure(sources.experiments, config.gate_metric)
    folder = ReportFolder(config.reports_dir).weekly_dir
    paths = {"markdown": folder / f"{day.isoformat()}.md", "html": folder / f"{day.isoformat()}.html"}
    if figure is not None:
        paths["figure"] = folder / f"{day.isoformat()}_trend.png"
        artifacts.write_atomic(paths["figure"], figure)
    performance = health.performance_figure(sources.performance)
    if performance is not None:
        paths["performance_figure"] = folder / f"{day.isoformat()}_performance.png"
        artifacts.write_atomic(paths["performance_figure"], performance)
    artifacts.write_atomic(paths["markdown"], render_markdown(config, day, bullets, sources, paths))
    artifacts.write_atomic(paths["html"], render_html(config, day, bullets, sources, figure, performance))
    return paths


# The three bullets ------------------------------------------------------------------------------------------


def summarise(sources: Sources, config: Config, day: date) -> list[Bullet]:
    return [done(sources, config, day), blockers(sources, config), impact(sources, config)]


def this_week(experiments: list[ExperimentEntry], day: date) -> list[ExperimentEntry]:
    """Experiments of the seven days that end on `day`."""
    start = day - WEEK
    return [e for e in experiments if start < _day_of(e.timestamp) <= day]


def done(sources: Sources, config: Config, day: date) -> Bullet:
    parts = []
    week = this_week(sources.experiments, day)
    if week:
        promoted = sum(e.status == PROMOTED for e in week)
        shadows = sum(e.status == SHADOW for e in week)
        as_shadow = f", {shadows} set as the shadow" if shadows else ""
        parts.append(
            f"{count(len(week), 'experiment')} run this week ({promoted} promoted{as_shadow}, "
            f"{len(week) - promoted - shadows} rejected); "
            f"{len(sources.experiments)} in the log so far"
        )
    elif sources.experiments:
        parts.append(f"no experiment this week; {len(sources.experiments)} in the log so far")
    else:
        parts.append("no model trained yet (`make train`)")
    if sources.metadata:
        meta = sources.metadata
        gate = meta.gate
        parts.append(
            f"current model {meta.model_version} ({meta.model_family.replace('_', ' ')}) scores "
            f"{metrics.label(gate.metric)} {number(gate.model)} against {number(gate.baseline)} "
            "for the dummy baseline"
        )
    switched = shadow.switches(sources.pointer, day)
    if switched:
        parts.append(f"model switches this week: {'; '.join(switched)}")
    if sources.audit:
        audited = sources.audit.generated_at[:10]
        parts.append(f"data audited on {audited}: {sources.audit.verdict.message.lower()}")
    else:
        parts.append("the data has not been audited yet (`make audit`)")
    return Bullet("Done", _sentences(parts), "ok" if sources.metadata else "info")


def blockers(sources: Sources, config: Config) -> Bullet:
    items = [*_audit_blockers(sources.audit), *_drift_blockers(sources.drift)]
    items += health.performance_blockers(sources.performance)
    items += health.warning_blockers(sources.warnings)
    if sources.audit is None:
        items.append("the data audit has not run, so phase 1 of the charter is still open")
    latest = sources.experiments[-1] if sources.experiments else None
    rejected = latest is not None and latest.status == REJECTED
    gate = (latest.gate if latest else None) or GateVerdict()
    challenge = latest.challenge if latest else None
    if rejected and challenge and gate.passed:
        items.append(
            f"the latest challenger (trained on new data) did not beat the current model on the same "
            f"validation ({metrics.label(challenge.metric)} {number(challenge.challenger)} against "
            f"{number(challenge.champion)}); the current model stays in service"
        )
    elif rejected:
        # The gate's own one-line reason (no skill, or too small a lift); older logs only have the lift.
        why = gate.reason or (
            f"{metrics.label(gate.metric)} lift {number(gate.lift, signed=True)}, "
            f"needed {number(gate.min_lift, signed=True)}"
        )
        items.append(
            f"the latest experiment failed the quality gate ({why}); the previous model stays in service"
        )
    if not items:
        return Bullet(
            "Blockers",
            "None: the audit, the gate, the drift check and the performance check raise nothing.",
            "ok",
        )
    return Bullet("Blockers", _sentences(items), "warning")


def _audit_blockers(audit: AuditSummary | None) -> list[str]:
    """The audit's warnings, in two kinds: columns the audit left out of the model (its `exclusions`, never
    the target or an ID) and findings about the rows or the target, named by their summary."""
    if not audit or not audit.verdict.issues:
        return []
    excluded = sorted(audit.exclusions)
    others = [
        issue
        for issue in audit.findings["issues"]
        if issue["severity"] == "warning" and issue.get("column") not in excluded
    ]
    parts = []
    if excluded:
        verb = "stays" if len(excluded) == 1 else "stay"
        columns = count(len(excluded), "column")
        parts.append(f"{columns} {verb} out of the model until then ({_names(excluded)})")
    if others:
        parts.append(_names([_finding(issue) for issue in others]))
    found = f"the data audit found {count(audit.verdict.issues, 'issue')} to settle with the client"
    return [f"{found}: {'; '.join(parts)}" if parts else found]


def _finding(issue: dict[str, Any]) -> str:
    column = issue.get("column")
    return f"{issue['summary']} ({column})" if column and column not in issue["summary"] else issue["summary"]


def _names(items: list[str], shown: int = 5) -> str:
    return ", ".join(items[:shown]) + (", …" if len(items) > shown else "")


def drift_state(drift: dict[str, Any]) -> str:
    """The drift check's result in one word, so that every bullet tells the same story: under the alarm,
    `dataset` (enough columns drifted), `predictions` (the model's output shifted) or `features` (another
    rule, such as the most important features); below it, `columns` (some columns moved) or `none`. A
    drift.json older than the alarm rules counts a shifted output as an alarm."""
    alarm = drift["alarm"] if "alarm" in drift else drift.get("dataset_drift") or _predictions_drifted(drift)
    if not alarm:
        return "columns" if drift.get("n_drifted_columns") else "none"
    if drift.get("dataset_drift"):
        return "dataset"
    return "predictions" if _predictions_drifted(drift) else "features"


def _drift_blockers(drift: dict[str, Any] | None) -> list[str]:
    if not drift:
        return []
    state = drift_state(drift)
    if state == "dataset":
        shifted = "; the model's predictions have shifted with it" if _predictions_drifted(drift) else ""
        return [
            f"live data has drifted from the training data: {_changed(drift)} ({_window(drift)}){shifted}; "
            "check the data feed and plan a retrain"
        ]
    if state == "features":
        drifted = ", ".join(drift.get("drifted_columns") or []) or "none named"
        return [
            f"the drift alarm fired{health.fired_rules(drift)} ({_window(drift)}; drifted: {drifted}); "
            "check the data feed and whether the model still performs"
        ]
    if state == "predictions":
        return [
            f"the model's predictions on live data have shifted compared with training ({_window(drift)}), "
            f"although the input columns stay below the drift alarm ({_changed(drift)}); find out what "
            "changed before relying on the scores"
        ]
    return []


def impact(sources: Sources, config: Config) -> Bullet:
    """What the model means for the business, in plain words, and whether that still holds."""
    from ..training.model_card import plain_summary

    if not sources.metadata:
        return Bullet("Business impact", "Not measurable yet: no model has passed the quality gate.", "info")
    parts = [plain_summary(sources.metadata)[0].rstrip(".")]
    drift = sources.drift
    if drift is None:
        parts.append("no drift check run yet, so this holds for data like the training data")
        level = "info"
    else:
        text, level = _drift_impact(drift)
        parts.append(text)
    measured = health.performance_impact(sources.performance)
    if measured:
        parts.append(measured)
    if sources.performance and sources.performance.get("degraded"):
        level = "warning"
    return Bullet("Business impact", _sentences(parts), level)


def _drift_impact(drift: dict[str, Any]) -> tuple[str, str]:
    """What the latest drift check means for the measured performance, and the bullet's level."""
    state, window = drift_state(drift), _window(drift)
    if state == "dataset":
        return "live data has drifted, so real performance may now be lower than measured", "warning"
    if state == "features":
        return "the drift alarm fired, so real performance may now differ from what was measured", "warning"
    if state == "predictions":
        return (
            f"the model's predictions have shifted in the latest drift check ({window}), so real "
            "performance may differ from what was measured",
            "warning",
        )
    if state == "columns":
        return (
            f"the latest drift check ({window}) finds no drift overall ({_changed(drift)}, below the alarm "
            f"at {float(drift.get('drift_share_threshold', 0)):.0%} of the columns), so the measured "
            "performance should still hold",
            "ok",
        )
    return f"the latest drift check ({window}) finds live data close to the training data", "ok"


def _changed(drift: dict[str, Any]) -> str:
    return f"{drift.get('n_drifted_columns', 0)} of {drift.get('n_columns', 0)} columns changed"


def _predictions_drifted(drift: dict[str, Any]) -> bool:
    return bool((drift.get("prediction_drift") or {}).get("drifted"))


# Small helpers ----------------------------------------------------------------------------------------------


def _window(drift: dict[str, Any]) -> str:
    window = drift.get("window") or {}
    if window.get("start") and window.get("end"):
        return f"traffic from {str(window['start'])[:10]} to {str(window['end'])[:10]}"
    return f"run {str(drift.get('generated_at', ''))[:10]}"


def _day_of(timestamp: Any) -> date:
    try:
        return datetime.fromisoformat(str(timestamp)).date()
    except ValueError:
        return date.min


def _sentences(parts: list[str]) -> str:
    """Clauses joined into sentences that start with a capital letter and end with a full stop."""
    return " ".join(part[:1].upper() + part[1:] + "." for part in parts)
