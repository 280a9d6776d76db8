"""The target's distribution: rows per class and whether the classes are imbalanced (classification), or
quantiles and skewness (regression)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..core.config import Config

# A target is imbalanced when its rarest class has less than this fraction of an even share (1 / classes:
# below 10 % of rows for two classes, below 2 % for ten), or the most common class this many times its rows.
IMBALANCE_EVEN_FRACTION = 0.2
IMBALANCE_RATIO = 10
SKEW_LIMIT = 1.0


def target_distribution(frame: pd.DataFrame, config: Config) -> dict[str, Any]:
    target = frame[config.data.target]
    if config.is_classification:
        return _class_balance(target)
    return _numeric_summary(target)


def _class_balance(target: pd.Series) -> dict[str, Any]:
    counts = most_common_first(target.dropna().astype(str).value_counts())
    return class_balance(counts, int(target.isna().sum()))


def most_common_first(counts: pd.Series) -> pd.Series:
    """Rows per label, most common first and equal counts in label order: the same order whatever the
    order of the rows (the majority and minority classes of a tie do not depend on which came first)."""
    return counts[sorted(counts.index, key=lambda label: (-counts[label], label))]


def class_balance(counts: pd.Series, missing: int) -> dict[str, Any]:
    """Rows per class (`counts`: labels as text, most common first), and whether the classes are
    imbalanced: judged against an even split, so that ten balanced classes of 10 % each are not called
    imbalanced. Counts of the whole table or of a loaded frame alike."""
    result: dict[str, Any] = {"type": "classes", "missing": missing, "counts": counts.to_dict()}
    if len(counts):
        total, classes = int(counts.sum()), len(counts)
        minority_share = counts.iloc[-1] / total
        ratio = counts.iloc[0] / counts.iloc[-1]
        result.update(
            classes=classes,
            shares=(counts / total).to_dict(),
            majority=counts.index[0],
            minority=counts.index[-1],
            minority_share=minority_share,
            even_share=1 / classes,
            imbalance_ratio=ratio,
            imbalanced=classes > 1
            and bool(minority_share * classes < IMBALANCE_EVEN_FRACTION or ratio >= IMBALANCE_RATIO),
        )
    return result


def _numeric_summary(target: pd.Series) -> dict[str, Any]:
    """Quantiles and skewness of a regression target; values that are not numbers are counted."""
    missing = int(target.isna().sum())
    numbers = pd.to_numeric(target, errors="coerce")
    values = numbers.dropna()
    result: dict[str, Any] = {
        "type": "numeric",
        "missing": missing,
        "not_numeric": int(numbers.isna().sum()) - missing,
        "count": len(values),
    }
    if len(values):
        quantiles = values.quantile([0.25, 0.5, 0.75])
        skew = float(values.skew()) if len(values) > 2 else 0.0
        result.update(
            mean=values.mean(),
            std=values.std(),
            min=values.min(),
            p25=quantiles.loc[0.25],
            median=quantiles.loc[0.5],
            p75=quantiles.loc[0.75],
            max=values.max(),
            skew=0.0 if math.isnan(skew) else skew,
            skewed=bool(abs(skew) > SKEW_LIMIT),
        )
    return result
