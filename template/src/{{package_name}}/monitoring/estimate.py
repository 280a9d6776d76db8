"""Performance estimated before the outcomes arrive, from the probabilities the model logged (classifiers).

Confidence-based estimation: when the probabilities are calibrated (training calibrates them,
`model.calibration`), a row predicted at 0.8 is a real case 8 times in 10, so each row counts as a real
case with weight p and as another with weight 1 - p. Every metric then follows from expected counts
instead of observed ones:

- ROC AUC: the weighted share of (case, non-case) pairs ranked in the right order, each row standing in
  both roles; the pairs of a row with itself are taken out (they would pull the estimate towards 0.5);
- PR AUC: average precision of the same weighted rows;
- F1 at 0.5, accuracy, macro F1: the expected confusion matrix (per class, expected true positives are the
  probabilities of the class on the rows predicted as it, false negatives its probabilities elsewhere);
- Brier score, log loss: their expectation under the model's own probabilities.

It covers every prediction of a window, labelled or not, so it is ready the day the predictions are made.
What it cannot see: a change in how the features relate to the outcome (concept drift) keeps the
probabilities as they were while reality moves; only realized performance shows that. Regression has no
probabilities, so no estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# What the estimate covers, per problem type (the problem type's reported metrics).
ESTIMATED = {
    "binary": ("roc_auc", "pr_auc", "f1", "brier"),
    "multiclass": ("macro_f1", "accuracy", "log_loss"),
}
_TINY = 1e-15


def estimate(
    problem_type: str, probabilities: np.ndarray | None, classes: list[str], positive: Any = None
) -> dict[str, float] | None:
    """The estimated metrics of the rows (rows × classes, in the order of `classes`), or None when there
    is nothing to estimate from (regression, no row with probabilities)."""
    if problem_type not in ESTIMATED or probabilities is None:
        return None
    rows = probabilities[~np.isnan(probabilities).any(axis=1)]
    if not len(rows):
        return None
    if problem_type == "binary":
        return binary_estimate(rows[:, classes.index(str(positive))])
    return multiclass_estimate(rows)


def binary_estimate(p: np.ndarray) -> dict[str, float]:
    """The binary metrics expected from the positive class's probabilities."""
    flagged = p >= 0.5
    true_pos, false_pos, false_neg = p[flagged].sum(), (1 - p[flagged]).sum(), p[~flagged].sum()
    return {
        "roc_auc": expected_roc_auc(p),
        "pr_auc": expected_average_precision(p),
        "f1": _f1(true_pos, false_pos, false_neg),
        "brier": float(np.mean(p * (1 - p))),
    }


def expected_roc_auc(p: np.ndarray) -> float:
    """The ROC AUC with every row a case of weight p and a non-case of weight 1 - p, self-pairs left out."""
    from sklearn.metrics import roc_auc_score

    cases, others = p.sum(), (1 - p).sum()
    pairs = cases * others
    self_pairs = float(np.sum(p * (1 - p)))
    if pairs - self_pairs <= 0:
        return float("nan")
    scores = np.concatenate([p, p])
    truth = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    weighted = roc_auc_score(truth, scores, sample_weight=np.concatenate([p, 1 - p]))
    # roc_auc_score counts a row against itself as a tie (half a right order): take those pairs out.
    return float((weighted * pairs - 0.5 * self_pairs) / (pairs - self_pairs))


def expected_average_precision(p: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    if p.sum() <= 0:
        return float("nan")
    truth = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    return float(
        average_precision_score(truth, np.concatenate([p, p]), sample_weight=np.concatenate([p, 1 - p]))
    )


def multiclass_estimate(probabilities: np.ndarray) -> dict[str, float]:
    """The multiclass metrics expected from the class probabilities; the predicted class is the most
    probable one, as the model answers."""
    predicted = probabilities.argmax(axis=1)
    chosen = probabilities[np.arange(len(predicted)), predicted]
    scores = []
    for k in range(probabilities.shape[1]):
        mine = predicted == k
        true_pos = probabilities[mine, k].sum()
        false_pos = (1 - probabilities[mine, k]).sum()
        false_neg = probabilities[~mine, k].sum()
        # Like the realized macro F1: over the classes that occur (predicted, or expected at least once).
        if mine.any() or true_pos + false_neg >= 1:
            scores.append(_f1(true_pos, false_pos, false_neg))
    clipped = np.clip(probabilities, _TINY, 1)
    return {
        "macro_f1": float(np.mean(scores)),
        "accuracy": float(chosen.mean()),
        "log_loss": float(np.mean(-(probabilities * np.log(clipped)).sum(axis=1))),
    }


def _f1(true_pos: float, false_pos: float, false_neg: float) -> float:
    denominator = 2 * true_pos + false_pos + false_neg
    return float(2 * true_pos / denominator) if denominator > 0 else 0.0
