"""Probability calibration: a map from the model's probabilities to probabilities that mean what they say
(of the cases given "70%", about 70% turn out positive), fitted on the out-of-fold probabilities that
cross-validation already computed, so no model is refitted.

- `fit_calibration`: measures the out-of-fold probabilities, chooses the method and fits its map.
  `model.calibration: auto` compares none, sigmoid and isotonic by a cross-fitted Brier score (each map
  fitted on part of the out-of-fold rows and scored on the rest, `CALIBRATION_FOLDS` folds seeded by
  `model.random_state`) and calibrates only when the best map lowers the Brier score by at least
  `MIN_BRIER_GAIN`; sigmoid or isotonic force that method; none leaves the probabilities alone.
- `apply_calibration` and `predicted_columns`: the one place a map is applied and the label it implies, used
  by `train` on the out-of-fold rows and by `serving.scoring` on every probability it returns.

Binary: one map on the positive class's probability (the other class gets the rest). Multiclass: one map
per class (one-vs-rest), then each row renormalised to sum to 1. A map is plain numbers (sigmoid: slope and
intercept on the log-odds; isotonic: breakpoints read with `np.interp`), stored in metadata.json: loading a
model never unpickles a calibrator.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts.output_maps import Calibration, CalibrationMap
from ..core.config import Config
from ..core.wording import plain
from .classes import label_array
from .evaluate import CVResult

METHODS = ("sigmoid", "isotonic")
CALIBRATION_FOLDS = 5
# auto calibrates when the best map lowers the cross-fitted Brier score (measured on rows the map was not
# fitted on, so a map that only fits noise scores worse than none). Below this share the gain is taken as
# none. Small gains matter: the performance estimated before outcomes arrive reads the probabilities as
# they are, and on the 3-class sample a map that lowered the Brier score by under 1% cut that estimate's
# error from 0.05 to 0.01 (`make bench-estimate`).
MIN_BRIER_GAIN = 0.001
MIN_ROWS = 50  # fewer out-of-fold rows than this: auto does not calibrate (too few to fit a map)
ECE_BINS = 10  # equal-width probability bins for the expected calibration error and the reliability plot
EPSILON = 1e-6  # probabilities are clipped to [EPSILON, 1 - EPSILON] before taking their log-odds


def fit_calibration(cv: CVResult, target: pd.Series, config: Config) -> Calibration:
    """The calibration of a cross-validated classifier, from its out-of-fold probabilities (regression: none,
    not applicable)."""
    if cv.classes is None or cv.oof_probability is None:
        return Calibration(reason="calibration applies to predicted probabilities, not to a number")
    proba = np.asarray(cv.oof_probability, dtype="float64")
    onehot = _onehot(target.iloc[cv.oof_index], cv.classes)
    positive = cv.classes.index(cv.positive) if cv.positive is not None else None
    mode = config.model.calibration
    candidates: dict[str, float] = {"none": brier_score(proba, onehot, positive)}
    crossfitted = {"none": proba}
    if mode != "none":
        folds = _folds(onehot.argmax(axis=1), config.model.random_state)
        for method in METHODS if mode == "auto" else (mode,):
            crossfitted[method] = _cross_fitted(method, proba, onehot, cv.classes, positive, folds)
            candidates[method] = brier_score(crossfitted[method], onehot, positive)
    method, chosen_by, reason = _choose(mode, candidates, len(proba))
    maps = _fit_maps(method, proba, onehot, cv.classes, positive) if method != "none" else ()
    after = crossfitted[method]
    return Calibration(
        method=method,
        chosen_by=chosen_by,
        reason=reason,
        brier_before=candidates["none"],
        brier_after=candidates[method],
        ece_before=expected_calibration_error(proba, onehot, positive),
        ece_after=expected_calibration_error(after, onehot, positive),
        measured_on=_measured_on(cv),
        candidates={name: round(value, 6) for name, value in candidates.items()},
        reliability={
            "before": reliability_bins(proba, onehot, positive),
            "after": reliability_bins(after, onehot, positive),
        },
        maps=maps,
    )


def calibrated_cv(cv: CVResult, calibration: Calibration) -> CVResult:
    """`cv` with its out-of-fold probabilities calibrated and the labels they imply, i.e. what live scoring
    answers for those rows. Fold scores stay those of the folds."""
    if calibration.method == "none" or cv.oof_probability is None:
        return cv
    labels, proba = calibrated_answers(calibration, cv.oof_probability, cv.classes)
    return replace(cv, oof_probability=proba, oof_prediction=labels)


def calibrated_answers(
    calibration: Calibration, probabilities: np.ndarray, classes: list[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, calibrated probabilities) of the model's probabilities (columns in the order of `classes`):
    what serving answers, labels of the target's own type (`classes.label_array`)."""
    calibrated = apply_calibration(calibration, probabilities, classes)
    return label_array(classes)[predicted_columns(calibration, calibrated, classes)], calibrated


