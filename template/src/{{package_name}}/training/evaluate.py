"""Cross-validation of the model against a dummy baseline, on identical folds, and the quality gate.

Stratified K-fold for classification, K-fold for regression, group K-fold when rows share an ID (all rows
of one ID stay on one side, so the model is not scored on entities it has already seen), and time-ordered
backtesting (each fold trains on the past and is scored on the periods that follow) when a time column is
configured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import say
from ..core.wording import count, number, plain

# Metrics per problem type; the first is the one the quality gate compares.
METRICS = {
    "binary": ("roc_auc", "pr_auc", "f1", "brier"),
    "multiclass": ("macro_f1", "accuracy", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}
LOWER_IS_BETTER = {"brier", "log_loss", "rmse", "mae"}
POSITIVE_WORDS = {"1", "true", "yes", "y", "positive", "t"}

# The score of a model with no skill at all, which the gate metric must exceed whatever the baseline scores
# (a backtest's baseline can score far below it when the target's level shifts between periods).
# Macro F1: guessing each class at random in its share of the rows scores 1 / (number of classes).
NO_SKILL = {"roc_auc": 0.5, "r2": 0.0}
NO_SKILL_WORDS = {
    "roc_auc": "0.5 is a coin toss",
    "r2": "below 0 is worse than always predicting the average",
    "macro_f1": "what guessing each class at its share of the rows scores",
}
GATE_LABELS = {"roc_auc": "ROC AUC", "macro_f1": "macro F1", "r2": "R²"}
# At or above these cross-validated scores a model is almost never that good on real data: check for a leak.
NEAR_PERFECT = {"roc_auc": 0.99, "macro_f1": 0.98, "r2": 0.98}
# Fewer rows than this: scores vary a lot between folds, and the gate's failure message says what to try.
SMALL_TABLE_ROWS = 300


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

    def summary(self, which: str = "model") -> dict[str, dict[str, float]]:
        scores = self.model_scores if which == "model" else self.baseline_scores
        return {name: _mean_std(values) for name, values in scores.items()}


def _mean_std(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return {"mean": float("nan"), "std": float("nan")}
    return {"mean": float(array.mean()), "std": float(array.std())}


# ----------------------------------------------------------------------------------------------------------
# Classes and the positive class


def class_labels(target: pd.Series) -> list[Any]:
    """The target's classes in natural order (2 before 10), as plain Python values."""
    values = [plain(value) for value in target.unique()]
    try:
        return sorted(values)
    except TypeError:  # mixed types
        return sorted(values, key=str)


def _label_array(classes: list[Any]) -> np.ndarray:
    """The classes as an array of the target's own type: integer classes stay integers, which the metrics
    need (an object array of ints is an "unknown" target to scikit-learn)."""
    array = np.asarray(classes)
    return array if array.dtype.kind in "biuf" else np.asarray(classes, dtype=object)


def _means_yes(label: Any) -> bool:
    """True for the labels that name the positive case: 1 (also 1.0, what a 0/1 column with a blank cell
    becomes), true, "yes", "y", "positive"..."""
    if isinstance(label, bool | np.bool_):
        return bool(label)
    if isinstance(label, int | float | np.number):
        return label == 1
    text = str(label).strip().lower()
    return text in POSITIVE_WORDS or _as_number(text) == 1


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same_label(label: Any, wanted: Any) -> bool:
    """A configured class matches its label as text or as a number (1 matches 1.0)."""
    if str(label) == str(wanted):
        return True
    number = _as_number(label)
    return number is not None and not isinstance(label, bool | np.bool_) and number == _as_number(wanted)


def positive_class(config: Config, classes: list[Any]) -> Any:
    """The class the binary metrics are about: configured, else 1/true/yes, else None."""
    if config.data.positive_class is not None:
        for label in classes:
            if _same_label(label, config.data.positive_class):
                return label
        raise UserError(
            f"data.positive_class {config.data.positive_class!r} is not a class of the target "
            f"(classes: {', '.join(map(str, classes))}); set it to one of them, e.g. "
            f"positive_class: {classes[-1]!r}"
        )
    for label in classes:
        if _means_yes(label):
            return label
    return None


