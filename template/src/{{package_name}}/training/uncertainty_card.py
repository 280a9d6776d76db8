"""The model card's "Uncertainty" section, read from the `Uncertainty` record in metadata.json, so the card
says exactly what serving answers: what the interval or set beside each prediction means, how often it held
the truth when measured (per coverage level and per sensitive group), and where that promise stops."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ..artifacts.metadata import ModelMetadata, Uncertainty
from .conformal import (
    SHORTFALL,
    TIES_WORTH_SAYING,
    CoverageError,
    highest_coverage,
    measured_level,
    threshold,
)
from .groups import MIN_GROUP_ROWS


def uncertainty_headline(metadata: ModelMetadata) -> list[str]:
    """The bullet for the card's "In plain words" list: what comes beside each prediction and how often it
    held the truth (nothing when the model has no intervals or sets; the section says why)."""
    uncertainty = metadata.uncertainty
    if not uncertainty.enabled:
        return []
    what = "a set of likely classes" if uncertainty.kind == "set" else "an interval"
    level = measured_level(uncertainty, uncertainty.coverage)
    held = "was not measured"
    if level:
        truth = "class" if uncertainty.kind == "set" else "value"
        held = f"held the true {truth} for {level['measured']:.1%} of held-out rows"
    return [
        f"- Beside each prediction the model gives {what} meant to hold the true value of {metadata.target} "
        f"for {_in_words(uncertainty.coverage)} cases; measured, it {held} (see Uncertainty)."
    ]


def uncertainty_section(metadata: ModelMetadata) -> list[str]:
    """The section's Markdown lines: the meaning in one plain sentence, the table of measured levels, the
    groups, and the limits (empty sets, data in time order)."""
    uncertainty = metadata.uncertainty
    lines = ["## Uncertainty", ""]
    if not uncertainty.enabled:
        return [*lines, f"No prediction intervals or sets: {uncertainty.reason}.", ""]
    return [
        *lines,
        _meaning(metadata),
        "",
        *_levels_table(metadata),
        "",
        _how_to_ask(uncertainty),
        "",
        *_empty_set_lines(uncertainty),
        *_tie_lines(uncertainty),
        *_limit_lines(metadata),
        *_group_lines(metadata),
    ]


# The meaning ------------------------------------------------------------------------------------------------


def _meaning(metadata: ModelMetadata) -> str:
    """One plain sentence on what the interval or set promises at the default coverage, with its size."""
    uncertainty, target = metadata.uncertainty, metadata.target
    coverage = uncertainty.coverage
    if uncertainty.kind == "set":
        level = measured_level(uncertainty, coverage)
        size = ""
        if level:
            size = f" At this coverage the average set size was {level['mean_set_size']:.2f}."
        return (
            f"In plain words: for {_in_words(coverage)} cases, the true value of {target} is one of the "
            "classes in the set the model gives beside its prediction. A set of one class is a confident "
            f"answer; a set of {_several(metadata)} means the model cannot tell them apart for that case, "
            f"which is worth a person's look.{size}"
        )
    half = _half_width(uncertainty)
    return (
        f"In plain words: for {_in_words(coverage)} predictions, the true value of {target} lies inside the "
        f"interval given with it, the prediction plus or minus {_amount(half)}. An interval "
        f"{_amount(2 * half)} wide means the model cannot place {target} more precisely than that: plan for "
        "any value inside it, not only for the prediction. Every prediction gets the same width: the "
        "interval measures how far off the model is overall, not case by case."
    )


def _several(metadata: ModelMetadata) -> str:
    return "both classes" if len(metadata.classes or ()) == 2 else "several classes"


def _half_width(uncertainty: Uncertainty) -> float:
    """What is added to and taken from a prediction at the default coverage, as serving applies it."""
    try:
        return threshold(uncertainty, uncertainty.coverage)
    except CoverageError:  # written by fit_uncertainty, which checks the level first: not expected
        return float("nan")


# Measured levels --------------------------------------------------------------------------------------------


def _levels_table(metadata: ModelMetadata) -> list[str]:
    """One row per measured level; the default one marked."""
    uncertainty = metadata.uncertainty
    measured = uncertainty.measured
    rows = measured.get("rows", uncertainty.rows)
    asked = f"coverage measured (cross-fitted on {rows:,} out-of-fold rows)"
    if uncertainty.kind == "set":
        titles = ["coverage asked", asked, "mean set size (classes)", "empty sets"]
    else:
        titles = ["coverage asked", asked, f"mean interval width ({metadata.target})"]
    lines = ["| " + " | ".join(titles) + " |", "|" + " --- |" * len(titles)]
    for level in measured.get("levels", ()):
        default = " (default)" if level["coverage"] == uncertainty.coverage else ""
        cells = [f"{_percent(level['coverage'])}{default}", f"{level['measured']:.1%}"]
        if uncertainty.kind == "set":
            cells += [f"{level['mean_set_size']:.2f}", f"{level['empty_sets']:.1%}"]
        else:
            cells.append(_amount(level["mean_width"]))
        lines.append("| " + " | ".join(cells) + " |")
    folds = measured.get("folds", 0)
    return [
        *lines,
        "",
        f"Cross-fitted: the out-of-fold rows were split in {folds} parts and each part was judged by the "
        "threshold taken from the other parts, so no row judged a threshold it helped set. Measured coverage "
        "close to the coverage asked is what the method promises; far below it, do not rely on the "
        "intervals or sets.",
    ]


def _how_to_ask(uncertainty: Uncertainty) -> str:
    return (
        "Another coverage can be asked per request (`/v1/predict?coverage=0.8`) or per file (`predict "
        "--coverage 0.8`); the default is `uncertainty.coverage` in `configs/project.yaml`. A higher "
        "coverage gives wider intervals or larger sets; this model can answer up to "
        f"{highest_coverage(uncertainty.rows):g}."
    )


# Limits -----------------------------------------------------------------------------------------------------


def _empty_set_lines(uncertainty: Uncertainty) -> list[str]:
    """What an empty set means, when the measured levels gave any."""
    if uncertainty.kind != "set":
        return []
    empty = [level for level in uncertainty.measured.get("levels", ()) if level.get("empty_sets", 0) > 0]
    if not empty:
        return []
    where = ", ".join(f"{item['empty_sets']:.1%} of rows at {_percent(item['coverage'])}" for item in empty)
    return [
        f"**Empty sets** ({where}): an empty set means the model is right more often than the coverage asks, "
        "so the coverage is met without naming any class for the rows it is least sure of. Read an empty set "
        'as "the model is unsure", never as "none of these classes"; ask for a higher coverage to give '
        "those rows a class.",
        "",
    ]


def _tie_lines(uncertainty: Uncertainty) -> list[str]:
    """Why the measured coverage is above the level asked when many rows share the threshold's score."""
    level = measured_level(uncertainty, uncertainty.coverage)
    if level is None or level.get("at_threshold", 0) <= TIES_WORTH_SAYING:
        return []
    return [
        f"**More than asked**: {level['at_threshold']:.0%} of the out-of-fold rows have exactly the score at "
        f"the {_percent(uncertainty.coverage)} threshold (the model gives many cases the very same output), "
        "and they all fall inside together, so the measured coverage is above the level asked. No "
        "threshold can split identical outputs: the promise errs on the safe side.",
        "",
    ]


