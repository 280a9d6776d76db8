"""`report`: the weekly executive summary for the client, from what the project recorded.

Three bullets (done, blockers, business impact) computed from `reports/experiments.jsonl`, the latest
audit (`reports/audit/audit.json`), the latest drift check (`reports/drift/drift.json`) and the model's
metadata (`models/metadata.json`); a small trend of the main metric over experiments; written as Markdown
(`reports/weekly/<date>.md`, for the repository and email) and as one self-contained HTML page
(`reports/weekly/<date>.html`, images embedded, no external links). Every input may be missing: the
summary then says what has not been run yet instead of failing.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..artifacts import files as artifacts
from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import step
from ..core.wording import count, number

WEEK = timedelta(days=7)
RECENT_EXPERIMENTS = 10


@dataclass
class Sources:
    """What the summary is computed from; None (or empty) where that step has not run yet."""

    experiments: list[dict[str, Any]] = field(default_factory=list)
    audit: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


@dataclass
class Bullet:
    """One line of the summary; `level` (ok, info, warning) colours it in the HTML page."""

    title: str
    text: str
    level: str = "info"


def run_report(config: Config, day: date | None = None) -> dict[str, Path]:
    """Write the week's summary as Markdown and HTML; returns their paths (and the trend figure's)."""
    day = day or datetime.now(UTC).date()
    sources = read_sources(config)
    bullets = summarise(sources, config, day)
    with step("drawing the trend of the main metric"):
        figure = trend_figure(sources.experiments, config.gate_metric)
    folder = config.reports_dir / "weekly"
    paths = {"markdown": folder / f"{day.isoformat()}.md", "html": folder / f"{day.isoformat()}.html"}
    if figure is not None:
        paths["figure"] = folder / f"{day.isoformat()}_trend.png"
        artifacts.write_atomic(paths["figure"], figure)
    artifacts.write_atomic(paths["markdown"], render_markdown(config, day, bullets, sources, paths))
    artifacts.write_atomic(paths["html"], render_html(config, day, bullets, sources, figure))
    return paths


# Inputs -----------------------------------------------------------------------------------------------------


def read_sources(config: Config) -> Sources:
    # `train --data` also logs the current model's scores on the challenger's folds (status `champion`):
    # a comparison, not a training run, so it is not counted or plotted as an experiment.
    experiments = read_experiments(config.reports_dir / "experiments.jsonl")
    return Sources(
        experiments=[e for e in experiments if e.get("status") != "champion"],
        audit=_read_json(config.audit_dir / "audit.json"),
        drift=_read_json(config.drift_dir / "drift.json"),
        metadata=_read_json(config.models_dir / "metadata.json"),
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); rerun the command that writes it") from None


def read_experiments(path: Path) -> list[dict[str, Any]]:
    """The experiment log, oldest first; a damaged line is an error that names the line."""
    if not path.is_file():
        return []
    records = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise UserError(
                f"{path} line {line_number} is not valid JSON; the log must stay one JSON per line"
            ) from None
    return records


# The three bullets ------------------------------------------------------------------------------------------


def summarise(sources: Sources, config: Config, day: date) -> list[Bullet]:
    return [done(sources, config, day), blockers(sources, config), impact(sources, config)]


def this_week(experiments: list[dict[str, Any]], day: date) -> list[dict[str, Any]]:
    """Experiments of the seven days that end on `day`."""
    start = day - WEEK
    return [e for e in experiments if start < _day_of(e.get("timestamp")) <= day]


def done(sources: Sources, config: Config, day: date) -> Bullet:
    parts = []
    week = this_week(sources.experiments, day)
    if week:
        promoted = sum(e.get("status") == "promoted" for e in week)
        parts.append(
            f"{count(len(week), 'experiment')} run this week ({promoted} promoted, "
            f"{len(week) - promoted} rejected); "
            f"{len(sources.experiments)} in the log so far"
        )
    elif sources.experiments:
        parts.append(f"no experiment this week; {len(sources.experiments)} in the log so far")
    else:
        parts.append("no model trained yet (`make train`)")
    if sources.metadata:
        meta = sources.metadata
        gate = meta["gate"]
        parts.append(
            f"current model {meta['model_version']} ({meta['model_family'].replace('_', ' ')}) scores "
            f"{_metric_label(gate['metric'])} {number(gate['model'])} against {number(gate['baseline'])} "
            "for the dummy baseline"
        )
    if sources.audit:
        audited = str(sources.audit.get("generated_at", ""))[:10]
        parts.append(f"data audited on {audited}: {sources.audit['verdict']['message'].lower()}")
    else:
        parts.append("the data has not been audited yet (`make audit`)")
    return Bullet("Done", _sentences(parts), "ok" if sources.metadata else "info")


def blockers(sources: Sources, config: Config) -> Bullet:
    items = [*_audit_blockers(sources.audit), *_drift_blockers(sources.drift)]
    if sources.audit is None:
        items.append("the data audit has not run, so phase 1 of the charter is still open")
    latest = sources.experiments[-1] if sources.experiments else None
    challenge = (latest or {}).get("challenge")
    if latest and latest.get("status") == "rejected" and challenge and latest["gate"].get("passed", True):
        items.append(
            f"the latest challenger (trained on new data) did not beat the current model on the same "
            f"validation ({_metric_label(challenge['metric'])} {number(challenge['challenger'])} against "
            f"{number(challenge['champion'])}); the current model stays in service"
        )
    elif latest and latest.get("status") == "rejected":
        gate = latest["gate"]
        # The gate's own one-line reason (no skill, or too small a lift); older logs only have the lift.
        why = gate.get("reason") or (
            f"{_metric_label(gate['metric'])} lift {number(gate['lift'], signed=True)}, "
            f"needed {number(gate['min_lift'], signed=True)}"
        )
        items.append(
            f"the latest experiment failed the quality gate ({why}); the previous model stays in service"
        )
    if not items:
        return Bullet("Blockers", "None: the audit, the gate and the drift check raise nothing.", "ok")
    return Bullet("Blockers", _sentences(items), "warning")


def _audit_blockers(audit: dict[str, Any] | None) -> list[str]:
    """The audit's warnings, in two kinds: columns the audit left out of the model (its `exclusions`, never
    the target or an ID) and findings about the rows or the target, named by their summary."""
    if not audit or not audit["verdict"]["issues"]:
        return []
    excluded = sorted(audit.get("exclusions") or {})
    others = [
        issue
        for issue in audit["findings"]["issues"]
        if issue["severity"] == "warning" and issue.get("column") not in excluded
    ]
    parts = []
    if excluded:
        verb = "stays" if len(excluded) == 1 else "stay"
        columns = count(len(excluded), "column")
        parts.append(f"{columns} {verb} out of the model until then ({_names(excluded)})")
    if others:
        parts.append(_names([_finding(issue) for issue in others]))
    found = f"the data audit found {count(audit['verdict']['issues'], 'issue')} to settle with the client"
    return [f"{found}: {'; '.join(parts)}" if parts else found]


def _finding(issue: dict[str, Any]) -> str:
    column = issue.get("column")
    return f"{issue['summary']} ({column})" if column and column not in issue["summary"] else issue["summary"]


def _names(items: list[str], shown: int = 5) -> str:
    return ", ".join(items[:shown]) + (", …" if len(items) > shown else "")


def drift_state(drift: dict[str, Any]) -> str:
    """The drift check's result in one word, so that every bullet tells the same story: `dataset` (the
    alarm: enough columns drifted), `predictions` (the model's output shifted, the inputs stay below the
    alarm), `columns` (some columns moved, below the alarm) or `none`."""
    if drift.get("dataset_drift"):
        return "dataset"
    if _predictions_drifted(drift):
        return "predictions"
    return "columns" if drift.get("n_drifted_columns") else "none"


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
    return Bullet("Business impact", _sentences(parts), level)


def _drift_impact(drift: dict[str, Any]) -> tuple[str, str]:
    """What the latest drift check means for the measured performance, and the bullet's level."""
    state, window = drift_state(drift), _window(drift)
    if state == "dataset":
        return "live data has drifted, so real performance may now be lower than measured", "warning"
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