def resolve_positive_class(config: Config, target: pd.Series) -> Any:
    """The positive class: configured, else 1/true/yes, else the minority class."""
    counts = target.value_counts()
    chosen = positive_class(config, [plain(label) for label in counts.index])
    return plain(counts.index[-1]) if chosen is None else chosen


# ----------------------------------------------------------------------------------------------------------
# Folds


def make_splits(
    config: Config, frame: pd.DataFrame, target: pd.Series
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]], tuple[str, ...]]:
    """The method in words, the folds (train rows, validation rows), and the ID columns the folds keep
    together (empty unless rows share an ID); a clear error when the data is too small for them."""
    if config.data.time_column:
        method, splits = _time_splits(config, frame[config.data.time_column], target)
        return method, splits, ()
    groups = id_groups(frame, config.data.id_columns)
    if groups is not None:
        method, splits = _group_splits(config, groups, target)
        return method, splits, tuple(config.data.id_columns)
    return (*_row_splits(config, target), ())


def id_groups(frame: pd.DataFrame, id_columns: tuple[str, ...]) -> np.ndarray | None:
    """A group number per row when rows share a value of the ID columns (panel data, repeat customers),
    else None. A row without an ID is a group of its own."""
    columns = [name for name in id_columns if name in frame.columns]
    if not columns:
        return None
    ids = frame[columns]
    codes = ids.groupby(columns, dropna=False, sort=False).ngroup().to_numpy().copy()
    missing = ids.isna().any(axis=1).to_numpy()
    codes[missing] = codes.max() + 1 + np.arange(missing.sum())
    return codes if len(np.unique(codes)) < len(codes) else None


def _row_splits(config: Config, target: pd.Series) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    k, n = config.model.cv_folds, len(target)
    if config.is_classification:
        counts = target.value_counts()
        if counts.min() < k:
            raise UserError(
                f"class {plain(counts.index[-1])!r} of the target has {count(int(counts.min()), 'row')}, "
                f"fewer than model.cv_folds={k} stratified folds need; lower model.cv_folds "
                f"(e.g. {max(2, int(counts.min()))}) or add data"
            )
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
        return f"stratified {k}-fold cross-validation", list(splitter.split(np.zeros(n), target))
    if n < 2 * k:
        raise UserError(
            f"{n} rows are fewer than {k}-fold cross-validation needs ({2 * k}); lower model.cv_folds"
        )
    splitter = KFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
    return f"{k}-fold cross-validation", list(splitter.split(np.zeros(n)))


