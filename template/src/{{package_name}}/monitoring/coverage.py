"""Realized coverage: how often the intervals (regression) or prediction sets (classification) answered with
the predictions held the outcome that came back, against the coverage they were answered at.

Which lines count: labelled predictions whose log line carries a coverage level with an interval or a set.
Lines without one (logged before uncertainty existed, or with `uncertainty: off`) are left out of these
numbers, never counted as misses. An interval holds the outcome when low <= actual <= high; a set when
the outcome is one of its classes, compared as text as the rest of `performance` compares labels.

Mixed levels (a request may ask `?coverage=0.8`): each line is judged at its own level. The target is the
row-weighted mean level, which is what the covered share should reach; `by_level` breaks it down.

Below target: the covered count is lower than chance allows with probability `ALARM_P`, on at least
`monitoring.min_labelled_rows` lines. Chance is not binomial(lines, level): the threshold itself comes
from the model's n out-of-fold scores (`training.conformal`), so on exchangeable data the coverage the
intervals really have varies from model to model as Beta(k, n + 1 - k), k the threshold's rank, and the
covered count of m lines is beta-binomial. With many live lines and a small training table that spread
dominates, and a binomial check would raise false alarms. The check draws the thresholds' coverages
jointly (the same scores give every level's threshold) and the covered counts beside them, with a fixed
seed: the p-value is exact up to `DRAWS` draws and repeatable. It uses the current model's scores for
every line of the window (lines of an earlier model version are judged as if answered by this one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts.output_maps import Uncertainty
from ..training.conformal import needed_rank
from .joined import HIGH, LEVEL, LOW, SET

ALARM_P = 0.01  # below target when chance gives so few covered outcomes with at most this probability
DRAWS = 20_000  # draws of the null distribution: the p-value's own error is below 0.001 near ALARM_P
SEED = 0


@dataclass(frozen=True)
class CoverageCheck:
    """Judges labelled predictions' intervals or sets: `answers` is `Joined.answers` (one row per
    prediction of the window), `calibration` the current model's conformal scores."""

    sets: bool  # classification: sets of classes; regression: intervals
    answers: pd.DataFrame
    calibration: Uncertainty
    min_rows: int

    def summary(self, positions: np.ndarray, actual: pd.Series) -> dict[str, Any] | None:
        """The coverage of the labelled predictions at `positions` (into the window's predictions) with
        outcomes `actual`: lines with an answer, covered share, target, size, p-value, verdict; None when
        no line among them carries an answer."""
        answers = self.answers.iloc[np.asarray(positions, dtype=np.int64)].reset_index(drop=True)
        actual = pd.Series(actual).reset_index(drop=True)
        answered = self._answered(answers)
        if not answered.any():
            return None
        answers, actual = answers[answered].reset_index(drop=True), actual[answered].reset_index(drop=True)
        covered, size = self._covered(answers, actual)
        levels = answers[LEVEL].to_numpy(float)
        out = _judged(levels, covered, self._ranks(levels), self.calibration.rows, self.min_rows)
        out.update(_size(size, self.sets))
        out["by_level"] = [
            {"level": float(level), **_judged(levels[levels == level], covered[levels == level])}
            | _size(size[levels == level], self.sets)
            for level in np.unique(levels)
        ]
        return out

    def _answered(self, answers: pd.DataFrame) -> np.ndarray:
        has_level = answers[LEVEL].notna().to_numpy()
        if self.sets:
            return has_level & answers[SET].map(lambda value: isinstance(value, list)).to_numpy(bool)
        return has_level & answers[LOW].notna().to_numpy() & answers[HIGH].notna().to_numpy()

    def _covered(self, answers: pd.DataFrame, actual: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Per line: whether its answer holds the outcome, and the interval's width or the set's size."""
        if self.sets:
            classes = answers[SET].map(lambda labels: {str(label) for label in labels})
            truth = actual.map(str)
            covered = np.array([label in held for label, held in zip(truth, classes, strict=True)], bool)
            return covered, classes.map(len).to_numpy(float)
        low, high = answers[LOW].to_numpy(float), answers[HIGH].to_numpy(float)
        value = pd.to_numeric(actual, errors="coerce").to_numpy(float)
        return (low <= value) & (value <= high), high - low

    def _ranks(self, levels: np.ndarray) -> dict[float, int] | None:
        """The threshold's rank among the model's `rows` scores per level, as `conformal.threshold` picks
        it (None: unknown, chance is then binomial)."""
        if not self.calibration.enabled or not self.calibration.rows:
            return None
        rows = self.calibration.rows
        kept = np.asarray(self.calibration.ranks or range(1, rows + 1))
        ranks = {}
        for level in np.unique(levels).tolist():
            rank = needed_rank(rows, level)
            if rank > rows:
                return None  # a level this model cannot answer: its lines came from another model
            ranks[level] = int(kept[np.searchsorted(kept, rank, side="left")])
        return ranks


def _judged(
    levels: np.ndarray,
    covered: np.ndarray,
    ranks: dict[float, int] | None = None,
    rows: int = 0,
    min_rows: int = 0,
) -> dict[str, Any]:
    """Count, covered share against the row-weighted target; with `min_rows`, the p-value and verdict."""
    lines = len(levels)
    out: dict[str, Any] = {
        "lines": lines,
        "covered": int(covered.sum()),
        "covered_share": float(covered.mean()),
        "target": round(float(levels.mean()), 12),  # 0.8, not 0.7999999999999998
    }
    if min_rows:
        p = shortfall_p(int(covered.sum()), levels, ranks, rows)
        out["p_value"] = p
        out["enough_lines"] = lines >= min_rows
        out["below_target"] = bool(lines >= min_rows and p < ALARM_P)
    return out


def _size(size: np.ndarray, sets: bool) -> dict[str, Any]:
    if sets:
        return {"mean_set_size": float(size.mean()), "empty_sets": float((size == 0).mean())}  # a share
    return {"mean_width": float(size.mean())}


def shortfall_p(covered: int, levels: np.ndarray, ranks: dict[float, int] | None, rows: int = 0) -> float:
    """The probability that chance alone covers at most `covered` of these lines (one level per line), on
    data exchangeable with the training rows. `ranks`: {level: its threshold's rank among `rows` scores};
    None treats each level as exact (binomial)."""
    rng = np.random.default_rng(SEED)
    values, lines = np.unique(np.asarray(levels, float), return_counts=True)
    if ranks is None:
        coverage = np.broadcast_to(values, (DRAWS, len(values)))
    else:
        coverage = _order_statistics(rng, [ranks[level] for level in values.tolist()], rows)
    counts = rng.binomial(lines, coverage).sum(axis=1)
    return float((1 + np.count_nonzero(counts <= covered)) / (1 + DRAWS))


def _order_statistics(rng: np.random.Generator, ranks: list[int], rows: int) -> np.ndarray:
    """DRAWS joint draws of the k-th smallest of `rows` uniform scores for each k of `ranks` (ascending
    with the levels): the coverage each level's threshold gives, drawn as Gamma spacings."""
    order = np.argsort(ranks, kind="stable")
    ordered = np.asarray(ranks)[order]
    steps = np.diff(np.concatenate([[0], ordered, [rows + 1]])).astype(float)
    sums = np.cumsum(rng.standard_gamma(steps, size=(DRAWS, len(steps))), axis=1)
    drawn = sums[:, :-1] / sums[:, -1:]
    out = np.empty_like(drawn)
    out[:, order] = drawn
    return out
