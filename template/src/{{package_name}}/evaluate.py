"""Cross-validation of the model against a dummy baseline, on identical folds.

Stratified K-fold for classification, K-fold for regression, and time-ordered backtesting (each fold
trains on the past and is scored on the period that follows) when a time column is configured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .config import Config
from .errors import UserError
from .progress import say

# Metrics per problem type; the first is the one the quality gate compares.
METRICS = {
    "binary": ("roc_auc", "pr_auc", "f1", "brier"),
    "multiclass": ("macro_f1", "accuracy", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}
LOWER_IS_BETTER = {"brier", "log_loss", "rmse", "mae"}
POSITIVE_WORDS = {"1", "true", "yes", "y", "positive", "t"}


@dataclass
class CVResult:
    """Per-fold scores of the model and the baseline, plus what is needed for the model card."""

    method: str
    folds: int
    model_scores: dict[str, list[float]]
    baseline_scores: dict[str, list[float]]
    classes: list[Any] | None
    positive: Any
    oof_index: np.ndarray | None = None
    oof_prediction: np.ndarray | None = None
    oof_probability: np.ndarray | None = None
    last_fold_model: Any = None
    last_fold_validation: tuple[pd.DataFrame, pd.Series] | None = None
    fold_seconds: list[float] = field(default_factory=list)

    def summary(self, which: str = "model") -> dict[str, dict[str, float]]:
        scores = self.model_scores if which == "model" else self.baseline_scores
        return {name: _mean_std(values) for name, values in scores.items()}


def _mean_std(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return {"mean": float("nan"), "std": float("nan")}
    return {"mean": float(array.mean()), "std": float(array.std())}


def positive_class(config: Config, classes: list[Any]) -> Any:
    """The class the binary metrics are about: configured, else 1/true/yes, else the minority class."""
    if config.data.positive_class is not None:
        wanted = str(config.data.positive_class)
        for label in classes:
            if str(label) == wanted:
                return label
        raise UserError(
            f"data.positive_class {config.data.positive_class!r} is not a class of the target "
            f"(classes: {', '.join(map(str, classes))})"
        )
    for label in classes:
        if str(label).strip().lower() in POSITIVE_WORDS:
            return label
    return None


def resolve_positive_class(config: Config, target: pd.Series) -> Any:
    counts = target.value_counts()
    chosen = positive_class(config, list(counts.index))
    return counts.index[-1] if chosen is None else chosen


def make_splits(config: Config, target: pd.Series) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    """The folds, or a clear error when the data is too small for them."""
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    k = config.model.cv_folds
    n = len(target)
    if config.data.time_column:
        if n < 2 * (k + 1):
            raise UserError(
                f"{n} rows are fewer than a {k}-fold backtest needs ({2 * (k + 1)}); lower model.cv_folds"
            )
        method = (
            f"time-ordered backtest, {k} folds (TimeSeriesSplit on rows sorted by {config.data.time_column})"
        )
        splits = list(TimeSeriesSplit(n_splits=k).split(np.zeros(n)))
        if config.is_classification:
            for train_index, _ in splits[:1]:
                if target.iloc[train_index].nunique() < 2:
                    raise UserError(
                        "the earliest backtest fold holds a single class; lower model.cv_folds or add older "
                        "data"
                    )
        return method, splits
    if config.is_classification:
        counts = target.value_counts()
        if counts.min() < k:
            raise UserError(
                f"class {counts.index[-1]!r} has {counts.min()} rows, fewer than model.cv_folds={k} "
                "stratified folds need; lower model.cv_folds or add data"
            )
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
        return f"stratified {k}-fold cross-validation", list(splitter.split(np.zeros(n), target))
    if n < 2 * k:
        raise UserError(
            f"{n} rows are fewer than {k}-fold cross-validation needs ({2 * k}); lower model.cv_folds"
        )
    splitter = KFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
    return f"{k}-fold cross-validation", list(splitter.split(np.zeros(n)))


def aligned_probabilities(model: Any, X: pd.DataFrame, classes: list[Any]) -> np.ndarray:
    """predict_proba with one column per class of the whole target, also for classes a fold never saw."""
    proba = model.predict_proba(X)
    out = np.zeros((len(X), len(classes)))
    for column, label in enumerate(model.classes_):
        out[:, classes.index(label)] = proba[:, column]
    return out


def score(
    problem_type: str, y_true: pd.Series, prediction: np.ndarray, proba: np.ndarray | None, classes, positive
):
    """The problem type's metrics for one set of predictions."""
    from sklearn import metrics as m

    if problem_type == "regression":
        return {
            "r2": m.r2_score(y_true, prediction),
            "rmse": float(np.sqrt(m.mean_squared_error(y_true, prediction))),
            "mae": m.mean_absolute_error(y_true, prediction),
        }
    if problem_type == "binary":
        is_positive = (y_true == positive).to_numpy()
        p = proba[:, classes.index(positive)]
        both = 0 < is_positive.sum() < len(is_positive)
        return {
            "roc_auc": m.roc_auc_score(is_positive, p) if both else float("nan"),
            "pr_auc": m.average_precision_score(is_positive, p) if both else float("nan"),
            "f1": m.f1_score(is_positive, p >= 0.5, zero_division=0),
            "brier": m.brier_score_loss(is_positive, p),
        }
    return {
        "macro_f1": m.f1_score(y_true, prediction, average="macro", labels=classes, zero_division=0),
        "accuracy": m.accuracy_score(y_true, prediction),
        "log_loss": m.log_loss(y_true, np.clip(proba, 1e-15, 1), labels=classes),
    }