def _limit_lines(metadata: ModelMetadata) -> list[str]:
    """What the guarantee assumes, and the caveat of data in time order."""
    lines = [
        "The promise assumes new cases come from the same population as the training rows (the rows are "
        "exchangeable); when the data drifts it can fail, so compare it with the coverage realized on live "
        "predictions once outcomes come back (`performance`)."
    ]
    if metadata.data.time_range is not None:
        lines.append(
            "**The data has a time column**: rows in time order are not exchangeable, so the coverage above "
            "holds only as far as the future resembles the past. Watch the realized coverage (`performance`) "
            "from the first weeks of use."
        )
    return [*[f"- {line}" for line in lines], ""]


# Per group --------------------------------------------------------------------------------------------------


def _group_lines(metadata: ModelMetadata) -> list[str]:
    """Per sensitive column at the default coverage: a table, then the groups that fall short and those
    too small to judge, named."""
    groups = metadata.uncertainty.measured.get("groups") or {}
    if not groups:
        return []
    coverage = _percent(metadata.uncertainty.coverage)
    lines = [
        f"The {coverage} promise is for all rows together, not for each group: a group the model serves "
        "worse can hold the truth less often while the others make up for it (coverage per group is not "
        "guaranteed). Measured per group of each sensitive column at the default coverage:",
        "",
    ]
    for column, rows in groups.items():
        lines += [f"### Uncertainty per group of `{column}`", "", *_group_table(metadata, rows), ""]
        lines += [f"- {sentence}" for sentence in _group_sentences(metadata, column, rows)]
        lines.append("")
    return lines


