"""The target's block of a streamed audit, from the counted values: the class balance with each label
written as pandas writes it, or a regression target's summary."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .exact import Column
from .target import SKEW_LIMIT, class_balance, most_common_first


def classes(labels: pd.DataFrame, column: Column, missing: int) -> dict[str, Any]:
    """The class balance from each label's rows, the labels written as pandas writes them (1 for a whole
    number column without missing values, 1.0 otherwise; True; text as is)."""
    present = labels.dropna(subset=["value"])
    values = present["value"]
    if column.values == "number":
        whole = column.kind == "number" and column.whole and not missing
        values = values.astype("int64" if whole else "float64")
    text = values.astype(str) if column.values != "boolean" else values.map({True: "True", False: "False"})
    counts = pd.Series(present["rows"].to_numpy(), index=text.to_numpy()).astype("int64")
    return class_balance(most_common_first(counts.groupby(level=0).sum()), missing)


def numeric_from_values(values: pd.DataFrame, rows: int) -> dict[str, Any]:
    """A regression target's summary (the keys of `exact.numeric_summary`) from each value and its rows:
    for the pandas reading, which counts values instead of asking DuckDB."""
    present = values.dropna(subset=["value"])
    numbers = pd.to_numeric(present["value"], errors="coerce")
    kept = numbers.notna()
    series = pd.Series(np.repeat(numbers[kept].to_numpy(dtype="float64"), present["rows"][kept].to_numpy()))
    summary: dict[str, Any] = {"rows": rows, "present": int(present["rows"].sum()), "count": len(series)}
    if len(series):
        summary.update(
            mean=series.mean(), std=series.std(), min=series.min(), max=series.max(),
            quartiles=series.quantile([0.25, 0.5, 0.75]).tolist(),
            skew=float(series.skew()) if len(series) > 2 else 0.0,
        )  # fmt: skip
    return summary


def numeric_block(exact: dict[str, Any]) -> dict[str, Any]:
    """A regression target's block of the audit (the keys of `target._numeric_summary`) from a summary
    counted over every row (`exact.numeric_summary`, `numeric_from_values`)."""
    count = exact["count"]
    result: dict[str, Any] = {
        "type": "numeric",
        "missing": exact["rows"] - exact["present"],
        "not_numeric": exact["present"] - count,
        "count": count,
    }
    if count:
        p25, median, p75 = exact["quartiles"]
        skew = exact["skew"] if exact["skew"] is not None and math.isfinite(exact["skew"]) else 0.0
        result.update(
            mean=exact["mean"], std=exact["std"], min=exact["min"], p25=p25, median=median, p75=p75,
            max=exact["max"], skew=skew, skewed=bool(abs(skew) > SKEW_LIMIT),
        )  # fmt: skip
    return result
