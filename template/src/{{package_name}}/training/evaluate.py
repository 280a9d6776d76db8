"""Cross-validation of the model against a dummy baseline, on identical folds (see `folds`), scored with
the problem type's metrics (see `core.metrics`); the gate (`gate`) then reads the result.

The out-of-fold predictions are kept: the per-group breakdown and the reference sample for drift are
computed on rows the model did not see in training. `train` then calibrates the out-of-fold probabilities
(`calibration`) and keeps the map in `CVResult.calibration`; the fold scores stay those of the model's own
probabilities.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts.output_maps import Calibration, Uncertainty
from ..core.config import Config
from ..core.errors import UserError
from ..core.metrics import PROBLEM_METRICS, Predictions, score_all
from ..core.progress import say
from ..core.wording import number, plain
from .classes import class_labels, label_array, resolve_positive_class
from .folds import make_splits
from .parallel import fold_workers, idle_at_the_end, run_parallel
from .pipeline import after_coercion


@dataclass
class CVResult:
    """Per-fold scores of the model and the baseline, plus what is needed for the model card."""

    method: str
    folds: int
    model_scores: dict[str, list[float]]
    baseline_scores: dict[str, list[float]]
    classes: list[Any] | None
    positive: Any
    splits: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    grouped_by: tuple[str, ...] = ()
    rows: int = 0
    oof_index: np.ndarray | None = None
    oof_prediction: np.ndarray | None = None
    oof_probability: np.ndarray | None = None
    last_fold_model: Any = None
    last_fold_validation: tuple[pd.DataFrame, pd.Series] | None = None
    fold_seconds: list[float] = field(default_factory=list)
    final_model: Any = None  # the final fit, when it ran beside the last folds (`cross_validate`)
    calibration: Calibration = field(default_factory=Calibration)  # set by `train` after the folds
    uncertainty: Uncertainty = field(default_factory=Uncertainty)  # set by `train` after the calibration

    def summary(self, which: str = "model") -> dict[str, dict[str, float]]:
        scores = self.model_scores if which == "model" else self.baseline_scores
        return {name: _mean_std(values) for name, values in scores.items()}


def _mean_std(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return {"mean": float("nan"), "std": float("nan")}
    return {"mean": float(array.mean()), "std": float(array.std())}


def aligned_probabilities(model: Any, X: pd.DataFrame, classes: list[Any]) -> np.ndarray:
    """predict_proba with one column per class of the whole target, also for classes a fold never saw."""
    proba = model.predict_proba(X)
    out = np.zeros((len(X), len(classes)))
    for column, label in enumerate(model.classes_):
        out[:, classes.index(label)] = proba[:, column]
    return out


def predict_with(model: Any, X: pd.DataFrame, classes) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions (of the target's own type) and, for classification, probabilities per class."""
    if classes is None:
        return model.predict(X), None
    proba = aligned_probabilities(model, X, classes)
    return label_array(classes)[proba.argmax(axis=1)], proba


def _score(model: Any, X: pd.DataFrame, y: pd.Series, cv: CVResult, problem_type: str, scores) -> tuple:
    """Score a fitted model on (X, y), appending each metric to `scores`; the predictions, for reuse."""
    prediction, proba = predict_with(model, X, cv.classes)
    predictions = Predictions(y, prediction, proba, cv.classes, cv.positive)
    for name, value in score_all(problem_type, predictions).items():
        scores[name].append(float(value))
    return prediction, proba


@dataclass
class _Fold:
    """One fold's outcome: both scores, the model's validation predictions, the model, and its time."""

    model_scores: dict[str, list[float]]
    baseline_scores: dict[str, list[float]]
    prediction: np.ndarray
    probability: np.ndarray | None
    model: Any
    seconds: float


def _fit_fold(make_model, make_baseline, X, y, split, cv: CVResult, problem_type: str, coerced) -> _Fold:
    """Fit and score model and baseline on one fold (safe to run in a thread: it shares only reads). With
    `coerced` rows, the model's steps after `coerce` are fitted and scored on them (`after_coercion`)."""
    start = time.perf_counter()
    train_index, test_index = split
    rows = X if coerced is None else coerced
    X_train, y_train = rows.iloc[train_index], y.iloc[train_index]
    X_test, y_test = rows.iloc[test_index], y.iloc[test_index]
    names = PROBLEM_METRICS[problem_type]
    model_scores: dict[str, list[float]] = {name: [] for name in names}
    baseline_scores: dict[str, list[float]] = {name: [] for name in names}
    model = make_model(len(train_index))
    fitted = model if coerced is None else after_coercion(model)
    fitted.fit(X_train, y_train)
    prediction, proba = _score(fitted, X_test, y_test, cv, problem_type, model_scores)
    baseline = make_baseline(len(train_index)).fit(X_train, y_train)
    _score(baseline, X_test, y_test, cv, problem_type, baseline_scores)
    return _Fold(model_scores, baseline_scores, prediction, proba, model, time.perf_counter() - start)