def apply_calibration(calibration: Calibration, probabilities: np.ndarray, classes: list[Any]) -> np.ndarray:
    """The calibrated probabilities (rows × `classes`, columns in the order of `classes`). Without a map the
    input is returned unchanged."""
    if calibration.method == "none" or not calibration.maps:
        return probabilities
    proba = np.asarray(probabilities, dtype="float64")
    columns = [_column(classes, item.label) for item in calibration.maps]
    if len(classes) == 2 and len(columns) == 1:
        mapped = _apply_map(calibration.method, calibration.maps[0], proba[:, columns[0]])
        out = np.empty_like(proba)
        out[:, columns[0]], out[:, 1 - columns[0]] = mapped, 1.0 - mapped
        return out
    out = proba.copy()
    for column, item in zip(columns, calibration.maps, strict=True):
        out[:, column] = _apply_map(calibration.method, item, proba[:, column])
    totals = out.sum(axis=1, keepdims=True)
    empty = totals[:, 0] <= 0  # every class mapped to 0: keep the model's own row
    out[empty], totals[empty] = proba[empty], 1.0
    return out / totals


def predicted_columns(calibration: Calibration, probabilities: np.ndarray, classes: list[Any]) -> np.ndarray:
    """The column of the predicted class per row: the most probable one; for a calibrated binary model, the
    positive class when its calibrated probability is at least 0.5. Without a map, the model's own answer."""
    if calibration.method != "none" and len(classes) == 2 and len(calibration.maps) == 1:
        positive = _column(classes, calibration.maps[0].label)
        return np.where(probabilities[:, positive] >= 0.5, positive, 1 - positive)
    return np.asarray(probabilities).argmax(axis=1)


# Measures ---------------------------------------------------------------------------------------------------


def brier_score(proba: np.ndarray, onehot: np.ndarray, positive: int | None) -> float:
    """Binary: mean squared gap between the positive class's probability and the outcome (0 best, 0.25 for
    always 50%). Multiclass: the same summed over classes (0 best, up to 2)."""
    if positive is not None:
        return float(np.mean((proba[:, positive] - onehot[:, positive]) ** 2))
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def reliability_bins(proba: np.ndarray, onehot: np.ndarray, positive: int | None) -> list[dict[str, float]]:
    """Per non-empty bin of `ECE_BINS` equal-width probability bins: its bounds, rows, mean probability and
    observed frequency. Binary: the positive class's probability; multiclass: the predicted class's."""
    confidence, hit = _confidence(proba, onehot, positive)
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    which = _bin_of(confidence)
    bins = []
    for index in range(ECE_BINS):
        inside = which == index
        if inside.any():
            bins.append(
                {
                    "low": round(float(edges[index]), 2),
                    "high": round(float(edges[index + 1]), 2),
                    "rows": int(inside.sum()),
                    "mean_probability": round(float(confidence[inside].mean()), 6),
                    "observed": round(float(hit[inside].mean()), 6),
                }
            )
    return bins


def expected_calibration_error(proba: np.ndarray, onehot: np.ndarray, positive: int | None) -> float:
    """Row-weighted mean gap between mean probability and observed frequency over the `ECE_BINS` bins."""
    confidence, hit = _confidence(proba, onehot, positive)
    which = _bin_of(confidence)
    rows = np.bincount(which, minlength=ECE_BINS)
    gaps = np.abs(np.bincount(which, confidence - hit, minlength=ECE_BINS))
    return float(gaps.sum() / rows.sum())


def _bin_of(confidence: np.ndarray) -> np.ndarray:
    """Bin index of each probability: [0, 0.1], (0.1, 0.2], ..., (0.9, 1]."""
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    return np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, ECE_BINS - 1)


def _confidence(proba: np.ndarray, onehot: np.ndarray, positive: int | None) -> tuple[np.ndarray, np.ndarray]:
    if positive is not None:
        return proba[:, positive], onehot[:, positive]
    predicted = proba.argmax(axis=1)
    rows = np.arange(len(proba))
    return proba[rows, predicted], onehot[rows, predicted]


def _measured_on(cv: CVResult) -> str:
    if cv.positive is not None:
        where = f"the probability of {cv.positive!r}"
    else:
        where = "the predicted class's probability (top-label); Brier summed over classes"
    return f"out-of-fold rows; {where}; ECE over {ECE_BINS} equal-width bins"


# Choosing and fitting ---------------------------------------------------------------------------------------


