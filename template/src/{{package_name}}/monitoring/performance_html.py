"""reports/performance/performance.html: the `performance` result as one self-contained page (figure
embedded, no external link), built from what performance.json holds so that both always agree."""

from __future__ import annotations

import html
from typing import Any

from ..core import metrics
from ..core.wording import count, number
from ..reporting import html as h

CALIBRATION_NOTE = (
    "The estimate weighs every prediction by its own probability: it is as good as the probabilities are "
    "calibrated (training calibrates them, model.calibration), and it cannot see a change in how the "
    "inputs relate to the outcome. Realized performance, from outcomes, is the ground truth."
)

COVERAGE_NOTE = (
    "Each line is judged at the level it was answered at (a request may ask for another coverage); the "
    "target is their mean. Chance is measured from the model's own calibration rows: with few of them the "
    "coverage an interval really has varies from model to model, so a small shortfall is no alarm. Lines "
    "logged without an interval or a set are left out."
)

SIZES = ("mean_width", "mean_set_size", "empty_sets")  # empty_sets: the share of sets with no class


def render(payload: dict[str, Any], project_name: str) -> str:
    """The page: verdict, the three scores side by side, the realized coverage, the gate metric over time,
    periods and groups."""
    gate = metrics.METRICS[payload["gate_metric"]]
    window = payload["window"]
    subtitle = f"Predictions from {_day(window['start'])} to {_day(window['end'])}, per {window['period']}"
    verdicts = verdict(payload) + _coverage_alarm(payload)
    sections = [
        h.section("Verdict", verdicts + h.facts(_facts(payload)), anchor="verdict"),
        h.section("Scores", h.table(score_rows(payload)) + _estimate_note(payload), anchor="scores"),
        h.section("Coverage", coverage_html(payload), anchor="coverage"),
    ]
    figure = trend_figure(payload)
    if figure is not None:
        caption = "Realized: from outcomes. Estimated: from the probabilities. Line: cross-validated score."
        sections.append(
            h.section(f"{gate.label} over time", h.image(figure, f"{gate.label} over time", caption), "trend")
        )
    sections.append(h.section(f"Per {window['period']}", h.table(period_rows(payload)), anchor="periods"))
    sections.append(h.section("Per group", _groups_html(payload), anchor="groups"))
    return h.page(f"Model performance: {project_name}", subtitle, sections)


def verdict(payload: dict[str, Any]) -> str:
    """The verdict as a coloured callout, in the words of the exit code."""
    gate = metrics.METRICS[payload["gate_metric"]]
    realized = payload["realized"].get(gate.name)
    cv = payload["cv"].get(gate.name)
    labelled = count(payload["counts"]["labelled"], "labelled prediction")
    if payload["status"] == "too_few_labels":
        text = (
            f"Too few outcomes to judge: {labelled}, at least {payload['min_labelled_rows']} needed "
            "(monitoring.min_labelled_rows). Send outcomes, or widen the window."
        )
        return h.callout(text, "info", headline=True)
    compared = f"{gate.label} {_value(realized)} on {labelled} against {_value(cv)} cross-validated"
    if payload["degraded"]:
        text = f"Degraded: {compared}, more than {number(payload['max_drop'])} worse."
        return h.callout(text, "warning", headline=True)
    return h.callout(f"Fine: {compared} (alarm beyond {number(payload['max_drop'])}).", "ok", headline=True)


def _coverage_alarm(payload: dict[str, Any]) -> str:
    """The second verdict, beside the first when it fires: the intervals or sets hold too few outcomes."""
    if not (payload.get("coverage") or {}).get("below_target"):
        return ""
    found = payload["coverage"]
    text = (
        f"Coverage below target: {_share(found['covered_share'])} of the outcomes fell inside, against "
        f"{_share(found['target'])} promised (see Coverage below)."
    )
    return h.callout(text, "warning", headline=True)


def score_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    estimated = payload.get("estimated") or {}
    return [
        {
            "metric": metrics.label(name),
            "direction": metrics.METRICS[name].direction,
            "cross-validated": payload["cv"].get(name),
            "realized": payload["realized"].get(name),
            "estimated": estimated.get(name),
        }
        for name in payload["metrics"]
    ]


def period_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Per period: counts, the gate metric realized and estimated, and the realized coverage when any
    period's lines carry intervals or sets."""
    gate = payload["gate_metric"]
    label = metrics.label(gate)
    shown = any(period.get("coverage") for period in payload["periods"])
    return [
        {
            "period from": period["period"],
            "predictions": period["predictions"],
            "labelled": period["labelled"],
            f"{label} realized": period["realized"].get(gate),
            f"{label} estimated": (period.get("estimated") or {}).get(gate),
            **(_coverage_columns(period.get("coverage")) if shown else {}),
        }
        for period in payload["periods"]
    ]


