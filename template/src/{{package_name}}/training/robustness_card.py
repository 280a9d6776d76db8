"""The robustness suite in words: the model card's "Robustness" section (a table and one plain sentence
per row, the most fragile feature named), its bullet in "In plain words", and the lines `train` prints.
Everything is read from the `Robustness` record in metadata.json."""

from __future__ import annotations

from ..artifacts.metadata import ModelMetadata
from ..artifacts.robustness_record import Robustness, Trial
from ..core.metrics import METRICS
from ..core.wording import number

# The perturbations in words, for every feature they concern (`together`) and for one feature (`alone`).
TOGETHER = {
    "noise": "noise of {level} of each numeric feature's standard deviation",
    "missing": "{level} of each feature's values missing",
    "out_of_range": "{level} of each numeric feature's values beyond the training range",
    "unseen_category": "{level} of each categorical feature's values a category never seen",
}
ALONE = {
    "noise": "noise of {level} of its standard deviation",
    "missing": "{level} of its values missing",
    "out_of_range": "{level} of its values beyond the training range",
    "unseen_category": "{level} of its values a category never seen",
}
# A drop smaller than this (in the metric's units) is "no change": the same rows scored twice.
# Fewer validation rows than this: the section says its numbers are rough.
FEW_ROWS = 200
NEGLIGIBLE = 0.0005


def _amount(value: float) -> str:
    """A tolerance in the target's units, as a reader writes it: 19,019, 2.50, 0.0312."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def _share(level: float) -> str:
    return f"{level:.0%}" if round(level * 100, 6).is_integer() else f"{level:.1%}"


def perturbation_words(trial: Trial, alone: bool = False) -> str:
    """The perturbation in words: on every feature it concerns, or (`alone`) on the one feature of a trial
    of `Robustness.features`. (A table of one feature has trials of one feature either way.)"""
    words = ALONE if alone else TOGETHER
    return words.get(trial.kind, trial.kind + " at {level}").format(level=_share(trial.level))


def _drop(trial: Trial) -> str:
    return "not measurable" if trial.drop is None else number(-trial.drop, signed=True)


def _changed_words(robustness: Robustness, changed: float) -> str:
    if robustness.tolerance is None:
        return f"{changed:.1%} of the predicted classes change"
    return f"{changed:.1%} of the predictions move by more than {_amount(robustness.tolerance)}"


def trial_sentence(robustness: Robustness, trial: Trial) -> str:
    """One plain sentence: what changed, what it did to the gate metric and to the decisions."""
    label = METRICS[robustness.metric].in_sentence if robustness.metric in METRICS else robustness.metric
    subject = f"With {perturbation_words(trial)}"
    if trial.value is None or robustness.clean is None:
        effect = f"{label} cannot be computed on these rows"
    elif trial.drop is not None and abs(trial.drop) < NEGLIGIBLE:
        effect = f"{label} stays at {number(robustness.clean)}"
    else:
        effect = f"{label} goes from {number(robustness.clean)} to {number(trial.value)} ({_drop(trial)})"
    return f"{subject}, {effect} and {_changed_words(robustness, trial.changed)}."


def fragile_sentence(robustness: Robustness) -> str | None:
    fragile = robustness.most_fragile
    if fragile is None:
        return None
    effect = "" if fragile.drop is None else f"the score drops by {number(fragile.drop)} and "
    what = perturbation_words(fragile, alone=True)
    return (
        f"The most fragile feature is `{fragile.feature}`: with {what}, {effect}"
        f"{_changed_words(robustness, fragile.changed)}."
    )


def train_lines(robustness: Robustness) -> list[str]:
    """What `train` prints: the worst perturbation, the most fragile feature and the gate's view."""
    if not robustness.ran:
        return [f"  no robustness suite: {robustness.reason}"]
    lines = []
    worst = robustness.worst
    if worst is not None:
        sentence = trial_sentence(robustness, worst)
        lines.append(f"  the worst case: {sentence[0].lower()}{sentence[1:]}")
    fragile = fragile_sentence(robustness)
    if fragile:
        lines.append(f"  {fragile}")
    return lines