def _choose(mode: str, candidates: dict[str, float], rows: int) -> tuple[str, str, str]:
    """(method, chosen_by, reason) from the setting and the cross-fitted Brier score per method."""
    if mode != "auto":
        return mode, "forced", f"model.calibration is {mode}"
    if rows < MIN_ROWS:
        return "none", "auto", f"{rows} out-of-fold rows are too few to fit a map (at least {MIN_ROWS})"
    best = min(METHODS, key=lambda method: candidates[method])
    before = candidates["none"]
    gain = 1.0 - candidates[best] / before if before > 0 else 0.0
    if gain >= MIN_BRIER_GAIN:
        needed = f"at least {MIN_BRIER_GAIN:.1%} needed"
        return best, "auto", f"{best} lowered the cross-fitted Brier score by {gain:.1%} ({needed})"
    change = f"{gain:.2%} lower" if gain >= 0 else f"{-gain:.2%} higher"
    return (
        "none",
        "auto",
        f"no map lowered the cross-fitted Brier score by {MIN_BRIER_GAIN:.1%} or more (best: {best}, "
        f"{change}), so the probabilities are served as the model gives them",
    )


def _cross_fitted(
    method: str, proba: np.ndarray, onehot: np.ndarray, classes: list[Any], positive: int | None, folds
) -> np.ndarray:
    """Each row calibrated by a map fitted on the other folds' rows: an honest measure of the map's effect."""
    out = np.empty_like(proba)
    for fit_rows, score_rows in folds:
        calibration = Calibration(
            method=method, maps=_fit_maps(method, proba[fit_rows], onehot[fit_rows], classes, positive)
        )
        out[score_rows] = apply_calibration(calibration, proba[score_rows], classes)
    return out


def _folds(labels: np.ndarray, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds over the out-of-fold rows, stratified by class when every class has a row in each fold."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(labels)
    folds = max(2, min(CALIBRATION_FOLDS, len(labels) // 2))
    if counts[counts > 0].min() >= folds:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    else:
        splitter = KFold(folds, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(labels)), labels))


def _fit_maps(
    method: str, proba: np.ndarray, onehot: np.ndarray, classes: list[Any], positive: int | None
) -> tuple[CalibrationMap, ...]:
    """One map per calibrated column: the positive class (binary) or every class (multiclass)."""
    columns = [positive] if positive is not None else range(len(classes))
    fit = _fit_sigmoid if method == "sigmoid" else _fit_isotonic
    return tuple(fit(plain(classes[column]), proba[:, column], onehot[:, column]) for column in columns)


def _fit_sigmoid(label: Any, p: np.ndarray, outcome: np.ndarray) -> CalibrationMap:
    """Platt scaling on the log-odds: slope and intercept minimising the log loss against Platt's smoothed
    targets (which keep the map finite when a fold has few positives), by damped Newton steps."""
    positives = float(outcome.sum())
    negatives = len(outcome) - positives
    target = np.where(outcome > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    X = np.column_stack([_logit(p), np.ones(len(p))])
    weights = np.array([1.0, 0.0])  # the identity map
    loss = _log_loss(X @ weights, target)
    for _ in range(50):
        fitted = _expit(X @ weights)
        gradient = X.T @ (fitted - target)
        hessian = (X * (fitted * (1 - fitted))[:, None]).T @ X + 1e-9 * np.eye(2)
        direction = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-4:
            trial = weights - scale * direction
            trial_loss = _log_loss(X @ trial, target)
            if trial_loss <= loss:
                break
            scale /= 2
        else:
            break
        weights, improvement, loss = trial, loss - trial_loss, trial_loss
        if improvement <= 1e-12 * len(p):
            break
    return CalibrationMap(label, slope=float(weights[0]), intercept=float(weights[1]))


def _fit_isotonic(label: Any, p: np.ndarray, outcome: np.ndarray) -> CalibrationMap:
    """The non-decreasing step-wise map that fits the outcomes best, as its breakpoints."""
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, outcome)
    return CalibrationMap(
        label, x=tuple(map(float, fitted.X_thresholds_)), y=tuple(map(float, fitted.y_thresholds_))
    )


def _apply_map(method: str, item: CalibrationMap, p: np.ndarray) -> np.ndarray:
    if method == "sigmoid":
        return _expit(item.slope * _logit(p) + item.intercept)
    return np.interp(p, item.x, item.y)


def _column(classes: list[Any], label: Any) -> int:
    """The column of a map's class, matched as text (a JSON label 1 is the model's class 1 or "1")."""
    names = [str(plain(value)) for value in classes]
    return names.index(str(label))


def _onehot(actual: pd.Series, classes: list[Any]) -> np.ndarray:
    """One column per class, 1.0 where the row is of that class. Each distinct value is compared once
    (a million out-of-fold rows hold a handful of them); a missing value matches no class."""
    codes, uniques = pd.factorize(actual, use_na_sentinel=True)
    table = np.array([[plain(value) == label for label in classes] for value in uniques], dtype="float64")
    out = np.zeros((len(codes), len(classes)))
    known = codes >= 0
    out[known] = table.reshape(-1, len(classes))[codes[known]]
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(clipped) - np.log1p(-clipped)


def _expit(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # 1 / (1 + exp(-z)) without overflow


def _log_loss(scores: np.ndarray, target: np.ndarray) -> float:
    return float(np.sum(np.logaddexp(0.0, scores) - target * scores))
