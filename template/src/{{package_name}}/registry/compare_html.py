"""The words and the page of `models compare`: the next step in plain words, the one-line headline, the
agreement in a sentence (also used by the weekly report) and reports/compare/compare.html, self-contained
(no external links)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core import metrics
from ..core.config import Config
from ..core.wording import count, number
from ..reporting import html as h

PROMOTE, WATCH, RETIRE = "promote", "keep watching", "retire"
LEVELS = {PROMOTE: "ok", WATCH: "info", RETIRE: "warning"}


def headline(payload: dict[str, Any], page: str) -> str:
    """One line on the latest pair: coverage, agreement, the next step (with the realized scores behind
    it), the report."""
    pair = payload["pairs"][0]
    only = pair["only_current"]
    skipped = f" ({count(only, 'record')} only the current model scored)" if only else ""
    others = len(payload["pairs"]) - 1
    more = f"; {count(others, 'other version pair')} in the report" if others else ""
    return (
        f"shadow {pair['shadow']} vs current {pair['current']}: {count(pair['paired'], 'record')} scored by "
        f"both{skipped}, {agreement_text(pair['agreement'])}; next step: {pair['next_step']['text']}{more}; "
        f"report: {page}"
    )


def next_step(pair: dict[str, Any], problem_type: str, needed: int) -> dict[str, str]:
    """Promote, keep watching or retire, with the reason in plain words and the command that does it."""
    gate = metrics.gate_metric(problem_type)
    found = pair["realized"]
    current, shadow, labelled = pair["current"], pair["shadow"], found["labelled"]
    if not found["enough"] and labelled >= needed:
        return {
            "action": WATCH,
            "text": f"keep watching: {gate.label} cannot be computed on the {labelled:,} paired records with "
            "an outcome (one class only?); wait for outcomes of both kinds",
        }
    if not found["enough"]:
        return {
            "action": WATCH,
            "text": f"keep watching: {count(labelled, 'paired record')} with an outcome, {needed:,} needed "
            f"(monitoring.min_labelled_rows) to tell which model is better; send outcomes (POST /v1/feedback "
            "or `outcomes --input FILE`)",
        }
    shadow_score, current_score = number(found["shadow"][gate.name]), number(found["current"][gate.name])
    scores = f"{gate.label} {shadow_score} against {current_score}"
    confidence = found["confidence"]
    share = f"better on {found['shadow_better_share']:.0%} of {found['resamples']} resamples of them"
    if found["better"] == "shadow":
        return {
            "action": PROMOTE,
            "text": f"promote {shadow}: on the same {labelled:,} labelled records it scores {scores} for "
            f"{current}, {share} (`models promote {shadow}`)",
        }
    if found["better"] == "current":
        return {
            "action": RETIRE,
            "text": f"retire {shadow}: on the same {labelled:,} labelled records it scores {scores} for "
            f"{current}, {share} (`models shadow --off`)",
        }
    return {
        "action": WATCH,
        "text": f"keep watching: on the same {labelled:,} labelled records {shadow} scores {scores} for "
        f"{current}, {share}: no clear difference yet (a verdict needs {confidence:.0%} either way)",
    }


def agreement_text(agreement: dict[str, Any]) -> str:
    """The agreement in a few words."""
    if "same_label" in agreement:
        text = f"same label on {agreement['same_label']:.1%}"
        gap = agreement.get("probability_gap_mean")
        if gap is not None:
            text += (
                f", probability of {agreement['positive_class']!r} {number(gap)} apart on average "
                f"({number(agreement['probability_gap_p95'])} at the 95th percentile)"
            )
        return text
    if agreement.get("mean_abs_diff") is None:
        return "no numbers to compare"
    correlation = agreement.get("correlation")
    return (
        f"{number(agreement['mean_abs_diff'])} apart on average, {agreement['within_tolerance']:.1%} within "
        f"±{number(agreement['tolerance'])} ({agreement['tolerance_basis']})"
        + (f", correlation {number(correlation)}" if correlation is not None else "")
    )


def render(payload: dict[str, Any], project_name: str) -> str:
    """The page: the window's counts, then one section per pair of versions, latest first."""
    counts = payload["counts"]
    window = payload["window"]
    subtitle = f"Live traffic from {str(window['start'])[:16]} to {str(window['end'])[:16]}"
    facts = h.facts(
        {
            "current model": payload.get("pointer", {}).get("current") or "?",
            "shadow model": payload.get("pointer", {}).get("shadow") or "none set now",
            "records answered": counts["current_records"],
            "scored by both": counts["paired"],
            "only by the current model": counts["only_current"],
            "shadow lines without a logged answer": counts["only_shadow"],
        }
    )
    note = h.paragraph(
        "Only by the current model: the shadow was off, or its queue was full (api.shadow_queue_records). "
        "Records are paired by prediction_id.",
        note=True,
    )
    sections = [h.section("Window", h.callout(payload["headline"], headline=True) + facts + note)]
    sections += [_pair_section(pair, payload) for pair in payload["pairs"]]
    return h.page(f"Shadow comparison: {project_name}", subtitle, sections)


def _pair_section(pair: dict[str, Any], payload: dict[str, Any]) -> str:
    step = pair["next_step"]
    parts = [
        h.callout(f"Next step: {step['text']}.", LEVELS.get(step["action"], "info")),
        h.facts(
            {
                "scored by both": pair["paired"],
                "only by the current model meanwhile": pair["only_current"],
                "from": pair["first"][:19],
                "to": pair["last"][:19],
            }
        ),
        h.paragraph(f"Agreement: {agreement_text(pair['agreement'])}."),
    ]
    agreement = pair["agreement"]
    if "confusion" in agreement:
        rows = [
            {"current \\ shadow": label, **dict(zip(agreement["labels"], row, strict=True))}
            for label, row in zip(agreement["labels"], agreement["confusion"], strict=True)
        ]
        parts.append(h.table(rows))
    parts.append(_realized_html(pair["realized"], payload))
    title = f"{pair['shadow']} (shadow) against {pair['current']} (current)"
    return h.section(title, "\n".join(parts))


def _realized_html(realized: dict[str, Any], payload: dict[str, Any]) -> str:
    labelled = realized["labelled"]
    if not labelled:
        return h.paragraph(
            "No outcome has come back for these records yet: realized performance is not known.", note=True
        )
    rows = [
        {
            "metric": metrics.label(name) + (" (gate)" if name == payload["gate_metric"] else ""),
            "current": realized["current"].get(name),
            "shadow": realized["shadow"].get(name),
            "direction": metrics.METRICS[name].direction,
        }
        for name in payload["metrics"]
    ]
    intro = f"Realized on the same {count(labelled, 'labelled record')}"
    if not realized["enough"]:
        intro += (
            f": too few to judge (monitoring.min_labelled_rows is {payload['min_labelled_rows']:,}), "
            "no verdict yet"
        )
    return h.paragraph(intro + ".") + h.table(rows)


def shown(config: Config, path: Path) -> str:
    """A path as the user knows it: from the project root when inside it."""
    try:
        return path.relative_to(config.root).as_posix()
    except ValueError:
        return str(path)