def predict_with(model: Any, X: pd.DataFrame, classes) -> tuple[np.ndarray, np.ndarray | None]:
    if classes is None:
        return model.predict(X), None
    proba = aligned_probabilities(model, X, classes)
    return np.asarray(classes, dtype=object)[proba.argmax(axis=1)], proba


def cross_validate(make_model, make_baseline, X: pd.DataFrame, y: pd.Series, config: Config) -> CVResult:
    """Fit and score model and baseline on the same folds, with a progress line per fold."""
    from sklearn.base import clone

    method, splits = make_splits(config, y)
    classes = sorted(y.unique().tolist(), key=str) if config.is_classification else None
    positive = resolve_positive_class(config, y) if config.problem_type == "binary" else None
    names = METRICS[config.problem_type]
    model_scores: dict[str, list[float]] = {name: [] for name in names}
    baseline_scores: dict[str, list[float]] = {name: [] for name in names}
    oof_index, oof_pred, oof_proba = [], [], []
    result = CVResult(method, len(splits), model_scores, baseline_scores, classes, positive)
    say(f"… {method}")
    for fold, (train_index, test_index) in enumerate(splits, start=1):
        start = time.perf_counter()
        X_train, y_train = X.iloc[train_index], y.iloc[train_index]
        X_test, y_test = X.iloc[test_index], y.iloc[test_index]
        for scores, factory in ((model_scores, make_model), (baseline_scores, make_baseline)):
            fitted = clone(factory()).fit(X_train, y_train)
            prediction, proba = predict_with(fitted, X_test, classes)
            for name, value in score(
                config.problem_type, y_test, prediction, proba, classes, positive
            ).items():
                scores[name].append(float(value))
            if scores is model_scores:
                oof_index.append(test_index)
                oof_pred.append(prediction)
                if proba is not None:
                    oof_proba.append(proba)
                result.last_fold_model = fitted
                result.last_fold_validation = (X_test, y_test)
        result.fold_seconds.append(time.perf_counter() - start)
        gate = names[0]
        say(
            f"  fold {fold}/{len(splits)}: {gate} model {model_scores[gate][-1]:.3f}, "
            f"baseline {baseline_scores[gate][-1]:.3f} ({result.fold_seconds[-1]:.1f} s)"
        )
    result.oof_index = np.concatenate(oof_index)
    result.oof_prediction = np.concatenate(oof_pred)
    result.oof_probability = np.concatenate(oof_proba) if oof_proba else None
    return result


def is_better(metric: str, candidate: float, reference: float) -> bool:
    return candidate < reference if metric in LOWER_IS_BETTER else candidate > reference


def gate(result: CVResult, config: Config) -> dict[str, Any]:
    """The quality gate: the model's mean gate metric must exceed the baseline's by `min_lift`."""
    metric = METRICS[config.problem_type][0]
    model_value = result.summary("model")[metric]["mean"]
    baseline_value = result.summary("baseline")[metric]["mean"]
    lift = model_value - baseline_value
    return {
        "metric": metric,
        "model": model_value,
        "baseline": baseline_value,
        "lift": lift,
        "min_lift": config.model.min_lift,
        "passed": bool(np.isfinite(lift) and lift >= config.model.min_lift),
    }


def score_fitted_on_folds(model: Any, X: pd.DataFrame, y: pd.Series, cv: CVResult, config: Config):
    """Scores of an already fitted model (the current one, when a challenger is trained on new data) on the
    validation rows of exactly the folds `cross_validate` used for `cv` (the splits are deterministic for
    the same rows and settings), so champion and challenger are compared on the same rows."""
    _, splits = make_splits(config, y)
    known = set(model.classes_) if cv.classes is not None else set()
    unknown = known - set(cv.classes or [])
    if unknown:
        raise UserError(
            f"the current model knows class(es) {', '.join(map(repr, sorted(unknown, key=str)))} that the "
            "new data lacks; it cannot be compared with a challenger on that data"
        )
    scores: dict[str, list[float]] = {name: [] for name in METRICS[config.problem_type]}
    for _, test_index in splits:
        X_test, y_test = X.iloc[test_index], y.iloc[test_index]
        prediction, proba = predict_with(model, X_test, cv.classes)
        for name, value in score(
            config.problem_type, y_test, prediction, proba, cv.classes, cv.positive
        ).items():
            scores[name].append(float(value))
    return {name: _mean_std(values) for name, values in scores.items()}