# Trend and experiment table ---------------------------------------------------------------------------------


def trend_figure(experiments: list[dict[str, Any]], metric: str) -> bytes | None:
    """The main metric of every experiment (model and baseline), rejected ones marked; None when empty."""
    from . import plots

    points = [(i, e) for i, e in enumerate(experiments, start=1) if metric in e.get("metrics", {})]
    if not points:
        return None
    numbers = [i for i, _ in points]
    with plots.style():
        figure, ax = plots.new_figure(width=6.4, height=2.8)
        ax.plot(
            numbers, [e["metrics"][metric] for _, e in points], marker="o", color=plots.ACCENT, label="model"
        )
        ax.plot(
            numbers,
            [e["baseline"][metric] for _, e in points],
            ls="--",
            marker="s",
            color=plots.MUTED,
            label="baseline",
        )
        rejected = [(i, e["metrics"][metric]) for i, e in points if e.get("status") == "rejected"]
        if rejected:
            ax.scatter(*zip(*rejected, strict=True), color=plots.WARNING, zorder=3, label="rejected")
        ax.set_xticks(numbers)
        ax.legend(loc="lower right", frameon=False)
        name = _metric_label(metric)
        plots.label(ax, f"{name} over experiments (higher is better)", "experiment", name)
    return plots.png_bytes(figure)


