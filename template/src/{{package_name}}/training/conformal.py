"""Conformal prediction: an interval (regression) or a set of classes (classification) beside each prediction,
which holds the true value with a chosen probability, the coverage (`uncertainty.coverage`, 0.9 by default).

How: each out-of-fold prediction of `train` gets a nonconformity score, how far the truth was from it (the
absolute error; 1 minus the calibrated probability of the true class). With n scores, the threshold for
coverage c is the ceil((n + 1) c)-th smallest. A new prediction's interval is every value within the
threshold of it; its set is every class whose score would be within the threshold (probability at least
1 - threshold), most probable first. On data exchangeable with the training rows, the share of true values
inside is then at least c (split conformal prediction, with the out-of-fold rows as calibration rows; the
shipped model, fitted on every row, is at least as accurate as the fold models the scores come from).

A set may be empty: that happens only when the model is right more often than the coverage asked for, on
the rows it is least sure of. Asking for a higher coverage gives those rows a class.

- `fit_uncertainty` (train): the scores kept in metadata.json as plain numbers, and the coverage and size
  measured on rows the threshold was not taken from (cross-fitted), overall and per sensitive group.
- `threshold`, `intervals`, `prediction_sets` (serving): the one place the threshold is read and applied, so
  the API, batch files and Spark give identical intervals and sets.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..artifacts.output_maps import Uncertainty
from ..core.config import Config
from ..core.errors import UserError
from .groups import MIN_GROUP_ROWS, group_labels

if TYPE_CHECKING:  # serving imports this module: it must not pull in the training code (scikit-learn)
    from .evaluate import CVResult

MAX_KEPT_SCORES = 2000  # more out-of-fold rows: the scores at this many evenly spread ranks are kept
MIN_ROWS = 20  # fewer scored out-of-fold rows: no intervals or sets (a 90% threshold needs at least 9)
MEASURE_FOLDS = 5  # cross-fitting of the measured coverage: thresholds from 4/5 of the rows, used on 1/5
MEASURED_LEVELS = (0.5, 0.8, 0.9, 0.95)  # measured beside uncertainty.coverage, for the model card
# A share of rows tied at the threshold's score beyond which the output and the card say why the coverage
# measured is above the level asked.
TIES_WORTH_SAYING = 0.02
# A sensitive group with enough rows whose measured coverage is this far below the level, and further than
# chance would put a share of its rows, is named.
SHORTFALL = 0.05
SCORES = {
    "interval": "absolute error of the out-of-fold prediction",
    "set": "1 minus the calibrated out-of-fold probability of the true class",
}
_ROUNDING = 1e-9  # (n + 1) * 0.9 may come out as 90.00000000000001: not a reason to need one more row


class CoverageError(ValueError):
    """A coverage level the model cannot answer: the message says why and what it can answer."""


def fit_uncertainty(cv: CVResult, target: pd.Series, frame: pd.DataFrame, config: Config) -> Uncertainty:
    """The conformal scores of the out-of-fold predictions in `cv` (calibrated probabilities, as live scoring
    answers them), and their measured coverage, overall and per `data.sensitive_columns` group."""
    settings = config.uncertainty
    if not settings.enabled:
        return Uncertainty(reason="uncertainty is off in configs/project.yaml")
    kind = "set" if cv.classes is not None else "interval"
    actual = target.iloc[cv.oof_index]
    scores = nonconformity(kind, actual, cv.oof_prediction, cv.oof_probability, cv.classes)
    finite = np.isfinite(scores)
    if finite.sum() < MIN_ROWS:
        scored = int(finite.sum())
        return Uncertainty(reason=f"{scored} out-of-fold predictions could be scored; {MIN_ROWS} are needed")
    scores = scores[finite]
    if needed_rank(len(scores), settings.coverage) > len(scores):
        return Uncertainty(
            reason=f"uncertainty.coverage {settings.coverage:g} needs more than the {len(scores):,} "
            f"out-of-fold rows; at most {highest_coverage(len(scores)):g} can be answered: lower it"
        )
    ranks, kept = _kept(np.sort(scores))
    probability = cv.oof_probability[finite] if kind == "set" else None
    rows = np.asarray(cv.oof_index)[finite]
    groups = {
        column: group_labels(frame[column]).iloc[rows].to_numpy() for column in config.data.sensitive_columns
    }
    levels = sorted({*MEASURED_LEVELS, settings.coverage})
    return Uncertainty(
        kind=kind,
        score=SCORES[kind],
        coverage=settings.coverage,
        rows=len(scores),
        ranks=ranks,
        scores=kept,
        measured=_measure(scores, probability, levels, settings.coverage, groups, config.model.random_state),
    )


def measured_level(uncertainty: Uncertainty, coverage: float) -> dict[str, Any] | None:
    """What `measured` says of `coverage` (None: not measured, too few rows)."""
    levels = uncertainty.measured.get("levels", ())
    return next((item for item in levels if item["coverage"] == coverage), None)


def nonconformity(
    kind: str, actual: pd.Series, prediction: np.ndarray, probability: np.ndarray | None, classes: Any
) -> np.ndarray:
    """Per row, how far the truth is from the prediction: the absolute error, or 1 minus the probability
    given to the true class (NaN where that cannot be said)."""
    if kind == "interval":
        return np.abs(pd.to_numeric(actual, errors="coerce").to_numpy(float) - np.asarray(prediction, float))
    columns = pd.Index(classes).get_indexer(actual.tolist())
    out = np.full(len(columns), np.nan)
    known = columns >= 0
    out[known] = 1.0 - np.asarray(probability)[np.flatnonzero(known), columns[known]]
    return out


def _kept(ordered: np.ndarray) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The (ranks, scores) kept of the sorted scores: all of them, or evenly spread ranks ending at n."""
    n = len(ordered)
    if n <= MAX_KEPT_SCORES:
        ranks = np.arange(1, n + 1)
    else:
        ranks = np.unique(np.ceil(np.arange(1, MAX_KEPT_SCORES + 1) * n / MAX_KEPT_SCORES).astype(int))
    return tuple(int(rank) for rank in ranks), tuple(float(score) for score in ordered[ranks - 1])