def _group_splits(
    config: Config, groups: np.ndarray, target: pd.Series
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Folds that keep all rows of one ID together: scored on rows of IDs it never saw, as in use."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    k, columns = config.model.cv_folds, ", ".join(config.data.id_columns)
    distinct = len(np.unique(groups))
    if distinct < k:
        raise UserError(
            f"rows share IDs in data.id_columns ({columns}), so folds keep each ID together, but there are "
            f"only {distinct} distinct IDs for model.cv_folds={k}; lower model.cv_folds "
            f"(e.g. {max(2, distinct)})"
        )
    what = f"{distinct:,} distinct IDs of {columns} for {len(groups):,} rows; each ID's rows in one fold"
    if config.is_classification:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
        splits = list(splitter.split(np.zeros(len(groups)), target, groups))
        return f"stratified group {k}-fold cross-validation ({what})", splits
    splits = list(GroupKFold(n_splits=k).split(np.zeros(len(groups)), target, groups))
    return f"group {k}-fold cross-validation ({what})", splits


def _time_splits(
    config: Config, times: pd.Series, target: pd.Series
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Backtest folds cut only between distinct time values: rows of one period (a year, a day) are never
    split between training and validation, which would let the model see the period it is scored on."""
    from sklearn.model_selection import TimeSeriesSplit

    k, name, n = config.model.cv_folds, config.data.time_column, len(target)
    if n < 2 * (k + 1):
        raise UserError(
            f"{n} rows are fewer than a {k}-fold backtest needs ({2 * (k + 1)}); lower model.cv_folds"
        )
    periods, period_of_row = np.unique(times.to_numpy(), return_inverse=True)
    if len(periods) < k + 1:
        raise UserError(
            f"time column {name!r} has {count(len(periods), 'distinct value')}, fewer than a {k}-fold "
            f"backtest needs ({k + 1}); lower model.cv_folds (e.g. {max(2, len(periods) - 1)})"
        )
    splits = []
    for train_periods, test_periods in TimeSeriesSplit(n_splits=k).split(periods):
        train = np.flatnonzero(period_of_row <= train_periods[-1])
        test = np.flatnonzero((period_of_row >= test_periods[0]) & (period_of_row <= test_periods[-1]))
        splits.append((train, test))
    if config.is_classification and target.iloc[splits[0][0]].nunique() < 2:
        raise UserError(
            "the earliest backtest fold holds a single class; lower model.cv_folds or add older data"
        )
    method = (
        f"time-ordered backtest, {k} folds on {name} ({count(len(periods), 'distinct value')}, each "
        "wholly in training or in validation)"
    )
    return method, splits


# ----------------------------------------------------------------------------------------------------------
# Scoring


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
    # Macro F1 over the classes that occur (truly or predicted): a class absent from a validation period
    # and rightly never predicted is no error, and would otherwise count as an F1 of zero.
    present = [label for label in classes if label in set(y_true) | set(prediction)]
    return {
        "macro_f1": m.f1_score(y_true, prediction, average="macro", labels=present, zero_division=0),
        "accuracy": m.accuracy_score(y_true, prediction),
        "log_loss": m.log_loss(y_true, np.clip(proba, 1e-15, 1), labels=classes),
    }


def predict_with(model: Any, X: pd.DataFrame, classes) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions (of the target's own type) and, for classification, probabilities per class."""
    if classes is None:
        return model.predict(X), None
    proba = aligned_probabilities(model, X, classes)
    return _label_array(classes)[proba.argmax(axis=1)], proba


def cross_validate(
    make_model: Callable[[int], Any],
    make_baseline: Callable[[int], Any],
    X: pd.DataFrame,
    y: pd.Series,
    config,
) -> CVResult:
    """Fit and score model and baseline on the same folds, with a progress line per fold. The factories
    take the number of training rows, which small tables need to size the model."""
    method, splits, grouped_by = make_splits(config, X, y)
    classes = class_labels(y) if config.is_classification else None
    positive = resolve_positive_class(config, y) if config.problem_type == "binary" else None
    names = METRICS[config.problem_type]
    model_scores: dict[str, list[float]] = {name: [] for name in names}
    baseline_scores: dict[str, list[float]] = {name: [] for name in names}
    oof_index, oof_pred, oof_proba = [], [], []
    result = CVResult(
        method, len(splits), model_scores, baseline_scores, classes, positive, splits, grouped_by, len(y)
    )
    say(f"… {method}")
    if positive is not None:
        say(f"  binary metrics are about {config.data.target} = {positive!r} (data.positive_class to change)")
    for fold, (train_index, test_index) in enumerate(splits, start=1):
        start = time.perf_counter()
        X_train, y_train = X.iloc[train_index], y.iloc[train_index]
        X_test, y_test = X.iloc[test_index], y.iloc[test_index]
        for scores, factory in ((model_scores, make_model), (baseline_scores, make_baseline)):
            fitted = factory(len(train_index)).fit(X_train, y_train)
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
        gate_metric = names[0]
        say(
            f"  fold {fold}/{len(splits)}: {gate_metric} model {number(model_scores[gate_metric][-1])}, "
            f"baseline {number(baseline_scores[gate_metric][-1])} ({result.fold_seconds[-1]:.1f} s)"
        )
    result.oof_index = np.concatenate(oof_index)
    result.oof_prediction = np.concatenate(oof_pred)
    result.oof_probability = np.concatenate(oof_proba) if oof_proba else None
    return result


def is_better(metric: str, candidate: float, reference: float) -> bool:
    return candidate < reference if metric in LOWER_IS_BETTER else candidate > reference


# ----------------------------------------------------------------------------------------------------------
# The quality gate and the warnings that do not fail it


def no_skill(metric: str, classes: list[Any] | None) -> float:
    """The gate metric's no-skill level (see NO_SKILL)."""
    return 1 / len(classes) if metric == "macro_f1" else NO_SKILL[metric]


def gate(result: CVResult, config: Config) -> dict[str, Any]:
    """The quality gate: the model's mean gate metric must be above the no-skill level and exceed the
    baseline's by `min_lift`. `reason` says in one line why it failed (None when it passed), `advice` what
    to try (on small tables)."""
    metric = METRICS[config.problem_type][0]
    model_value = result.summary("model")[metric]["mean"]
    baseline_value = result.summary("baseline")[metric]["mean"]
    lift = model_value - baseline_value
    level = no_skill(metric, result.classes)
    reason = None
    if not np.isfinite(lift):
        reason = f"{metric} could not be computed on the validation folds (a fold with a single class?)"
    elif model_value <= level:
        reason = (
            f"{metric} {number(model_value)} is not above {level:.3g} ({NO_SKILL_WORDS[metric]}; "
            f"the baseline scores {number(baseline_value)})"
        )
    elif lift < config.model.min_lift:
        reason = (
            f"{metric} {number(model_value)} vs baseline {number(baseline_value)} "
            f"(lift {number(lift, signed=True)}, required {number(config.model.min_lift, signed=True)})"
        )
    advice = None
    if reason and result.rows < SMALL_TABLE_ROWS:
        advice = (
            f"with only {count(result.rows, 'row')}, try model.family: linear, fewer folds "
            f"(model.cv_folds: {max(2, min(3, config.model.cv_folds - 1))}) or more data"
        )
    return {
        "metric": metric,
        "model": model_value,
        "baseline": baseline_value,
        "lift": lift,
        "min_lift": config.model.min_lift,
        "no_skill": level,
        "passed": reason is None,
        "reason": reason,
        "advice": advice,
    }


def cautions(result: CVResult, verdict: dict[str, Any], importance: list[dict[str, Any]]) -> list[dict]:
    """What a reader of the scores must know although the gate passed: a near-perfect score (a leak, often
    of several columns together, which the audit's one-column scan misses), a lift within the noise
    between folds, and scores from very few rows. Each is {"kind", "message"}."""
    metric, value = verdict["metric"], verdict["model"]
    label = GATE_LABELS[metric]
    spread = result.summary("model")[metric]["std"]
    top = ", ".join(row["feature"] for row in importance[:3]) or "none"
    found = []
    if np.isfinite(value) and value >= NEAR_PERFECT[metric]:
        found.append(
            (
                "near_perfect",
                f"{label} {number(value)} on held-out rows is near-perfect, which is rare on real data: "
                f"check that the most important features ({top}) are known before the outcome and are not "
                "computed from it, alone or together",
            )
        )
    if verdict["passed"] and np.isfinite(spread) and verdict["lift"] < spread:
        found.append(
            (
                "lift_within_noise",
                f"the lift over the baseline ({number(verdict['lift'], signed=True)}) is smaller than the "
                f"spread of {label} across folds (± {number(spread)}): the model's advantage may not hold on "
                "new data",
            )
        )
    if result.rows < SMALL_TABLE_ROWS:
        found.append(
            (
                "small_table",
                f"only {count(result.rows, 'row')} to learn from and to score on: the scores are rough "
                "estimates, and more data is the surest improvement",
            )
        )
    return [{"kind": kind, "message": message} for kind, message in found]


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
    scores: dict[str, list[float]] = {name: [] for name in METRICS[config.problem_type]}
    for _, test_index in cv.splits:
        X_test, y_test = X.iloc[test_index], y.iloc[test_index]
        prediction, proba = predict_with(model, X_test, cv.classes)
        for name, value in score(
            config.problem_type, y_test, prediction, proba, cv.classes, cv.positive
        ).items():
            scores[name].append(float(value))
    return {name: _mean_std(values) for name, values in scores.items()}