def _group_table(metadata: ModelMetadata, rows: list[dict[str, Any]]) -> list[str]:
    sets = metadata.uncertainty.kind == "set"
    size = "mean set size (classes)" if sets else f"mean interval width ({metadata.target})"
    lines = [f"| group | rows | coverage measured | {size} |", "| --- | --- | --- | --- |"]
    for row in rows:
        name = row["group"] + ("" if row["enough_rows"] else " (too few rows to judge)")
        width = f"{row['mean_set_size']:.2f}" if sets else _amount(row["mean_width"])
        lines.append(f"| {name} | {row['rows']:,} | {row['measured']:.1%} | {width} |")
    return lines


def _group_sentences(metadata: ModelMetadata, column: str, rows: list[dict[str, Any]]) -> list[str]:
    """The groups flagged short (more than SHORTFALL below, and further than chance), each named with how far
    chance alone could move it; the groups too small to judge."""
    coverage = metadata.uncertainty.coverage
    gap = f"more than {SHORTFALL * 100:g} points below the {_percent(coverage)} asked"
    sentences = [
        f"**Group {row['group']!r} falls short**: the truth was inside for {row['measured']:.1%} of its "
        f"{row['rows']:,} rows, {gap}{_chance(coverage, row)}. For this group the intervals or sets are less "
        f"sure than stated; review with {metadata.client} before relying on them there."
        for row in rows
        if row["short"]
    ]
    if not sentences:
        sentences.append(f"No group of `{column}` with {MIN_GROUP_ROWS} rows or more is {gap} beyond chance.")
    few = [repr(row["group"]) for row in rows if not row["enough_rows"]]
    if few:
        sentences.append(
            f"Too few rows to judge (under {MIN_GROUP_ROWS}): {', '.join(few)}; their coverage can be far "
            "from the promise by chance alone."
        )
    return sentences


def _chance(coverage: float, row: dict[str, Any]) -> str:
    """How far chance alone could move the group's share (about two standard errors, 2 sqrt(c (1 - c) / n)):
    a group is flagged only beyond it (`conformal.SHORTFALL`)."""
    noise = 2 * math.sqrt(coverage * (1 - coverage) / row["rows"])
    return f", beyond the {noise * 100:.1f} points chance alone explains on {row['rows']:,} rows"


# Words ------------------------------------------------------------------------------------------------------


def _in_words(coverage: float) -> str:
    """0.9 as "9 in 10", 0.95 as "19 in 20": a share a decision-maker pictures."""
    share = Fraction(coverage).limit_denominator(1000)
    return f"{share.numerator} in {share.denominator}"


def _percent(coverage: float) -> str:
    """A coverage level as asked: 90%, 97.5%."""
    return f"{round(coverage * 100, 3):g}%"


def _amount(value: float) -> str:
    """A width in the target's units, as the card writes errors."""
    return f"{value:,.2f}"