def _timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    return fit(), time.perf_counter() - start


def cross_validate(
    make_model: Callable[[int], Any],
    make_baseline: Callable[[int], Any],
    X: pd.DataFrame,
    y: pd.Series,
    config: Config,
    coerced: pd.DataFrame | None = None,
    final_fit: Callable[[], Any] | None = None,
) -> CVResult:
    """Fit and score model and baseline on the same folds, several folds at once when cores and memory
    allow (`model.n_jobs`; see `parallel`), with a progress line per fold as it finishes. The scores are
    the same whatever the number of folds at once. The factories take the number of training rows, which
    small tables need to size the model.

    `coerced`: `X` as the model Pipeline's first step gives it (`pipeline.coerce_rows`), computed once by
    the caller. Each fold then fits and scores the steps after it on its share of those rows instead of
    coercing its rows again; the step works row by row, so the folds' models and scores are the same.

    `final_fit`: the fit on every row that follows when the gate passes. When the last round of folds
    would leave a worker idle (five folds, two at once), it runs there, beside the last fold, and its
    model is `CVResult.final_model`: the time of a whole fit saved, and lost when the gate fails only
    by the wait for it to end. Otherwise it is not called and `final_model` stays None."""
    method, splits, grouped_by = make_splits(config, X, y)
    classes = class_labels(y) if config.is_classification else None
    positive = resolve_positive_class(config, y) if config.problem_type == "binary" else None
    names = PROBLEM_METRICS[config.problem_type]
    result = CVResult(
        method, len(splits), {name: [] for name in names}, {name: [] for name in names}, classes, positive,
        splits, grouped_by, len(y),
    )  # fmt: skip
    workers = fold_workers(config, len(splits), len(y), X.shape[1])
    say(f"… {method}" + (f", {workers} folds at once" if workers > 1 else ""))
    if positive is not None:
        say(f"  binary metrics are about {config.data.target} = {positive!r} (data.positive_class to change)")
    tasks: list[Callable[[], Any]] = [
        partial(_fit_fold, make_model, make_baseline, X, y, split, result, config.problem_type, coerced)
        for split in splits
    ]
    if final_fit is not None and idle_at_the_end(len(tasks), workers):
        tasks.append(partial(_timed, final_fit))
        say(f"  the final fit on all {len(y):,} rows runs beside the last fold")
    folds: dict[int, _Fold] = {}
    gate_metric = names[0]  # the first metric is the one the gate compares
    for index, fold in run_parallel(tasks, workers):
        if index == len(splits):
            result.final_model, seconds = fold
            say(f"  final fit on all {len(y):,} rows done ({seconds:.1f} s)")
            continue
        folds[index] = fold
        model, baseline = fold.model_scores[gate_metric][0], fold.baseline_scores[gate_metric][0]
        say(
            f"  fold {index + 1}/{len(splits)}: {gate_metric} model {number(model)}, "
            f"baseline {number(baseline)} ({fold.seconds:.1f} s)"
        )
    return _collect(result, [folds[index] for index in range(len(splits))], X, y)


def _collect(result: CVResult, folds: list[_Fold], X: pd.DataFrame, y: pd.Series) -> CVResult:
    """The folds' outcomes, in fold order, gathered into `result` (scores, out-of-fold predictions, the
    last fold's model and validation rows for permutation importance)."""
    for fold in folds:
        for name, values in fold.model_scores.items():
            result.model_scores[name].extend(values)
        for name, values in fold.baseline_scores.items():
            result.baseline_scores[name].extend(values)
        result.fold_seconds.append(fold.seconds)
    result.oof_index = np.concatenate([test_index for _, test_index in result.splits])
    result.oof_prediction = np.concatenate([fold.prediction for fold in folds])
    probabilities = [fold.probability for fold in folds if fold.probability is not None]
    result.oof_probability = np.concatenate(probabilities) if probabilities else None
    last_test = result.splits[-1][1]
    result.last_fold_model = folds[-1].model
    result.last_fold_validation = (X.iloc[last_test], y.iloc[last_test])
    return result


def score_fitted_on_folds(model: Any, X: pd.DataFrame, y: pd.Series, cv: CVResult, config: Config):
    """Scores of an already fitted model (the current one, when a challenger is trained on new data) on the
    validation rows of exactly the folds `cross_validate` used for `cv`, so champion and challenger are
    compared on the same rows."""
    known = {plain(label) for label in model.classes_} if cv.classes is not None else set()
    unknown = known - set(cv.classes or [])
    if unknown:
        raise UserError(
            f"the current model knows class(es) {', '.join(map(repr, sorted(unknown, key=str)))} that the "
            "new data lacks; it cannot be compared with a challenger on that data"
        )
    scores: dict[str, list[float]] = {name: [] for name in PROBLEM_METRICS[config.problem_type]}
    for _, test_index in cv.splits:
        _score(model, X.iloc[test_index], y.iloc[test_index], cv, config.problem_type, scores)
    return {name: _mean_std(values) for name, values in scores.items()}
