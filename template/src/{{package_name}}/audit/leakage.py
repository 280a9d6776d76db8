"""The leakage scan: each candidate column alone predicts the target with a small decision tree,
cross-validated. A column that does so almost perfectly is usually recorded after the outcome."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Config
from ..core.metrics import METRICS
from ..core.progress import step
from .dates import utc_dates

LEAKAGE_SAMPLE_ROWS = 20_000
LEAKAGE_FOLDS = 3
# The metric of the scan per problem type (label, chance level and scikit-learn name in core.metrics).
LEAKAGE_METRICS = {"binary": "roc_auc", "multiclass": "balanced_accuracy", "regression": "r2"}


def leakage_scan(frame: pd.DataFrame, candidates: dict[str, str], config: Config) -> dict[str, Any]:
    """Score each candidate column (name → kind) alone with a small decision tree, cross-validated. A column
    that alone predicts the target almost perfectly is usually recorded after the outcome (a leak), or a
    proxy of it."""
    metric = METRICS[LEAKAGE_METRICS[config.problem_type]]
    result: dict[str, Any] = {
        "metric": metric.name,
        "metric_label": metric.in_sentence,
        "threshold": config.audit.leakage_threshold,
        "chance": metric.no_skill_level(None),  # multiclass: set below, once the classes are counted
        "rows_scanned": 0,
        "scores": [],
        "suspects": [],
        "skipped": None,
    }
    rows, target, reason = _leakage_rows(frame, config)
    if reason or not candidates:
        result["skipped"] = reason or "no candidate feature columns"
        return result
    result["chance"] = metric.no_skill_level(target.nunique())
    result["rows_scanned"] = len(rows)
    with step(
        f"leakage scan: each of {len(candidates)} columns alone, "
        f"{LEAKAGE_FOLDS}-fold CV on {len(rows):,} rows"
    ):
        scores = {
            name: _single_column_score(_single_column_matrix(rows[name], kind), target, config)
            for name, kind in candidates.items()
        }
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    result["scores"] = [{"column": name, "score": score} for name, score in ranked]
    result["suspects"] = [name for name, score in ranked if score >= config.audit.leakage_threshold]
    return result


def _leakage_rows(frame: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.Series, str]:
    """The rows to scan (at most LEAKAGE_SAMPLE_ROWS, labelled) and the target encoded for scoring, or a
    reason to skip the scan."""
    target = frame[config.data.target]
    if config.problem_type == "regression":
        target = pd.to_numeric(target, errors="coerce")
    rows = frame.loc[target.notna()]
    if len(rows) > LEAKAGE_SAMPLE_ROWS:
        rows = rows.sample(LEAKAGE_SAMPLE_ROWS, random_state=0)
    target = target.loc[rows.index]
    if config.problem_type == "regression":
        if len(rows) < 3 * LEAKAGE_FOLDS or target.nunique() < 2:
            return rows, target, "too few numeric target values to cross-validate"
        return rows, target.astype("float64"), ""
    return _leakage_labels(rows, target.astype(str), binary=config.problem_type == "binary")


def _leakage_labels(
    rows: pd.DataFrame, labels: pd.Series, binary: bool
) -> tuple[pd.DataFrame, pd.Series, str]:
    """Classification rows whose class has a row in every fold, labels 0/1 for a binary target, or a
    reason to skip the scan."""
    counts = labels.value_counts()
    kept = labels.isin(counts.index[counts >= LEAKAGE_FOLDS])  # each fold needs every class
    rows, labels = rows.loc[kept], labels.loc[kept]
    if labels.nunique() < 2:
        return rows, labels, f"fewer than two classes with at least {LEAKAGE_FOLDS} rows"
    if binary:
        if labels.nunique() != 2:
            return rows, labels, f"the target has {labels.nunique()} classes, not two"
        labels = (labels == sorted(labels.unique())[1]).astype(int)
    return rows, labels, ""


def _single_column_score(matrix: np.ndarray, target: pd.Series, config: Config) -> float:
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    leaf = max(3, len(matrix) // 500)
    if config.is_classification:
        model = DecisionTreeClassifier(max_leaf_nodes=64, min_samples_leaf=leaf, random_state=0)
        folds = StratifiedKFold(LEAKAGE_FOLDS, shuffle=True, random_state=0)
    else:
        model = DecisionTreeRegressor(max_leaf_nodes=64, min_samples_leaf=leaf, random_state=0)
        folds = KFold(LEAKAGE_FOLDS, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scoring = METRICS[LEAKAGE_METRICS[config.problem_type]].sklearn_scoring
        scores = cross_val_score(model, matrix, target, cv=folds, scoring=scoring)
    score = float(np.nanmean(scores)) if not np.all(np.isnan(scores)) else float("nan")
    return score if math.isfinite(score) else 0.0


def _single_column_matrix(series: pd.Series, kind: str) -> np.ndarray:
    """One column as model input: numbers (dates as days) with missing values set to a sentinel below the
    range plus a missing indicator; anything else as category codes, with missing as a level of its own."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        numbers = series.astype("float64")
    elif kind == "datetime":
        numbers = (utc_dates(series) - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86_400
    else:
        codes, _ = pd.factorize(series.astype("string"), sort=True, use_na_sentinel=True)
        return codes.astype("float64").reshape(-1, 1)  # missing → -1, its own level
    missing = numbers.isna()
    low = numbers.min() if missing.sum() < len(numbers) else 0.0
    filled = numbers.fillna(low - 1 - abs(low))
    return np.column_stack([filled.to_numpy(), missing.to_numpy(dtype="float64")])