def robustness_headline(metadata: ModelMetadata) -> list[str]:
    """The card's "In plain words" bullet (nothing when the suite did not run: the section says why)."""
    robustness = metadata.robustness
    worst, fragile = robustness.worst, robustness.most_fragile
    if worst is None or fragile is None or worst.drop is None:
        return []
    return [
        f"- Of the input problems tried, {perturbation_words(worst)} costs most: the score drops by "
        f"{number(worst.drop)}; the input to guard first is `{fragile.feature}` (see Robustness)."
    ]


def robustness_section(metadata: ModelMetadata) -> list[str]:
    """The section's Markdown lines."""
    robustness = metadata.robustness
    lines = ["## Robustness", ""]
    if not robustness.ran:
        return [*lines, f"Not measured: {robustness.reason}.", ""]
    label = METRICS[robustness.metric].label if robustness.metric in METRICS else robustness.metric
    decisions = "Classes changed" if robustness.tolerance is None else "Predictions moved"
    lines += [
        f"How the model copes when live inputs get worse than the training data: the same "
        f"{robustness.rows:,} validation rows (rows the model did not train on), scored as they are and "
        f"then with each problem below; {label} on the unchanged rows is {_clean(robustness)}.",
        "",
        f"| Input problem | {label} | Change | {decisions} |",
        "| --- | --- | --- | --- |",
    ]
    for trial in robustness.trials:
        value = "n/a" if trial.value is None else number(trial.value)
        lines.append(f"| {perturbation_words(trial)} | {value} | {_drop(trial)} | {trial.changed:.1%} |")
    lines += ["", *[f"- {trial_sentence(robustness, trial)}" for trial in robustness.trials], ""]
    if robustness.rows < FEW_ROWS:
        lines += [
            f"Only {robustness.rows:,} validation rows: these numbers are rough, and differences of a few "
            "hundredths between rows of the table are chance.",
            "",
        ]
    lines += _feature_lines(robustness)
    lines += [_tolerance_sentence(robustness), _gate_sentence(robustness), ""]
    return [line for line in lines if line is not None]


def _clean(robustness: Robustness) -> str:
    return "not measurable" if robustness.clean is None else number(robustness.clean)


def _feature_lines(robustness: Robustness) -> list[str]:
    fragile = fragile_sentence(robustness)
    if fragile is None:
        return []
    lines = [fragile, "", "Feature by feature (each alone, at the strongest level of its problem):", ""]
    for kind in ("noise", "missing", "out_of_range", "unseen_category"):
        ranked = robustness.of_kind(kind)[:3]
        if ranked:
            named = ", ".join(f"`{trial.feature}` ({_drop(trial)}, {trial.changed:.1%})" for trial in ranked)
            lines.append(f"- {perturbation_words(ranked[0], alone=True).capitalize()}: {named}.")
    return [*lines, ""]


def _tolerance_sentence(robustness: Robustness) -> str:
    if robustness.tolerance is None:
        return "A change is a record whose predicted class is different once its inputs are perturbed."
    return (
        f"A prediction has moved when it changes by more than {_amount(robustness.tolerance)} "
        "(robustness.tolerance times the target's standard deviation)."
    )


def _gate_sentence(robustness: Robustness) -> str:
    worst = robustness.worst
    largest = (
        "" if worst is None or worst.drop is None else f"; the largest drop here is {number(worst.drop)}"
    )
    if robustness.max_drop is None:
        return (
            "These numbers are reported, not gated (robustness.max_drop: null)"
            f"{largest}. The perturbations are synthetic: they show how sensitive the model is, not how "
            "often live data goes wrong; the warnings beside each live prediction count that."
        )
    verdict = "passes" if robustness.passed else "fails"
    return (
        f"Training fails when a problem lowers the score by more than {number(robustness.max_drop)} "
        f"(robustness.max_drop){largest}: the model {verdict}."
    )
