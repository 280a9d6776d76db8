"""Performance group by group for the columns the config names as sensitive (`data.sensitive_columns`).

Computed on out-of-fold predictions, the same held-out rows the headline metrics come from, so a group
does not look better than it is because the model saw its rows in training. The model card shows the
result in tables and in plain sentences; `metadata.json` keeps it under `groups`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.metrics import METRICS

# Fewer rows than this in a group: its numbers are shown but flagged as too noisy to judge.
MIN_GROUP_ROWS = 30
# Numeric columns with more distinct values than this are cut into quartiles.
MAX_NUMERIC_GROUPS = 10
# A gap between the best and the worst group larger than this (in the metric's units) is called out.
GAP_WORTH_A_LOOK = 0.10
MISSING_GROUP = "(missing)"
# Categories beyond the most common ones are pooled, so that the model card stays readable.
MAX_GROUPS = 20
OTHER_GROUP = "(other values)"

# The metric that is compared across groups (its direction in core.metrics).
GAP_METRIC = {"binary": "recall", "multiclass": "accuracy", "regression": "mae"}


def group_labels(values: pd.Series) -> pd.Series:
    """Text labels per row: the category (the rarest pooled when there are many), a quartile range for a
    many-valued number, or "(missing)"."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > MAX_NUMERIC_GROUPS:
        bins = pd.qcut(values, 4, duplicates="drop")
        names = {bin_: f"{bin_.left:,.4g} to {bin_.right:,.4g}" for bin_ in bins.cat.categories}
        return bins.astype(object).map(names).where(values.notna(), MISSING_GROUP).astype(str)
    labels = values.astype(object).where(values.notna(), MISSING_GROUP).astype(str)
    common = labels.value_counts().index[: MAX_GROUPS - 1]
    return labels.where(labels.isin(common) | (labels.nunique() <= MAX_GROUPS), OTHER_GROUP)


def group_metrics(frame: pd.DataFrame, target: pd.Series, cv: Any, problem_type: str, columns) -> dict:
    """{column: [{group, rows, metric...}, ...]} for each sensitive column, on out-of-fold predictions."""
    rows = np.asarray(cv.oof_index)
    actual = target.iloc[rows].reset_index(drop=True)
    predicted = pd.Series(cv.oof_prediction, dtype=object if cv.classes is not None else float)
    probability = None
    if problem_type == "binary":
        probability = pd.Series(cv.oof_probability[:, cv.classes.index(cv.positive)])
    result = {}
    for column in columns:
        labels = group_labels(frame[column]).iloc[rows].reset_index(drop=True)
        result[column] = [
            _no_nan(
                {
                    "group": str(group),
                    **_metrics(problem_type, actual[mask], predicted[mask], probability, mask, cv),
                }
            )
            for group, mask in _masks(labels)
        ]
    return result


def _no_nan(row: dict[str, Any]) -> dict[str, Any]:
    """A metric that cannot be computed for a group (one class only) is null, so metadata.json stays
    strict JSON."""
    return {
        key: None if isinstance(value, float) and not np.isfinite(value) else value
        for key, value in row.items()
    }


def _masks(labels: pd.Series):
    """(group, boolean mask) from the largest group to the smallest."""
    for group in labels.value_counts().index:
        yield group, (labels == group).to_numpy()


def _metrics(problem_type: str, actual, predicted, probability, mask, cv) -> dict[str, Any]:
    from sklearn import metrics as m

    out: dict[str, Any] = {"rows": int(mask.sum()), "enough_rows": bool(mask.sum() >= MIN_GROUP_ROWS)}
    if problem_type == "regression":
        errors = predicted.astype(float).to_numpy() - actual.astype(float).to_numpy()
        out.update(mae=float(np.abs(errors).mean()), mean_error=float(errors.mean()))
        return out
    hits = predicted.astype(str).to_numpy() == actual.astype(str).to_numpy()
    out["accuracy"] = float(hits.mean())
    if problem_type == "multiclass":
        out["macro_f1"] = float(
            m.f1_score(actual.astype(str), predicted.astype(str), average="macro", zero_division=0)
        )
        return out
    is_positive = (actual == cv.positive).to_numpy()
    flagged = (predicted == cv.positive).to_numpy()
    out["share_positive"] = float(is_positive.mean())
    out["share_flagged"] = float(flagged.mean())
    out["recall"] = float(flagged[is_positive].mean()) if is_positive.any() else float("nan")
    both = 0 < is_positive.sum() < len(is_positive)
    out["roc_auc"] = float(m.roc_auc_score(is_positive, probability[mask])) if both else float("nan")
    return out


def largest_gap(problem_type: str, groups: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best and worst served groups (with enough rows) on the compared metric, and the gap."""
    metric = GAP_METRIC[problem_type]
    judged = [g for g in groups if g["enough_rows"] and g.get(metric) is not None]
    if len(judged) < 2:
        return None
    higher_is_better = METRICS[metric].higher_is_better
    ordered = sorted(judged, key=lambda g: g[metric], reverse=higher_is_better)
    best, worst = ordered[0], ordered[-1]
    gap = abs(best[metric] - worst[metric])
    # An error is in the target's own units: its gap is judged relative to the best group's error.
    relative = gap / best[metric] if not higher_is_better and best[metric] else gap
    worth_a_look = relative > GAP_WORTH_A_LOOK
    return {"metric": metric, "best": best, "worst": worst, "gap": gap, "worth_a_look": worth_a_look}
