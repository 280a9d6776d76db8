"""`reports/model_card.md`: what the model is for, what it was trained on, how good it is compared with a
dummy baseline (in plain words), what drives it, and where it should not be trusted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..artifacts.metadata import DataInfo, GateVerdict, ModelMetadata
from ..artifacts.paths import CONTRACT_FILE, MODEL_FILE, ReportFolder
from ..core.metrics import METRICS, reported
from ..core.wording import number
from ..data.contract import Contract
from .calibration_card import calibration_section
from .robustness_card import robustness_headline, robustness_section
from .uncertainty_card import uncertainty_headline, uncertainty_section


def importance_figure(importance: list[dict[str, float]], top: int = 15) -> bytes:
    """Horizontal bar chart of the most important features, as PNG bytes."""
    from ..reporting import plots

    rows = importance[:top][::-1]
    with plots.style():
        figure, ax = plots.new_figure(width=7, height=0.35 * len(rows) + 1.2)
        ax.barh(
            [plots.short_label(row["feature"]) for row in rows],
            [row["importance"] for row in rows],
            xerr=[row["std"] for row in rows],
            color=plots.ACCENT,
        )
        plots.label(
            ax,
            "What drives the model (permutation importance on held-out data)",
            "drop in score when the column is shuffled (higher = more important)",
        )
    return plots.png_bytes(figure)


def plain_summary(metadata: ModelMetadata) -> list[str]:
    """Sentences a non-technical reader understands, comparing the model with the baseline."""
    model = metadata.mean_scores("model")
    base = metadata.mean_scores("baseline")
    target = metadata.target
    problem = metadata.problem_type
    if problem == "binary":
        positive = metadata.positive_class
        return [
            f"Given one case where {target} is {positive!r} and one where it is not, the model ranks the "
            "first "
            f"higher {model['roc_auc']:.0%} of the time; guessing does this {base['roc_auc']:.0%} of the "
            "time.",
            f"Among the cases the model flags first, the share that really are {positive!r} is summarised by "
            "a PR AUC "
            f"of {model['pr_auc']:.2f}, against {base['pr_auc']:.2f} for the baseline (the share of "
            f"{positive!r} cases in the data).",
        ]
    if problem == "multiclass":
        return [
            f"The model names the right {target} class {model['accuracy']:.0%} of the time; always answering "
            f"the most common class is right {base['accuracy']:.0%} of the time.",
            f"Averaged over classes, so that rare classes count as much as common ones, its F1 score is "
            f"{model['macro_f1']:.2f} against {base['macro_f1']:.2f} for the baseline.",
        ]
    reduction = 1 - model["mae"] / base["mae"] if base["mae"] else float("nan")
    change = f"{reduction:.0%} smaller than" if reduction >= 0.005 else f"{-reduction:.0%} larger than"
    if abs(reduction) < 0.005:
        change = "about the same as"
    baseline = _r2_words("the baseline (always the average of the training rows)", base["r2"], target)
    return [
        f"{_r2_words('The model', model['r2'], target)}; {baseline}.",
        f"Its typical error (mean absolute error) is {model['mae']:,.2f}, {change} the baseline's "
        f"{base['mae']:,.2f}.",
    ]


def _r2_words(who: str, r2: float, target: str) -> str:
    """R² in words, including what a negative value means (the average of the validation rows, which the
    baseline cannot know, would have done better)."""
    if r2 != r2:
        return f"{who} could not be scored"
    if r2 >= 0.005:
        return f"{who} explains {r2:.0%} of the variation in {target}"
    if r2 > -0.005:
        return f"{who} explains none of the variation in {target} (R² {number(r2, 2)})"
    return (
        f"{who} scores R² {number(r2, 2)}: below zero, its predictions are further off than always "
        f"predicting the average {target} of the rows it was scored on"
    )


def metrics_table(metadata: ModelMetadata) -> str:
    lines = ["| metric | model | dummy baseline | better than baseline by |", "| --- | --- | --- | --- |"]
    for metric in reported(metadata.problem_type):
        model = metadata.metrics["model"][metric.name]
        base = metadata.metrics["baseline"][metric.name]
        lift = metric.gain(model["mean"], base["mean"])
        lines.append(
            f"| {metric.label} ({metric.direction}) | {number(model['mean'])} ± {number(model['std'])} | "
            f"{number(base['mean'])} ± {number(base['std'])} | {number(lift, signed=True)} |"
        )
    return "\n".join(lines)


def render_model_card(metadata: ModelMetadata, contract: Contract) -> str:
    """The model card as Markdown, from the training metadata and the data contract."""
    data = metadata.data
    figure = ReportFolder(Path()).importance_figure.as_posix()  # beside the card, in reports/
    features = contract.features
    excluded = contract.left_out
    kinds = {
        kind: sum(c["kind"] == kind for c in features) for kind in ("numeric", "categorical", "datetime")
    }
    time_range = data.time_range
    period = f" covering {time_range['start'][:10]} to {time_range['end'][:10]}" if time_range else ""
    top = ", ".join(row["feature"] for row in metadata.feature_importance[:5])
    lines = [
        f"# Model card: {metadata.project}",
        "",
        f"Client: {metadata.client} · model version `{metadata.model_version}` · trained "
        f"{metadata.trained_at}",
        "",
        "## Intended use",
        "",
        f"Predicts `{metadata.target}` ({_problem_words(metadata)}) for {metadata.client} from the "
        f"columns of `{data.path}`. It is decision support: its outputs inform people who know the "
        "context; "
        "it is not meant to take decisions about individuals on its own.",
        "",
        "Out of scope: data from another population, period or source than the training data; "
        "uses where an error harms someone without human review.",
        "",
        "## Data",
        "",
        f"- Source: `{data.path}` (sha256 `{data.sha256[:12]}…`){period}.",
        f"- Rows: {data.rows_read:,} read, {data.rows_missing_target:,} dropped without a target, "
        f"{data.rows_used:,} used.",
        *_sample_lines(data),
        f"- Features: {len(features)} ({kinds['numeric']} numeric, {kinds['categorical']} categorical, "
        f"{kinds['datetime']} dates turned into calendar features).",
        *_excluded_lines(excluded),
        "",
        "## Performance",
        "",
        f"Measured with {metadata.cv.method}: every score below comes from rows the model did not "
        "see in training, as mean ± standard deviation over folds. The dummy baseline is what you get "
        "without a "
        "model (the class shares, or the average)." + _grouping_sentence(metadata),
        "",
        metrics_table(metadata),
        "",
        "In plain words:",
        "",
        *[f"- {sentence}" for sentence in plain_summary(metadata)],
        *uncertainty_headline(metadata),
        *robustness_headline(metadata),
        "",
        "What the measures mean:",
        "",
        *[f"- {metric.label}: {metric.meaning}" for metric in reported(metadata.problem_type)],
        "",
        _gate_sentence(metadata.gate),
        "",
        *_warning_lines(metadata),
        *calibration_section(metadata),
        *uncertainty_section(metadata),
        "## What drives the model",
        "",
        f"![Feature importance]({figure})",
        "",
        f"The columns that matter most: {top}. Importance shows association learned from historical data, "
        "not cause and effect.",
        "",
        *robustness_section(metadata),
        "## Limitations",
        "",
        "- Scores are estimates from historical data; performance on new data can be lower, and will fall if "
        "the data drifts from what the model was trained on.",
        "- The model only knows the columns listed above; anything that changes the outcome but is not in "
        "the "
        "data is invisible to it.",
        f"- Inputs outside the ranges seen in training (see `configs/{CONTRACT_FILE}`) are extrapolations; "
        "categories never seen in training are ignored.",
        "",
        "## Bias and fairness",
        "",
        _personal_data_line(excluded),
        *groups_section(metadata),
        "- Features can act as proxies for protected attributes (postcode for ethnicity, for example); "
        "review "
        "the list of features with that in mind.",
        "",
        "## Reproducibility",
        "",
        f"- Model file `models/{MODEL_FILE}`, sha256 `{metadata.model_sha256}`.",
        f"- Data contract hash `{metadata.schema_hash[:16]}…`; data hash `{data.sha256[:16]}…`.",
        f"- Training took {metadata.training['wall_seconds']:.1f} s wall time, "
        f"{metadata.training['cpu_seconds']:.1f} s CPU time.",
        "- Libraries: " + ", ".join(f"{name} {version}" for name, version in metadata.versions.items()) + ".",
        "",
    ]
    return "\n".join(lines)


def _sample_lines(data: DataInfo) -> list[str]:
    """The sentence saying that training used a sample, when it did (model.max_train_rows)."""
    if not data.rows_sampled_from:
        return []
    return [
        f"- Sample: trained on a seeded sample of {data.rows_used:,} of the {data.rows_sampled_from:,} "
        "usable rows (model.max_train_rows; stratified by class for classification, in the rows' order)."
    ]


def _excluded_lines(excluded: list[dict[str, Any]]) -> list[str]:
    if not excluded:
        return ["- Every column but the target is used as a feature."]
    return [
        "- Not used as features:",
        *[f"  - `{c['name']}`: {c.get('reason', c['role'])}" for c in excluded],
    ]


def _personal_data_line(excluded: list[dict[str, Any]]) -> str:
    personal = [f"`{c['name']}`" for c in excluded if "personal data" in c.get("reason", "")]
    if personal:
        return (
            f"- Columns that look like personal data were excluded by the audit: {', '.join(personal)} "
            "(see the list under Data)."
        )
    return "- The audit found no column that looks like personal data (by its name or its values)."


def _grouping_sentence(metadata: ModelMetadata) -> str:
    grouped_by = metadata.cv.grouped_by
    if not grouped_by:
        return ""
    columns = ", ".join(f"`{name}`" for name in grouped_by)
    return (
        f" Rows share IDs ({columns}), so all rows of one ID were kept in the same fold: every score comes "
        "from IDs the model never saw in training, as new IDs will be in use."
    )


def _gate_sentence(gate: GateVerdict) -> str:
    label = METRICS[gate.metric].label
    text = (
        f"Quality gate: {label} had to beat the baseline by at least {number(gate.min_lift)}; it did by "
        f"{number(gate.lift)}."
    )
    if gate.no_skill is not None:
        text += (
            f" It also had to be above {gate.no_skill:.3g} ({METRICS[gate.metric].no_skill_words}); it is "
            f"{number(gate.model)}."
        )
    return text


def _warning_lines(metadata: ModelMetadata) -> list[str]:
    warnings = metadata.warnings
    if not warnings:
        return []
    sentences = [w["message"][:1].upper() + w["message"][1:] + "." for w in warnings]
    return ["Before relying on these scores:", "", *[f"- **{text}**" for text in sentences], ""]


def _problem_words(metadata: ModelMetadata) -> str:
    if metadata.problem_type == "regression":
        return "a number"
    classes = ", ".join(str(label) for label in metadata.classes)
    return f"one of {classes}"


GROUP_COLUMNS = {
    "binary": [
        ("rows", "rows"),
        ("share_positive", "share really {positive}"),
        ("share_flagged", "share flagged"),
        ("recall", "of those really {positive}: caught"),
        ("roc_auc", METRICS["roc_auc"].label),
    ],
    "multiclass": [("rows", "rows"), ("accuracy", "right class"), ("macro_f1", METRICS["macro_f1"].label)],
    "regression": [("rows", "rows"), ("mae", "typical error (MAE)"), ("mean_error", "average over/under")],
}
PERCENT_METRICS = {"share_positive", "share_flagged", "recall", "accuracy"}


def groups_section(metadata: ModelMetadata) -> list[str]:
    """Model card lines on performance per group of each sensitive column, or what to do when none is set."""
    groups = metadata.groups or {}
    if not groups:
        return [
            "- No sensitive column is configured (`data.sensitive_columns` in `configs/project.yaml`), so "
            f"performance has not been broken down by group. Agree with {metadata.client} which groups "
            "matter (e.g. age band, region, gender where lawful), list the column and retrain, and check "
            "that the model performs comparably for each before it is used on people.",
        ]
    lines = [
        "- Performance per group of the sensitive column(s) below, measured on held-out rows (out-of-fold "
        "predictions). A model that serves one group worse than another needs a decision with "
        f"{metadata.client} before it is used on people.",
    ]
    for column, rows in groups.items():
        lines += ["", f"### Per group of `{column}`", "", *_group_table(metadata, rows), ""]
        if metadata.problem_type == "regression":
            lines += [
                "Average over/under: above zero, the model predicts too high for that group on average.",
                "",
            ]
        lines += [f"- {sentence}" for sentence in group_sentences(metadata, column, rows)]
    return lines


def _group_table(metadata: ModelMetadata, rows: list[dict[str, Any]]) -> list[str]:
    columns = GROUP_COLUMNS[metadata.problem_type]
    positive = metadata.positive_class
    header = ["group", *[title.format(positive=positive) for _, title in columns]]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [f"{row['group']}" + ("" if row["enough_rows"] else " (too few rows to judge)")]
        cells += [_group_value(name, row.get(name)) for name, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _group_value(name: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if name == "rows":
        return f"{value:,}"
    if name in PERCENT_METRICS:
        return f"{value:.0%}"
    if name in ("mae", "mean_error"):
        return f"{value:+,.2f}" if name == "mean_error" else f"{value:,.2f}"
    return f"{value:.3f}"


def group_sentences(metadata: ModelMetadata, column: str, rows: list[dict[str, Any]]) -> list[str]:
    """The gap between the best and the worst served group, in words a non-technical reader follows."""
    from .groups import MIN_GROUP_ROWS, largest_gap

    problem = metadata.problem_type
    gap = largest_gap(problem, rows)
    if gap is None:
        return [f"Fewer than two groups of `{column}` have {MIN_GROUP_ROWS} rows or more; no comparison."]
    best, worst = gap["best"], gap["worst"]
    if problem == "binary":
        positive = metadata.positive_class
        text = (
            f"Of the cases that really are {positive!r}, the model catches {best['recall']:.0%} in group "
            f"{best['group']!r} but {worst['recall']:.0%} in group {worst['group']!r}."
        )
    elif problem == "multiclass":
        text = (
            f"The model names the right class {best['accuracy']:.0%} of the time in group {best['group']!r} "
            f"and {worst['accuracy']:.0%} of the time in group {worst['group']!r}."
        )
    else:
        text = (
            f"The typical error is {best['mae']:,.2f} in group {best['group']!r} and {worst['mae']:,.2f} in "
            f"group {worst['group']!r}."
        )
    verdict = (
        "That gap is large enough to review with the client before use."
        if gap["worth_a_look"]
        else "The groups are served about equally well on this measure."
    )
    return [f"{text} {verdict}"]