def needed_rank(rows: int, coverage: float) -> int:
    """The rank of the threshold among `rows` sorted scores for `coverage`: ceil((rows + 1) * coverage)."""
    return math.ceil((rows + 1) * coverage - _ROUNDING)


def highest_coverage(rows: int) -> float:
    """The highest coverage `rows` scores can answer (rows / (rows + 1)), rounded down to 0.001."""
    return math.floor(rows / (rows + 1) * 1000) / 1000


def threshold(uncertainty: Uncertainty, coverage: float) -> float:
    """The score threshold for `coverage`; CoverageError when it is not strictly between 0 and 1 or needs
    more calibration rows than the model had. With kept ranks, the smallest kept rank at or above the one
    needed (never less coverage than asked)."""
    if not uncertainty.enabled:
        raise CoverageError(f"this model has no prediction intervals or sets: {uncertainty.reason}")
    if isinstance(coverage, bool) or not isinstance(coverage, int | float) or not 0 < coverage < 1:
        raise CoverageError(f"{coverage!r} is not a coverage: expected a number strictly between 0 and 1")
    rows = uncertainty.rows
    rank = needed_rank(rows, coverage)
    if rank > rows:
        needed = math.ceil(coverage / (1 - coverage) - _ROUNDING)
        raise CoverageError(
            f"coverage {coverage:g} needs at least {needed:,} calibration rows and this model had {rows:,}: "
            f"ask for at most {highest_coverage(rows):g}"
        )
    index = int(np.searchsorted(np.asarray(uncertainty.ranks), rank, side="left"))
    return uncertainty.scores[index]


def check_coverage(config: Config, uncertainty: Uncertainty, asked: bool) -> None:
    """Before a batch run reads its file: the coverage of its intervals or sets (uncertainty.coverage, or
    `predict --coverage`, `asked`) must be one the model can answer. Without intervals (uncertainty off, a
    model without conformal scores) only an explicit --coverage is an error."""
    if asked and not config.uncertainty.enabled:
        raise UserError(
            "--coverage: uncertainty is off in configs/project.yaml, so there are no intervals or sets"
        )
    if not config.uncertainty.enabled or not (uncertainty.enabled or asked):
        return
    try:
        threshold(uncertainty, config.uncertainty.coverage)
    except CoverageError as error:
        where = "--coverage" if asked else "uncertainty.coverage"
        raise UserError(f"{where}: {error}") from None


