"""The model's health in the weekly summary: the drift alarm, realized performance (from outcomes), the
realized coverage of the intervals or sets answered, the estimate (from the probabilities) and the share of
live predictions with an input warning, read from reports/drift/drift.json,
reports/performance/performance.json and the prediction log (`live_warnings`), and one plain sentence on
whether the model needs attention."""

from __future__ import annotations

from typing import Any

from ..core import metrics
from ..core.wording import count, number
from .live_warnings import LiveWarnings

# The share of the week's live predictions with an input warning above which the model needs attention.
# Traffic like the training data still warns now and then (a number beyond the training extremes, a rare
# category): each continuous feature's next value lies outside the training range with a probability of
# about 2/(rows + 1), so a few features warn on well under 1% of records. One prediction in ten means the
# input changed (a new category, a unit, a field made optional): the model is guessing for those records.
WARNING_SHARE_ALARM = 0.10


def drift_alarm(drift: dict[str, Any] | None) -> bool:
    """The drift check's alarm: its `alarm` verdict; older drift.json files only have `dataset_drift`."""
    return bool(drift and drift.get("alarm", drift.get("dataset_drift")))


def fired_rules(drift: dict[str, Any]) -> str:
    rules = drift.get("fired_rules") or []
    return f" (rules fired: {', '.join(rules)})" if rules else ""


def performance_blockers(performance: dict[str, Any] | None) -> list[str]:
    """A degraded model, and intervals or sets that hold the outcome less often than they say, are
    blockers; too few outcomes is said in the health section, not here."""
    if not performance:
        return []
    blockers = []
    if performance.get("degraded"):
        gate, realized, cv = _gate_values(performance)
        blockers.append(
            f"realized {gate.in_sentence} on live outcomes is {_n(realized)}, {number(performance['drop'])} "
            f"worse than the cross-validated {_n(cv)} (alarm at {number(performance['max_drop'])}); find "
            "out what changed and plan a retrain"
        )
    if coverage_below_target(performance):
        blockers.append(
            f"{coverage_shortfall(performance)}: the stated uncertainty is wrong for this traffic; look for "
            "drift, then retrain on recent data"
        )
    return blockers


def warnings_high(live: LiveWarnings | None) -> bool:
    """The input warnings signal: more than WARNING_SHARE_ALARM of the week's live predictions carried one."""
    return bool(live and live.predictions and live.share > WARNING_SHARE_ALARM)


def warnings_reason(live: LiveWarnings) -> str:
    pairs = ", ".join(f"{feature} {kind.replace('_', ' ')}" for feature, kind, _ in live.top)
    return (
        f"{live.share:.0%} of this week's live predictions carried an input warning (alarm above "
        f"{WARNING_SHARE_ALARM:.0%}; most frequent: {pairs})"
    )


def warning_blockers(live: LiveWarnings | None) -> list[str]:
    """Many predictions made on inputs outside the training data: a blocker until the source is checked."""
    if not warnings_high(live):
        return []
    return [
        f"{warnings_reason(live)}: check the data source for new categories, changed units or fields left "
        "empty (docs/model_health.md), then map them or retrain on recent data"
    ]


def coverage_below_target(performance: dict[str, Any] | None) -> bool:
    """The realized coverage signal of `performance`: below target by more than chance allows."""
    return bool(performance and (performance.get("coverage") or {}).get("below_target"))


def coverage_shortfall(performance: dict[str, Any]) -> str:
    """The realized coverage below target, in words."""
    return f"{coverage_held(performance)}, below their {performance['coverage']['target']:.0%} target"


def coverage_held(performance: dict[str, Any]) -> str:
    """What share of live outcomes the intervals or prediction sets held, and against what target."""
    found = performance["coverage"]
    answers = "intervals" if performance.get("problem_type") == "regression" else "prediction sets"
    held = f"the {answers} held {found['covered_share']:.1%} of {count(found['lines'], 'live outcome')}"
    return held if found.get("below_target") else f"{held} (target {found['target']:.0%})"


def performance_impact(performance: dict[str, Any] | None) -> str | None:
    """What the outcomes say of the measured performance, as a clause of the business impact bullet."""
    if not performance or performance.get("status") not in ("ok", "degraded"):
        return None
    gate, realized, cv = _gate_values(performance)
    labelled = count(performance["counts"]["labelled"], "live outcome")
    if performance.get("degraded"):
        return (
            f"but on {labelled} it scores {gate.in_sentence} {_n(realized)} against {_n(cv)} measured in "
            "training, so the value above no longer holds"
        )
    return f"on {labelled} the model scores {gate.in_sentence} {_n(realized)} (cross-validated {_n(cv)})"


def attention(
    drift: dict[str, Any] | None, performance: dict[str, Any] | None, live: LiveWarnings | None = None
) -> tuple[str, str]:
    """(level, sentence): whether the model needs attention, and why, in plain words (`live`: the week's
    input warnings)."""
    reasons = []
    if drift_alarm(drift):
        reasons.append(f"the drift alarm fired{fired_rules(drift)}")
    if performance and performance.get("degraded"):
        gate, realized, cv = _gate_values(performance)
        reasons.append(f"realized {gate.in_sentence} fell to {_n(realized)} from {_n(cv)}")
    elif performance and performance.get("status") == "too_few_labels":
        labelled = performance["counts"]["labelled"]
        reasons.append(
            f"too few outcomes to tell how it really performs ({labelled:,} of the "
            f"{performance['min_labelled_rows']:,} needed){_estimate(performance)}"
        )
    if coverage_below_target(performance):
        reasons.append(coverage_shortfall(performance))
    if warnings_high(live):
        reasons.append(warnings_reason(live))
    if reasons:
        return "warning", "Needs attention: " + "; ".join(reasons) + "."
    checks = []
    if drift is not None:
        checks.append("no drift alarm")
    if performance:
        gate, realized, cv = _gate_values(performance)
        checks.append(
            f"realized {gate.in_sentence} {_n(realized)} within {number(performance['max_drop'])} of the "
            f"cross-validated {_n(cv)}{_estimate(performance)}"
        )
        if (performance.get("coverage") or {}).get("status") == "ok":
            checks.append(coverage_held(performance))
    if not checks:
        return (
            "info",
            "Not checked yet: run `monitor` (drift and performance) once traffic and outcomes exist.",
        )
    missing = "" if performance else "; no performance check yet (`performance`, once outcomes come back)"
    return "ok", "No attention needed: " + ", ".join(checks) + missing + "."


def period_rows(performance: dict[str, Any]) -> list[dict[str, Any]]:
    """Realized and estimated gate metric per period, oldest first."""
    from ..monitoring.performance_html import period_rows as rows

    return rows(performance)


def performance_figure(performance: dict[str, Any] | None) -> bytes | None:
    """Realized and estimated gate metric over time, the cross-validated score as a line."""
    from ..monitoring.performance_html import trend_figure

    return trend_figure(performance) if performance else None


def _n(value: float | None) -> str:
    return "n/a" if value is None else number(value)


def _gate_values(performance: dict[str, Any]) -> tuple[metrics.Metric, float | None, float | None]:
    gate = metrics.METRICS[performance["gate_metric"]]
    return gate, performance["realized"].get(gate.name), performance["cv"].get(gate.name)


def _estimate(performance: dict[str, Any]) -> str:
    estimated = (performance.get("estimated") or {}).get(performance["gate_metric"])
    return f"; estimated from the probabilities: {_n(estimated)}" if estimated is not None else ""