def experiment_rows(experiments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest experiments as table rows, newest first."""
    numbered = list(enumerate(experiments, start=1))[-RECENT_EXPERIMENTS:]
    rows = []
    for index, e in reversed(numbered):
        gate = e.get("gate", {})
        rows.append(
            {
                "#": index,
                "date": str(e.get("timestamp", ""))[:16].replace("T", " "),
                "model": str(e.get("model_family", "")).replace("_", " "),
                "score": _rounded(gate.get("model"), 3),
                "baseline": _rounded(gate.get("baseline"), 3),
                "status": e.get("status", ""),
                # What the run cost: the compute the client pays for.
                "wall time (s)": _rounded(e.get("wall_seconds"), 1),
                "CPU time (s)": _rounded(e.get("cpu_seconds"), 1),
            }
        )
    return rows


# Rendering --------------------------------------------------------------------------------------------------


def render_markdown(
    config: Config, day: date, bullets: list[Bullet], sources: Sources, paths: dict[str, Path]
) -> str:
    lines = [f"# Weekly summary: {config.project_name}", "", f"{_subtitle(config, day)}", ""]
    lines += [f"- **{bullet.title}**: {bullet.text}" for bullet in bullets]
    if "figure" in paths:
        metric = _metric_label(config.gate_metric)
        lines += ["", f"![{metric} over experiments]({paths['figure'].name})"]
    rows = experiment_rows(sources.experiments)
    if rows:
        lines += ["", "## Latest experiments", "", "| " + " | ".join(rows[0]) + " |"]
        lines.append("|" + " --- |" * len(rows[0]))
        lines += ["| " + " | ".join(str(value) for value in row.values()) + " |" for row in rows]
    lines += ["", f"Sources: {', '.join(_source_names(sources))}.", ""]
    return "\n".join(lines)


def render_html(
    config: Config, day: date, bullets: list[Bullet], sources: Sources, figure: bytes | None
) -> str:
    from . import html as h

    summary = "".join(
        f'<div class="callout {bullet.level}"><strong>{html.escape(bullet.title)}:</strong> '
        f"{html.escape(bullet.text)}</div>"
        for bullet in bullets
    )
    sections = [h.section("This week", summary, anchor="summary")]
    metric = _metric_label(config.gate_metric)
    if figure is not None:
        trend = h.image(figure, f"{metric} over experiments", "Dashed: the dummy baseline. Red: rejected.")
        sections.append(h.section(f"{metric} over experiments", trend, anchor="trend"))
    rows = experiment_rows(sources.experiments)
    if rows:
        sections.append(h.section("Latest experiments", h.table(rows), anchor="experiments"))
    sources_text = h.paragraph(f"Computed from {', '.join(_source_names(sources))}.", note=True)
    sections.append(h.section("Sources", sources_text, anchor="sources"))
    return h.page(f"Weekly summary: {config.project_name}", _subtitle(config, day), sections)


# Small helpers ----------------------------------------------------------------------------------------------


def _subtitle(config: Config, day: date) -> str:
    client = f" for {config.client}" if config.client else ""
    return f"Week {(day - WEEK + timedelta(days=1)).isoformat()} to {day.isoformat()}{client}"


def _source_names(sources: Sources) -> list[str]:
    found = {
        "reports/experiments.jsonl": bool(sources.experiments),
        "reports/audit/audit.json": sources.audit is not None,
        "reports/drift/drift.json": sources.drift is not None,
        "models/metadata.json": sources.metadata is not None,
    }
    return [name if present else f"{name} (not there yet)" for name, present in found.items()]


def _window(drift: dict[str, Any]) -> str:
    window = drift.get("window") or {}
    if window.get("start") and window.get("end"):
        return f"traffic from {str(window['start'])[:10]} to {str(window['end'])[:10]}"
    return f"run {str(drift.get('generated_at', ''))[:10]}"


def _metric_label(metric: str) -> str:
    from ..training.model_card import METRIC_LABELS

    return METRIC_LABELS.get(metric, metric)


def _day_of(timestamp: Any) -> date:
    try:
        return datetime.fromisoformat(str(timestamp)).date()
    except ValueError:
        return date.min


def _rounded(value: Any, digits: int) -> float | str:
    """A table cell: rounded, never -0.0; empty where the experiment did not record the value."""
    if value is None or value != value:  # missing or NaN
        return ""
    return round(float(value), digits) + 0.0


def _sentences(parts: list[str]) -> str:
    """Clauses joined into sentences that start with a capital letter and end with a full stop."""
    return " ".join(part[:1].upper() + part[1:] + "." for part in parts)
