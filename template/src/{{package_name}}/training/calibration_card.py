"""The model card's "Calibration" section and its reliability plot (reports/figures/calibration.png), both
read from the `Calibration` record in metadata.json, so the card says exactly what serving applies."""

from __future__ import annotations

from pathlib import Path

from ..artifacts.metadata import Calibration, ModelMetadata
from ..artifacts.paths import ReportFolder
from ..core.wording import number

LOOSE = 0.05  # an ECE above this many points: the card says to read probabilities as a ranking


def reliability_figure(metadata: ModelMetadata) -> bytes | None:
    """Mean predicted probability against observed frequency per bin, before and after calibration, as PNG
    bytes; None when there is nothing to plot (regression)."""
    calibration = metadata.calibration
    before, after = calibration.reliability.get("before"), calibration.reliability.get("after")
    if not before:
        return None
    from ..reporting import plots

    with plots.style():
        figure, ax = plots.new_figure(width=5.2, height=4.2)
        ax.plot([0, 1], [0, 1], color=plots.MUTED, linestyle="--", linewidth=1, label="perfectly calibrated")
        _curve(ax, before, plots.WARNING, "model as trained")
        if calibration.method != "none" and after:
            _curve(ax, after, plots.ACCENT, f"after {calibration.method} calibration (cross-fitted)")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        plots.percent_axis(ax, "x")
        plots.percent_axis(ax, "y")
        plots.label(
            ax,
            "Do the probabilities mean what they say?",
            f"predicted probability, mean per bin ({_about(metadata)})",
            "share that really happened",
        )
        ax.legend(loc="lower right")
    return plots.png_bytes(figure)


def _about(metadata: ModelMetadata) -> str:
    if metadata.positive_class is None:
        return "of the predicted class"
    return f"of {metadata.target} = {metadata.positive_class!r}"


def _curve(ax, bins: list[dict[str, float]], colour: str, name: str) -> None:
    """One reliability curve; a dot's area shows its bin's share of rows (a bin of 3 rows is noise)."""
    x = [item["mean_probability"] for item in bins]
    y = [item["observed"] for item in bins]
    total = sum(item["rows"] for item in bins)
    ax.plot(x, y, color=colour, linewidth=1.2, label=name)
    ax.scatter(x, y, s=[8 + 250 * item["rows"] / total for item in bins], color=colour, alpha=0.8, zorder=3)


def calibration_section(metadata: ModelMetadata) -> list[str]:
    """The section's Markdown lines: the plot, Brier score and ECE before and after, the method and why, and
    what a calibrated "70%" means to a decision-maker."""
    calibration = metadata.calibration
    lines = ["## Calibration", ""]
    if metadata.problem_type == "regression":
        return [*lines, "Calibration does not apply: the model predicts a number, not a probability.", ""]
    if calibration.brier_before is None:
        return [
            *lines,
            "This model was trained before calibration was recorded; its probabilities are served "
            "as the model gives them.",
            "",
        ]
    figure = ReportFolder(Path()).calibration_figure.as_posix()
    applied = calibration.method != "none"
    return [
        *lines,
        f"![Reliability plot]({figure})",
        "",
        "| measure (lower is better) | as trained | served |",
        "| --- | --- | --- |",
        f"| Brier score | {number(calibration.brier_before)} | {number(calibration.brier_after)} |",
        f"| expected calibration error (ECE) | {number(calibration.ece_before)} | "
        f"{number(calibration.ece_after)} |",
        "",
        f"- Method: **{calibration.method}** ({_chosen_words(calibration)}): {calibration.reason}.",
        f"- Measured on {calibration.measured_on}. "
        + (
            "The served column is cross-fitted: each row was calibrated by a map fitted on other rows."
            if applied
            else "No map is applied, so both columns are the same."
        ),
        "- The scores under Performance come from the folds' own probabilities; calibration changes how far "
        "a probability can be taken at its word, hardly how well the model ranks cases."
        + (" Predicted classes follow the calibrated probabilities." if applied else ""),
        "- Explanations (`/v1/explain`) explain the model's output before calibration; the label they give "
        "is the one `/v1/predict` answers.",
        "",
        _meaning(metadata),
        "",
    ]


def _chosen_words(calibration: Calibration) -> str:
    if calibration.chosen_by == "auto":
        candidates = ", ".join(f"{name} {number(value, 4)}" for name, value in calibration.candidates.items())
        return f"chosen automatically by cross-fitted Brier score: {candidates}"
    return "set in configs/project.yaml, model.calibration"


def _meaning(metadata: ModelMetadata) -> str:
    """One plain sentence on what a "70%" from the served model means, with the error measured on held-out
    rows (more than `LOOSE` points: the probabilities are better read as a ranking)."""
    if metadata.positive_class is not None:
        subject = f"a 70% chance that {metadata.target} is {metadata.positive_class!r}"
    else:
        subject = "70% to the class it predicts"
    gap = metadata.calibration.ece_after
    text = (
        f"In plain words: of 100 cases the model gives {subject}, about 70 should turn out so; on held-out "
        f"rows its probabilities were off by {gap * 100:.0f} percentage points on average (ECE)"
    )
    if gap > LOOSE:
        return text + ", so read them as a ranking of cases more than as exact chances."
    return text + ", close enough to plan with them as chances."
