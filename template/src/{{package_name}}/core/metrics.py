"""The metrics every stage speaks of, each defined once: its key in `models/metadata.json` and the
experiment log, its label as printed, what it means in a sentence a client follows, which direction is
better, and how it is computed from held-out predictions.

Training scores models with them, the quality gate compares one of them per problem type, the model card
and the weekly report print their labels and meanings, the per-group breakdown and the audit's leakage scan
read their labels and directions. scikit-learn is imported only when a score is computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Predictions:
    """One set of predictions on held-out rows, as the scorers take them: the true values, the predicted
    values (of the target's own type), for classification the probability of each class (columns in the
    order of `classes`), and for binary problems the class the metrics are about."""

    y_true: pd.Series
    prediction: np.ndarray
    proba: np.ndarray | None = None
    classes: list[Any] | None = None
    positive: Any = None

    @property
    def is_positive(self) -> np.ndarray:
        return (self.y_true == self.positive).to_numpy()

    @property
    def positive_proba(self) -> np.ndarray:
        return self.proba[:, self.classes.index(self.positive)]

    @property
    def both_classes(self) -> bool:
        """Whether the rows hold both the positive class and another: ranking metrics need both."""
        return bool(0 < self.is_positive.sum() < len(self.is_positive))


# The no-skill level of a metric on which guessing each class at its share of the rows scores 1 / classes.
ONE_PER_CLASS = "1 / classes"


@dataclass(frozen=True)
class Metric:
    """One metric. `no_skill` is the score of a model with no skill at all (ONE_PER_CLASS where it is
    1 / the number of classes), given for the metrics the quality gate and the leakage scan compare;
    `near_perfect` is a score that real data almost never allows, a sign of a leak."""

    name: str
    label: str
    meaning: str
    higher_is_better: bool
    scorer: Callable[[Predictions], float] | None = None
    phrase: str = ""  # the label inside a sentence, where it differs ("macro F1")
    sklearn_scoring: str | None = None  # the name scikit-learn's `scoring=` knows it by
    no_skill: float | str | None = None
    no_skill_words: str = ""
    near_perfect: float | None = None

    @property
    def in_sentence(self) -> str:
        return self.phrase or self.label

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    def is_better(self, candidate: float, reference: float) -> bool:
        return candidate > reference if self.higher_is_better else candidate < reference

    def gain(self, candidate: float, reference: float) -> float:
        """How much better `candidate` is than `reference`, in the metric's units (negative: worse)."""
        return candidate - reference if self.higher_is_better else reference - candidate

    def no_skill_level(self, classes: int | None) -> float | None:
        """The no-skill score, given the number of classes (None when it depends on them and they are
        not known yet, or when the metric has no such level)."""
        if self.no_skill == ONE_PER_CLASS:
            return 1 / classes if classes else None
        return self.no_skill

    def score(self, predictions: Predictions) -> float:
        if self.scorer is None:
            raise ValueError(f"metric {self.name!r} is computed group by group, not from predictions")
        return self.scorer(predictions)


# ----------------------------------------------------------------------------------------------------------
# Scorers, as the cross-validation computes them


def _roc_auc(p: Predictions) -> float:
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(p.is_positive, p.positive_proba) if p.both_classes else float("nan")


def _pr_auc(p: Predictions) -> float:
    from sklearn.metrics import average_precision_score

    return average_precision_score(p.is_positive, p.positive_proba) if p.both_classes else float("nan")


def _f1(p: Predictions) -> float:
    from sklearn.metrics import f1_score

    return f1_score(p.is_positive, p.positive_proba >= 0.5, zero_division=0)


def _brier(p: Predictions) -> float:
    from sklearn.metrics import brier_score_loss

    return brier_score_loss(p.is_positive, p.positive_proba)


def _macro_f1(p: Predictions) -> float:
    """Over the classes that occur (truly or predicted): a class absent from a validation period and
    rightly never predicted is no error, and would otherwise count as an F1 of zero."""
    from sklearn.metrics import f1_score

    present = [label for label in p.classes if label in set(p.y_true) | set(p.prediction)]
    return f1_score(p.y_true, p.prediction, average="macro", labels=present, zero_division=0)


def _accuracy(p: Predictions) -> float:
    from sklearn.metrics import accuracy_score

    return accuracy_score(p.y_true, p.prediction)


def _log_loss(p: Predictions) -> float:
    from sklearn.metrics import log_loss

    return log_loss(p.y_true, np.clip(p.proba, 1e-15, 1), labels=p.classes)


def _r2(p: Predictions) -> float:
    from sklearn.metrics import r2_score

    return r2_score(p.y_true, p.prediction)


