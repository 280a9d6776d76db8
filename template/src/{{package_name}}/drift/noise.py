"""Thresholds that know the sample size: what unchanged data scores by chance is not drift.

A distance between two samples is never zero, even when both come from the same data, and it is larger the
fewer the rows and the more values a column spreads over. Jensen-Shannon between a 50-category column's
5,000 reference rows and 500 live rows of unchanged data is about 0.11 (over the usual 0.1 threshold every
time); with 20 categories about 0.07, with 20,000 live rows about 0.04. So each column is judged by the
larger of two thresholds:

- its configured one (`drift.numeric_threshold`, `categorical_threshold`, `prediction_threshold`);
- its noise threshold: the 99th percentile (`QUANTILE`) of the score the column's own method gives between
  two samples of unchanged data, one of the reference's size and one of the live sample's size.

The samples are drawn with replacement from the reference itself (both sides redrawn: the reference's own
sampling error and the live rows' both show, as they do between the reference and live rows that come from
unchanged data; and it works whatever the live sample's size, above the reference's too). `DRAWS` pairs per
column, seeded by `drift.seed` and the column's name, so a run is reproducible. Wasserstein (numbers) and
Jensen-Shannon (categories), the default methods, are computed on counts for all draws at once (equal to
Evidently's scores on the same rows; a test checks it); another distance calls Evidently's own function,
with fewer draws (`SLOW_DRAWS`). Statistical tests (ks, chisquare, ...) give p-values that already account
for the number of rows: their threshold is kept as configured.

A threshold is only ever raised: with many live rows the noise threshold falls under the configured one and
nothing changes; with few rows a column with many categories is judged by what it would score by chance,
and a real change of its mix still scores far above that.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .columns import CATEGORICAL, NUMERIC, Column, compared_values

QUANTILE = 0.99
DRAWS = 200  # pairs of samples per column, for the methods computed on counts (milliseconds)
SLOW_DRAWS = 60  # for the other distances (Evidently's function per pair): the 99th percentile ~ the largest
# Evidently's methods whose score is a distance (drift when it is at least the threshold); the others give
# p-values.
DISTANCES = frozenset({"wasserstein", "jensenshannon", "psi", "kl_div", "hellinger", "ed"})
_BATCH_VALUES = 2_000_000  # counts drawn at once (16 MB)
# Drawing a sample row by row costs its rows, as multinomial counts its distinct values (several times
# more each): the cheaper one is used.
_MULTINOMIAL_FROM = 8
_MIN_NORM = 0.001  # Evidently's floor for the reference's spread in the normed Wasserstein distance


@dataclass(frozen=True)
class Threshold:
    """One column's thresholds: the configured one, the noise one at this sample size (None for a
    statistical test), and the one the column is judged by."""

    configured: float
    noise: float | None

    @property
    def used(self) -> float:
        return self.configured if self.noise is None else max(self.configured, self.noise)

    @property
    def raised(self) -> bool:
        return self.used > self.configured

    def to_json(self) -> dict[str, Any]:
        noise = self.noise
        return {"threshold": self.used, "configured_threshold": self.configured, "noise_threshold": noise}


def thresholds(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[Column], seed: int
) -> dict[str, Threshold]:
    """Each column's thresholds for this live sample (columns with no value on one side are left out: they
    get no score)."""
    found = {}
    for column in columns:
        ref = compared_values(reference[column.name], column)
        cur = compared_values(current[column.name], column)
        if ref.empty or cur.empty:
            continue
        noise = None
        if column.method in DISTANCES:
            rng = np.random.default_rng([seed % 2**63, zlib.crc32(column.name.encode())])
            draws = DRAWS if _closed_form(column) else SLOW_DRAWS
            noise = float(np.quantile(null_scores(ref, len(cur), column, rng, draws), QUANTILE))
        found[column.name] = Threshold(column.threshold, noise)
    return found


def judged(columns: list[Column], found: dict[str, Threshold]) -> list[Column]:
    """The columns with the threshold each is judged by (verdicts and Evidently's report use these)."""
    return [replace(c, threshold=found[c.name].used) if c.name in found else c for c in columns]


def raised_line(found: dict[str, Threshold], rows: int) -> str | None:
    """The progress line that names the columns judged by a higher threshold than configured (with `rows`
    live rows compared), or None."""
    raised = {name: threshold for name, threshold in found.items() if threshold.raised}
    if not raised:
        return None
    shown = ", ".join(
        f"{name} {threshold.used:.3f} (configured {threshold.configured:g})"
        for name, threshold in sorted(raised.items(), key=lambda item: -item[1].used)
    )
    return (
        f"  {len(raised)} column(s) judged by a higher threshold than configured: {rows:,} live rows are too "
        f"few for their number of categories or their spread, so unchanged data scores above the configured "
        f"threshold by chance; judged by what it scores at most in {QUANTILE:.0%} of unchanged samples "
        f"instead: {shown}"
    )


def null_scores(
    reference: pd.Series,
    current_rows: int,
    column: Column,
    rng: np.random.Generator,
    draws: int,
    closed_form: bool = True,
) -> np.ndarray:
    """The column's scores between `draws` pairs of samples drawn with replacement from `reference`: one
    of the reference's size, one of `current_rows`. A sample is drawn as counts of the reference's distinct
    values (the scores depend on nothing else), in batches so that memory stays small whatever the sizes.
    `closed_form=False` scores every pair with Evidently's own function (the tests compare both)."""
    distinct, codes = _encoded(reference, column)
    formula = _closed_form(column) if closed_form else None
    batch = max(1, _BATCH_VALUES // len(distinct))
    scores = []
    for first in range(0, draws, batch):
        size = min(batch, draws - first)
        ref = _draw_counts(rng, codes, len(distinct), len(codes), size)
        cur = _draw_counts(rng, codes, len(distinct), current_rows, size)
        if formula is not None:
            scores.append(formula(distinct, ref, cur))
        else:
            scores.append(_evidently_scores(distinct, ref, cur, column))
    return np.concatenate(scores)


def _encoded(values: pd.Series, column: Column) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (sorted numbers; categories in order of appearance), and each value's position
    among them."""
    if column.values == NUMERIC:
        return np.unique(values.to_numpy(dtype=float), return_inverse=True)
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), sort=False)
    return np.asarray(distinct, dtype=object), codes


def _draw_counts(
    rng: np.random.Generator, codes: np.ndarray, distinct: int, rows: int, size: int
) -> np.ndarray:
    """`size` samples of `rows` values drawn with replacement from the reference (`codes`: each of its
    values' position among the `distinct` ones), as counts per distinct value: by drawing rows when they
    are few next to the distinct values, else as multinomial counts (the same distribution, at a cost that
    does not grow with the rows)."""
    if rows >= _MULTINOMIAL_FROM * distinct:
        return rng.multinomial(rows, np.bincount(codes, minlength=distinct) / len(codes), size=size)
    picked = codes[rng.integers(0, len(codes), size=(size, rows))]
    offsets = (np.arange(size) * distinct)[:, None]
    return np.bincount((picked + offsets).ravel(), minlength=size * distinct).reshape(size, distinct)


def _evidently_scores(distinct: np.ndarray, ref: np.ndarray, cur: np.ndarray, column: Column) -> np.ndarray:
    """Each pair of samples (counts of the distinct values) scored by Evidently's own function."""
    from .evidently_run import score

    def sample(counts: np.ndarray) -> pd.Series:
        return pd.Series(np.repeat(distinct, counts))

    return np.array([score(sample(r), sample(c), column) for r, c in zip(ref, cur, strict=True)])


def _wasserstein(distinct: np.ndarray, ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Evidently's normed Wasserstein distance per draw: the area between the two cumulative distributions
    over the sorted distinct values, divided by the reference sample's standard deviation."""
    ref_cdf = np.cumsum(ref, axis=1) / ref.sum(axis=1, keepdims=True)
    cur_cdf = np.cumsum(cur, axis=1) / cur.sum(axis=1, keepdims=True)
    distance = (np.abs(ref_cdf - cur_cdf)[:, :-1] * np.diff(distinct)).sum(axis=1)
    centred = distinct - distinct.mean()  # (less rounding error in the variance)
    share = ref / ref.sum(axis=1, keepdims=True)
    variance = np.maximum(share @ centred**2 - (share @ centred) ** 2, 0.0)
    return distance / np.maximum(np.sqrt(variance), _MIN_NORM)


def _jensen_shannon(distinct: np.ndarray, ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Evidently's Jensen-Shannon distance between category shares (natural logarithm), per draw."""
    from scipy.special import rel_entr

    p = ref / ref.sum(axis=1, keepdims=True)
    q = cur / cur.sum(axis=1, keepdims=True)
    middle = (p + q) / 2
    return np.sqrt((rel_entr(p, middle).sum(axis=1) + rel_entr(q, middle).sum(axis=1)) / 2)


def _closed_form(column: Column) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None:
    if column.values == NUMERIC and column.method == "wasserstein":
        return _wasserstein
    if column.values == CATEGORICAL and column.method == "jensenshannon":
        return _jensen_shannon
    return None
