"""Column checks: each column's profile (role, kind, missing and distinct values), the table's overview,
duplicate rows and IDs, constant and identifier-like columns, and the text the loader read as missing (or
kept as a value). Pure functions on a DataFrame."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Config
from ..data import contract as contract_mod
from ..data.tables import MISSING_MARKERS
from .common import short, snake_case
from .dates import YEARS

MIN_ROWS_FOR_RATIOS = 20  # distinct-value ratios of fewer values say nothing
_ID_NAME = re.compile(
    r"(?:^|_)(?:id|uuid|guid|key|nr|no|number|ref|code|idno|uid)$|^(?:id|uuid|guid|idno|uid)_"
)


def column_profiles(frame: pd.DataFrame, config: Config) -> list[dict[str, Any]]:
    rows = max(len(frame), 1)
    profiles = []
    for name in frame.columns:
        series = frame[name]
        missing = int(series.isna().sum())
        distinct = int(series.nunique(dropna=True))
        present = len(series) - missing
        profiles.append(
            {
                "name": name,
                "role": _configured_role(name, config),
                "dtype": str(series.dtype),
                "kind": contract_mod.infer_kind(series, config.data.max_categories),
                "missing": missing,
                "missing_share": missing / rows,
                "distinct": distinct,
                "distinct_ratio": distinct / present if present else 0.0,
            }
        )
    return profiles


def _configured_role(name: str, config: Config) -> str:
    """The role the config gives a column; everything else starts out as a feature."""
    data = config.data
    if name == data.target:
        return "target"
    if name in data.id_columns:
        return "id"
    if name == data.time_column:
        return "time"
    if name in data.drop_columns:
        return "dropped"
    return "feature"


def overview(frame: pd.DataFrame) -> dict[str, Any]:
    cells = max(frame.size, 1)
    missing = int(frame.isna().sum().sum())
    return {
        "rows": len(frame),
        "columns": frame.shape[1],
        "missing_cells": missing,
        "missing_share": missing / cells,
        "memory_mb": round(frame.memory_usage(deep=True).sum() / 1e6, 2),
    }


def duplicates(frame: pd.DataFrame, config: Config) -> dict[str, Any]:
    """Exact duplicate rows, rows identical apart from their IDs, and IDs that occur more than once."""
    ids = [name for name in config.data.id_columns if name in frame.columns]
    rows = int(frame.duplicated().sum())
    result: dict[str, Any] = {"rows": rows, "share": rows / max(len(frame), 1), "id_columns": ids}
    if ids:
        others = [name for name in frame.columns if name not in ids]
        result["rows_ignoring_ids"] = int(frame.duplicated(subset=others).sum()) if others else 0
        repeated = frame.duplicated(subset=ids, keep=False)
        result["rows_with_repeated_id"] = int(repeated.sum())
        result["repeated_ids"] = int(frame.loc[repeated, ids].drop_duplicates().shape[0])
    return result


def constant_columns(frame: pd.DataFrame, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns with at most one distinct value: they cannot tell rows apart."""
    found = []
    for profile in profiles:
        if profile["role"] == "target" or profile["distinct"] > 1:
            continue
        values = frame[profile["name"]].dropna()
        found.append({"column": profile["name"], "value": None if values.empty else short(values.iloc[0])})
    return found


def id_like_columns(
    frame: pd.DataFrame, profiles: list[dict[str, Any]], config: Config
) -> list[dict[str, Any]]:
    """Columns that identify rows rather than describe them. A model can memorise them but they never
    generalise to new rows (and sometimes encode the data's order, which leaks)."""
    found = []
    for profile in profiles:
        if profile["role"] not in ("feature", "dropped") or profile["kind"] == "datetime":
            continue
        values = frame[profile["name"]].dropna()
        if len(values) < MIN_ROWS_FOR_RATIOS:
            continue
        reason = _id_like_reason(profile, values, config.audit.id_unique_ratio)
        if reason:
            found.append(
                {"column": profile["name"], "distinct_ratio": profile["distinct_ratio"], "reason": reason}
            )
    return found


def _id_like_reason(profile: dict[str, Any], values: pd.Series, threshold: float) -> str:
    """Why a column looks like an identifier: its name and many distinct values, or nearly all values
    distinct and shaped like codes; empty when it does not."""
    ratio = profile["distinct_ratio"]
    if _ID_NAME.search(snake_case(profile["name"])) and ratio >= 0.5:
        return f"named like an identifier, {ratio:.0%} distinct values"
    if ratio < threshold:
        return ""
    if profile["kind"] == "categorical" and not pd.api.types.is_numeric_dtype(values):
        return f"{ratio:.0%} distinct values: each value names a single row"  # car names in mtcars
    shape = _code_shape(values)
    return f"{ratio:.0%} distinct values, {shape}" if shape else ""


def _code_shape(values: pd.Series) -> str:
    """How distinct values look like codes rather than measurements: whole numbers that run consecutively
    (a row number) or mostly in one regular step (district codes 1101, 1102, … 1201), or short text without
    spaces. Distinct prices, counts and amounts are spread unevenly, and distinct years are a time, so
    neither is flagged. Empty when the values do not look like codes."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return ""
    if not pd.api.types.is_numeric_dtype(values):
        text = values.astype(str)
        return "short text without spaces" if text.str.contains(r"\s", regex=True).mean() <= 0.5 else ""
    numbers = values.astype("float64")
    if not np.all(np.mod(numbers, 1) == 0) or _is_years(numbers):
        return ""
    unique = np.unique(numbers)
    if unique[-1] - unique[0] + 1 <= 2 * len(unique):
        return "whole numbers that run consecutively"
    steps, counts = np.unique(np.diff(unique), return_counts=True)
    if counts.max() >= 0.5 * (len(unique) - 1):
        return f"whole numbers mostly {steps[counts.argmax()]:,.0f} apart, like codes"
    return ""


def _is_years(numbers: pd.Series) -> bool:
    """Whole numbers that are all plausible calendar years (1935, 1988): a time, not a code or a count."""
    return len(numbers) > 0 and bool(numbers.between(*YEARS).all())


def missing_markers(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """What the loader read as missing, per column: {column: {marker: cells}} (e.g. 'NA', '-', 'n/a'), from
    `frame.attrs["missing_markers"]`; empty when the loader recorded nothing."""
    recorded = frame.attrs.get("missing_markers")
    if not isinstance(recorded, dict):
        return {}
    markers: dict[str, dict[str, int]] = {}
    for column, counts in recorded.items():
        if not isinstance(counts, dict):
            continue
        cells = {str(marker): int(count) for marker, count in counts.items() if _iscount(count) and count > 0}
        if cells:
            markers[str(column)] = dict(sorted(cells.items(), key=lambda item: -item[1]))
    return markers


def kept_markers(frame: pd.DataFrame, config: Config) -> dict[str, dict[str, int]]:
    """Text that often stands for "no value" (NA, None, null, -...) but was kept as a value, because its
    column holds text: {column: {marker: cells}}. A class called "None" is real; an export that wrote NA
    for unknown outcomes is not, and only the client can say which."""
    kept: dict[str, dict[str, int]] = {}
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        text = column.dropna().astype(str).str.strip()
        hits = text[text.isin(MISSING_MARKERS) & ~text.isin(config.data.missing_values)]
        if len(hits):
            kept[str(name)] = {str(marker): int(cells) for marker, cells in hits.value_counts().items()}
    return kept


def _iscount(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)