def _rmse(p: Predictions) -> float:
    from sklearn.metrics import mean_squared_error

    return float(np.sqrt(mean_squared_error(p.y_true, p.prediction)))


def _mae(p: Predictions) -> float:
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(p.y_true, p.prediction)


# ----------------------------------------------------------------------------------------------------------
# The registry

_ALL = (
    Metric(
        "roc_auc",
        "ROC AUC",
        "how well the model puts real cases above the others; 0.5 is a coin toss, 1.0 is perfect.",
        higher_is_better=True,
        scorer=_roc_auc,
        sklearn_scoring="roc_auc",
        no_skill=0.5,
        no_skill_words="0.5 is a coin toss",
        near_perfect=0.99,
    ),
    Metric(
        "pr_auc",
        "PR AUC",
        "how clean the top of the model's list is; the baseline equals the share of real cases.",
        higher_is_better=True,
        scorer=_pr_auc,
    ),
    Metric(
        "f1",
        "F1 (threshold 0.5)",
        "balance between catching real cases and not raising false alarms, when flagging above 50%.",
        higher_is_better=True,
        scorer=_f1,
    ),
    Metric(
        "brier",
        "Brier score",
        "the average squared gap between the predicted chance and what happened; 0 is perfect.",
        higher_is_better=False,
        scorer=_brier,
    ),
    Metric(
        "macro_f1",
        "Macro F1",
        "how often the right class is named, averaged so that each class counts the same.",
        higher_is_better=True,
        scorer=_macro_f1,
        phrase="macro F1",
        sklearn_scoring="f1_macro",
        no_skill=ONE_PER_CLASS,
        no_skill_words="what guessing each class at its share of the rows scores",
        near_perfect=0.98,
    ),
    Metric(
        "accuracy",
        "Accuracy",
        "the share of cases where the predicted class is the right one.",
        higher_is_better=True,
        scorer=_accuracy,
    ),
    Metric(
        "log_loss",
        "Log loss",
        "how sure the model was of the right answer; confident mistakes cost the most.",
        higher_is_better=False,
        scorer=_log_loss,
    ),
    Metric(
        "r2",
        "R²",
        "the share of the ups and downs of the target the model accounts for: 1 is perfect, 0 is no better "
        "than always predicting the average, and below 0 is worse than that.",
        higher_is_better=True,
        scorer=_r2,
        sklearn_scoring="r2",
        no_skill=0.0,
        no_skill_words="below 0 is worse than always predicting the average",
        near_perfect=0.98,
    ),
    Metric(
        "rmse",
        "RMSE",
        "the typical size of an error, in the target's own units, with big misses weighing more.",
        higher_is_better=False,
        scorer=_rmse,
    ),
    Metric(
        "mae",
        "MAE",
        "the average size of an error, in the target's own units.",
        higher_is_better=False,
        scorer=_mae,
    ),
    # Scored elsewhere: the audit's leakage scan (through scikit-learn) and the per-group breakdown.
    Metric(
        "balanced_accuracy",
        "Balanced accuracy",
        "the share of right answers within each class, averaged so that each class counts the same.",
        higher_is_better=True,
        phrase="balanced accuracy",
        sklearn_scoring="balanced_accuracy",
        no_skill=ONE_PER_CLASS,
    ),
    Metric(
        "recall",
        "Recall",
        "the share of the real cases that the model flags.",
        higher_is_better=True,
    ),
)
METRICS: dict[str, Metric] = {metric.name: metric for metric in _ALL}

# The metrics reported per problem type, in the order of the model card's table. The first one is the
# one the quality gate compares (and a challenger must beat): all of them are "higher is better".
PROBLEM_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("roc_auc", "pr_auc", "f1", "brier"),
    "multiclass": ("macro_f1", "accuracy", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}


def reported(problem_type: str) -> tuple[Metric, ...]:
    """The problem type's metrics, the gate metric first."""
    return tuple(METRICS[name] for name in PROBLEM_METRICS[problem_type])


def gate_metric(problem_type: str) -> Metric:
    """The metric the quality gate compares for the problem type."""
    return METRICS[PROBLEM_METRICS[problem_type][0]]


def label(name: str) -> str:
    """A metric's label as printed; a name the registry does not know is printed as it is."""
    metric = METRICS.get(name)
    return metric.label if metric else name


def score_all(problem_type: str, predictions: Predictions) -> dict[str, float]:
    """The problem type's metrics for one set of predictions."""
    return {metric.name: metric.score(predictions) for metric in reported(problem_type)}