class Levels:
    """The thresholds of one model's scores, each worked out once per coverage level asked (serving asks
    the same few levels again and again)."""

    MAX_CACHED = 64  # distinct levels remembered; more (a client trying every level) are computed each time

    def __init__(self, uncertainty: Uncertainty) -> None:
        self.uncertainty = uncertainty
        self._limits: dict[float, float] = {}

    def limit(self, coverage: float) -> float:
        """`threshold` for `coverage`, remembered; CoverageError as `threshold` raises it."""
        limit = self._limits.get(coverage)
        if limit is None:
            limit = threshold(self.uncertainty, coverage)
            if len(self._limits) < self.MAX_CACHED:
                self._limits[coverage] = limit
        return limit


def intervals(predictions: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """The (low, high) bounds of each prediction's interval: every value within `limit` of it."""
    values = np.asarray(predictions, dtype=float)
    return values - limit, values + limit


def prediction_sets(probabilities: np.ndarray, labels: list[Any], limit: float) -> list[list[Any]]:
    """Per row, the classes whose probability is at least 1 - `limit` (their score within it), most
    probable first (ties in class order)."""
    proba = np.asarray(probabilities, dtype=float)
    inside = (1.0 - proba) <= limit
    order = np.argsort(-proba, axis=1, kind="stable")
    return [
        [labels[column] for column in row if keep[column]] for row, keep in zip(order, inside, strict=True)
    ]


# Measured coverage ------------------------------------------------------------------------------------------


def _measure(
    scores: np.ndarray,
    probability: np.ndarray | None,
    levels: list[float],
    coverage: float,
    groups: dict[str, np.ndarray],
    seed: int,
) -> dict[str, Any]:
    """Coverage and size per level, each row's threshold taken from the other parts' scores; per sensitive
    group at `coverage`."""
    parts = np.random.default_rng(seed).permutation(len(scores)) % MEASURE_FOLDS
    measured: dict[str, Any] = {"folds": MEASURE_FOLDS, "rows": len(scores), "levels": [], "groups": {}}
    for level in levels:
        outcome = _cross_fitted(scores, probability, parts, level)
        if outcome is None:
            continue
        covered, size, tied = outcome
        summary = _summary(covered, size, probability is not None)
        measured["levels"].append({"coverage": level, **summary, "at_threshold": float(tied.mean())})
        if level == coverage:
            measured["groups"] = {
                column: _per_group(labels, covered, size, level, probability is not None)
                for column, labels in groups.items()
            }
    return measured


def _cross_fitted(
    scores: np.ndarray, probability: np.ndarray | None, parts: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per row: inside its interval or set, the interval's width or the set's size, and whether its score
    equals the threshold (ties: a model that gives many rows the very same output); None when a part's
    calibration rows are too few for `level`."""
    covered = np.zeros(len(scores), dtype=bool)
    tied = np.zeros(len(scores), dtype=bool)
    size = np.zeros(len(scores))
    for part in range(MEASURE_FOLDS):
        held = parts == part
        calibration = np.sort(scores[~held])
        rank = needed_rank(len(calibration), level)
        if rank > len(calibration):
            return None
        limit = calibration[rank - 1]
        covered[held] = scores[held] <= limit
        tied[held] = scores[held] == limit
        size[held] = 2 * limit if probability is None else ((1.0 - probability[held]) <= limit).sum(axis=1)
    return covered, size, tied


def _summary(covered: np.ndarray, size: np.ndarray, sets: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"measured": float(covered.mean())}
    if sets:
        out["mean_set_size"] = float(size.mean())
        out["empty_sets"] = float((size == 0).mean())
    else:
        out["mean_width"] = float(size.mean())
    return out


def _per_group(labels: np.ndarray, covered: np.ndarray, size: np.ndarray, level: float, sets: bool) -> list:
    """Per group, largest first: rows, the measured coverage and size, and whether it falls short."""
    out = []
    for group in pd.Series(labels).value_counts().index:
        mask = labels == group
        rows = int(mask.sum())
        summary = _summary(covered[mask], size[mask], sets)
        enough = rows >= MIN_GROUP_ROWS
        chance = 2 * math.sqrt(level * (1 - level) / rows)  # two standard errors of a share of `rows`
        short = enough and summary["measured"] < level - max(SHORTFALL, chance)
        out.append(
            {"group": str(group), "rows": rows, "enough_rows": enough, **summary, "short": bool(short)}
        )
    return out
