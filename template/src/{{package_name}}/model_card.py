"""`reports/model_card.md`: what the model is for, what it was trained on, how good it is compared with a
dummy baseline (in plain words), what drives it, and where it should not be trusted."""

from __future__ import annotations

from typing import Any

from .evaluate import LOWER_IS_BETTER, METRICS

METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "f1": "F1 (threshold 0.5)",
    "brier": "Brier score",
    "macro_f1": "Macro F1",
    "accuracy": "Accuracy",
    "log_loss": "Log loss",
    "r2": "R²",
    "rmse": "RMSE",
    "mae": "MAE",
}


def importance_figure(importance: list[dict[str, float]], top: int = 15) -> bytes:
    """Horizontal bar chart of the most important features, as PNG bytes."""
    from . import plots

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


def plain_summary(metadata: dict[str, Any]) -> list[str]:
    """Sentences a non-technical reader understands, comparing the model with the baseline."""
    model = {name: value["mean"] for name, value in metadata["metrics"]["model"].items()}
    base = {name: value["mean"] for name, value in metadata["metrics"]["baseline"].items()}
    target = metadata["target"]
    problem = metadata["problem_type"]
    if problem == "binary":
        positive = metadata["positive_class"]
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
    return [
        f"The model explains {model['r2']:.0%} of the variation in {target}; the baseline (always the "
        "average) "
        f"explains {max(base['r2'], 0):.0%}.",
        f"Its typical error (mean absolute error) is {model['mae']:,.2f}, {reduction:.0%} smaller than the "
        f"baseline's {base['mae']:,.2f}.",
    ]


def metrics_table(metadata: dict[str, Any]) -> str:
    lines = ["| metric | model | dummy baseline | better than baseline by |", "| --- | --- | --- | --- |"]
    for name in METRICS[metadata["problem_type"]]:
        model = metadata["metrics"]["model"][name]
        base = metadata["metrics"]["baseline"][name]
        lower_better = name in LOWER_IS_BETTER
        lift = (base["mean"] - model["mean"]) if lower_better else (model["mean"] - base["mean"])
        better = "lower is better" if lower_better else "higher is better"
        lines.append(
            f"| {METRIC_LABELS[name]} ({better}) | {model['mean']:.3f} ± {model['std']:.3f} | "
            f"{base['mean']:.3f} ± {base['std']:.3f} | {lift:+.3f} |"
        )
    return "\n".join(lines)


def render_model_card(metadata: dict[str, Any], contract: dict[str, Any]) -> str:
    """The model card as Markdown, from the training metadata and the data contract."""
    data = metadata["data"]
    gate = metadata["gate"]
    features = [c for c in contract["columns"] if c["role"] == "feature"]
    excluded = [c for c in contract["columns"] if c["role"] in ("excluded", "id", "time")]
    kinds = {
        kind: sum(c["kind"] == kind for c in features) for kind in ("numeric", "categorical", "datetime")
    }
    time_range = data.get("time_range")
    period = f" covering {time_range['start'][:10]} to {time_range['end'][:10]}" if time_range else ""
    top = ", ".join(row["feature"] for row in metadata["feature_importance"][:5])
    lines = [
        f"# Model card: {metadata['project']}",
        "",
        f"Client: {metadata['client']} · model version `{metadata['model_version']}` · trained "
        f"{metadata['trained_at']}",
        "",
        "## Intended use",
        "",
        f"Predicts `{metadata['target']}` ({_problem_words(metadata)}) for {metadata['client']} from the "
        f"columns of `{data['path']}`. It is decision support: its outputs inform people who know the "
        "context; "
        "it is not meant to take decisions about individuals on its own.",
        "",
        "Out of scope: data from another population, period or source than the training data; "
        "uses where an error harms someone without human review.",
        "",
        "## Data",
        "",
        f"- Source: `{data['path']}` (sha256 `{data['sha256'][:12]}…`){period}.",
        f"- Rows: {data['rows_read']:,} read, {data['rows_missing_target']:,} dropped without a target, "
        f"{data['rows_used']:,} used.",
        f"- Features: {len(features)} ({kinds['numeric']} numeric, {kinds['categorical']} categorical, "
        f"{kinds['datetime']} dates turned into calendar features).",
        "- Not used as features:",
        *[f"  - `{c['name']}`: {c.get('reason', c['role'])}" for c in excluded],
        "",
        "## Performance",
        "",
        f"Measured with {metadata['cv']['method']}: every score below comes from rows the model did not "
        "see in training, as mean ± standard deviation over folds. The dummy baseline is what you get "
        "without a "
        "model (the class shares, or the average).",
        "",
        metrics_table(metadata),
        "",
        "In plain words:",
        "",
        *[f"- {sentence}" for sentence in plain_summary(metadata)],
        "",
        f"Quality gate: {METRIC_LABELS[gate['metric']]} had to beat the baseline by at least "
        f"{gate['min_lift']:.3f}; it did by {gate['lift']:.3f}.",
        "",
        "## What drives the model",
        "",
        "![Feature importance](figures/feature_importance.png)",
        "",
        f"The columns that matter most: {top}. Importance shows association learned from historical data, "
        "not cause and effect.",
        "",
        "## Limitations",
        "",
        "- Scores are estimates from historical data; performance on new data can be lower, and will fall if "
        "the data drifts from what the model was trained on.",
        "- The model only knows the columns listed above; anything that changes the outcome but is not in "
        "the "
        "data is invisible to it.",
        "- Inputs outside the ranges seen in training (see `configs/schema.json`) are extrapolations; "
        "categories never seen in training are ignored.",
        "",
        "## Bias and fairness",
        "",
        "- Columns that look like personal data were excluded by the audit (see the list above).",
        "- No sensitive attribute is configured, so performance has not been broken down by group. Agree "
        "with "
        f"{metadata['client']} which groups matter (e.g. age band, region, gender where lawful) and check "
        "that "
        "the model performs comparably for each before it is used on people.",
        "- Features can act as proxies for protected attributes (postcode for ethnicity, for example); "
        "review "
        "the list of features with that in mind.",
        "",
        "## Reproducibility",
        "",
        f"- Model file `models/model.skops`, sha256 `{metadata['model_sha256']}`.",
        f"- Data contract hash `{metadata['schema_hash'][:16]}…`; data hash `{data['sha256'][:16]}…`.",
        f"- Training took {metadata['training']['wall_seconds']:.1f} s wall time, "
        f"{metadata['training']['cpu_seconds']:.1f} s CPU time.",
        "- Libraries: "
        + ", ".join(f"{name} {version}" for name, version in metadata["versions"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def _problem_words(metadata: dict[str, Any]) -> str:
    if metadata["problem_type"] == "regression":
        return "a number"
    classes = ", ".join(str(label) for label in metadata["classes"])
    return f"one of {classes}"