def coverage_html(payload: dict[str, Any]) -> str:
    """The realized coverage: its verdict, then the lines, covered share and size per level asked."""
    found = payload.get("coverage") or {}
    if found.get("status", "none") == "none":
        return h.paragraph((found.get("note") or "no realized coverage").capitalize() + ".", note=True)
    answers = "intervals" if payload["problem_type"] == "regression" else "sets"
    held = (
        f"{_share(found['covered_share'])} of {count(found['lines'], 'labelled prediction')} held the "
        f"outcome in their {answers}, target {_share(found['target'])}"
    )
    if found["status"] == "below_target":
        text = f"Below target: {held}; chance gives so few with probability {found['p_value']:.2g}."
        text += " The stated uncertainty is wrong: look for drift, then retrain."
        callout = h.callout(text, "warning")
    elif found["status"] == "too_few":
        text = f"Too few lines to judge ({payload['min_labelled_rows']} needed): {held}."
        callout = h.callout(text, "info")
    else:
        callout = h.callout(f"At target: {held} (p = {found['p_value']:.2g}).", "ok")
    rows = [
        {"level asked": _share(level["level"]), **_coverage_columns(level), "lines": level["lines"]}
        | {key.replace("_", " "): level[key] for key in SIZES if key in level}
        for level in found["by_level"]
    ]
    return callout + h.table(rows) + h.paragraph(COVERAGE_NOTE, note=True)


def _coverage_columns(found: dict[str, Any] | None) -> dict[str, Any]:
    """The covered share and its target as two table columns (empty without intervals or sets)."""
    if not found:
        return {"covered": None, "coverage target": None}
    return {"covered": _share(found["covered_share"]), "coverage target": _share(found["target"])}


def _share(value: float) -> str:
    return f"{value:.1%}"


def trend_figure(payload: dict[str, Any]) -> bytes | None:
    """The gate metric per period: realized and estimated, with the cross-validated score as a line."""
    from ..reporting import plots

    periods = payload["periods"]
    if not periods:
        return None
    gate = metrics.METRICS[payload["gate_metric"]]
    names = [period["period"] for period in periods]
    realized = [_nan(period["realized"].get(gate.name)) for period in periods]
    estimated = [_nan((period.get("estimated") or {}).get(gate.name)) for period in periods]
    with plots.style():
        figure, ax = plots.new_figure(width=6.4, height=2.8)
        ax.plot(names, realized, marker="o", color=plots.ACCENT, label="realized")
        if any(value == value for value in estimated):
            ax.plot(names, estimated, marker="s", ls="--", color=plots.ACCENT_LIGHT, label="estimated")
        cv = payload["cv"].get(gate.name)
        if cv is not None:
            ax.axhline(cv, color=plots.MUTED, lw=1, label="cross-validated")
            ax.axhline(cv - payload["max_drop"], color=plots.WARNING, lw=0.8, ls=":", label="alarm")
        ax.legend(loc="lower left", frameon=False, fontsize=7)
        plots.label(ax, f"{gate.label} per {payload['window']['period']} ({gate.direction})", "", gate.label)
    return plots.png_bytes(figure)


def _facts(payload: dict[str, Any]) -> dict[str, Any]:
    counts = payload["counts"]
    found = {
        "model version": payload.get("model_version") or "",
        "predictions in the window": counts["predictions"],
        "with an outcome": counts["labelled"],
        "outcomes matching no prediction of the window": counts["unknown_outcomes"],
        "outcomes sent again (the last one counts)": counts["duplicate_outcomes"],
    }
    for source, number_unknown in sorted(counts.get("unknown_by_source", {}).items()):
        found[f"  unknown from {source}"] = number_unknown
    if counts.get("unusable_outcomes"):
        found["outcomes no metric can use"] = counts["unusable_outcomes"]
    return found


def _estimate_note(payload: dict[str, Any]) -> str:
    if payload.get("estimate_note"):
        return h.paragraph(payload["estimate_note"].capitalize() + ".", note=True)
    return h.paragraph(CALIBRATION_NOTE, note=True)


def _groups_html(payload: dict[str, Any]) -> str:
    parts = []
    for column, groups in payload["groups"].items():
        shown = any(group.get("coverage") for group in groups)
        rows = [
            {metrics.label(key): value for key, value in group.items() if key != "coverage"}
            | (_coverage_columns(group.get("coverage")) if shown else {})
            for group in groups
        ]
        parts.append(f"<h3>{html.escape(column)}</h3>" + h.table(rows))
    missing = payload.get("groups_not_carried") or []
    if missing:
        parts.append(
            h.paragraph(
                f"Not broken down: {', '.join(missing)} (data.sensitive_columns): the live records carry "
                "no such field, neither as a feature nor as an ID.",
                note=True,
            )
        )
    return "\n".join(parts) or h.paragraph("No sensitive columns configured (data.sensitive_columns).", True)


def _value(value: float | None) -> str:
    return "n/a" if value is None else number(value)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _day(text: str | None) -> str:
    return str(text)[:10] if text else "?"
