"""Rows of a file checked against the data contract the model was trained on (the features in
models/metadata.json), by the rules the API applies to a record (api/schemas.py), so that a row the API
refuses is refused in a file too; vectorised per column. The rules per feature kind:

  numeric      a finite number between -1e15 and 1e15; text that is not a number is refused; true/false only
               in a column that was boolean in training (read as 1 and 0);
  datetime     a date in the format the contract recorded for the column, read by the same parser as
               training and the API (`data.to_datetime`), within the years pandas can hold;
  categorical  any text, a category unseen in training included (the model takes the feature as unknown).
               But a plain number (12, 3.5) in a column whose training categories are all non-numeric text
               is refused ("expected text, as in training"): in a file that is how a shifted column shows.
               Where the training categories include numbers (codes), numbers are fine;
  missing      (an empty cell, a data.missing_values marker, NA and the like in a numeric column) in any
               feature: the Pipeline imputes it. Where training had no missing values it is scored with a
               `missing` warning (`input_warnings`), as in the API, rather than refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data.dates import to_datetime
from ..data.tables import BOOLEAN_WORDS
from .api.schemas import BOOL_DTYPES, FIRST_YEAR, LARGEST, LAST_YEAR, date_format_of, describe_format

REJECTS_COLUMNS = ["row", "column", "value", "reason"]
# A number as written in a file: 12, -3.5, .5, 1e6 (not "inf" or "nan": those are words in a text column).
PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


@dataclass
class Checked:
    """A chunk checked against the contract: the frame to score (numbers as floats, dates parsed), which
    rows are valid, and one line per bad value (row, column, value, reason)."""

    frame: pd.DataFrame
    valid: np.ndarray
    problems: pd.DataFrame


def check_rows(
    chunk: pd.DataFrame, raw: pd.DataFrame, features: list[dict[str, Any]], first_row: int = 1
) -> Checked:
    """Check each feature column of `chunk` (missing values already marked); `raw` is the chunk as read,
    quoted in the problems; `first_row` is the number of the chunk's first row in the file."""
    converted: dict[str, pd.Series] = {}
    problems = []
    for feature in features:
        name = feature["name"]
        values, rules = _check_column(chunk[name], feature)
        if values is not None:
            converted[name] = values
        found = _problems(name, raw[name], rules, first_row)
        if found is not None:
            problems.append(found)
    frame = chunk.assign(**converted) if converted else chunk
    if not problems:
        return Checked(frame, np.ones(len(chunk), dtype=bool), pd.DataFrame(columns=REJECTS_COLUMNS))
    cells = pd.concat(problems, ignore_index=True).sort_values("row", kind="stable", ignore_index=True)
    valid = ~np.isin(np.arange(first_row, first_row + len(chunk)), cells["row"].to_numpy())
    return Checked(frame, valid, cells)


Rules = list[tuple[np.ndarray, str]]  # (rows that break the rule, why), the first matching rule is reported


def _check_column(column: pd.Series, feature: dict[str, Any]) -> tuple[pd.Series | None, Rules]:
    if feature["kind"] == "numeric":
        return _check_numbers(column, feature)
    if feature["kind"] == "datetime":
        return _check_dates(column, feature)
    return None, _check_categories(column, feature)


def _check_numbers(column: pd.Series, feature: dict[str, Any]) -> tuple[pd.Series, Rules]:
    """Finite numbers of at most LARGEST in size; true/false (as 1/0) only where training had booleans."""
    flag = feature.get("dtype") in BOOL_DTYPES
    present = column.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        numbers = column.astype("float64")
    elif pd.api.types.is_bool_dtype(column):
        numbers = column.astype("float64") if flag else pd.Series(np.nan, index=column.index)
    else:  # text, or mixed values (Parquet)
        text = column.astype(str).str.strip()
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
        if flag:
            numbers = numbers.fillna(text.map(BOOLEAN_WORDS).astype("float64"))
    parsed = numbers.notna().to_numpy()
    expected = "expected a number" + (" or true/false" if flag else "") + _training_range(feature)
    return numbers, [
        (present & ~parsed, expected),
        (
            parsed & ~(numbers.abs().to_numpy() <= LARGEST),
            f"expected a finite number between {-LARGEST:g} and {LARGEST:g}",
        ),
    ]


def _training_range(feature: dict[str, Any]) -> str:
    low, high = feature.get("min"), feature.get("max")
    return f" (in training: {low} to {high})" if low is not None and high is not None else ""


def _check_dates(column: pd.Series, feature: dict[str, Any]) -> tuple[pd.Series, Rules]:
    """Dates in the column's recorded format, as training and the API read them."""
    date_format = date_format_of(feature)
    if not pd.api.types.is_datetime64_any_dtype(column) and not isinstance(column.dtype, pd.StringDtype):
        column = column.map(_as_date_text, na_action="ignore")  # numbers read as numbers, e.g. 20240131
    parsed = to_datetime(column, date_format)
    present, read = column.notna().to_numpy(), parsed.notna().to_numpy()
    years = parsed.dt.year.to_numpy()
    return parsed, [
        (present & ~read, f"expected {describe_format(date_format)}"),
        (read & ((years < FIRST_YEAR) | (years > LAST_YEAR)), f"dates must lie between the years "
         f"{FIRST_YEAR} and {LAST_YEAR}"),
    ]  # fmt: skip


def _as_date_text(value: Any) -> Any:
    """A date written as a number (20240131, read as 20240131.0 beside a missing value) as its digits;
    dates and text as they are."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, int | float | bool) else value


def _check_categories(column: pd.Series, feature: dict[str, Any]) -> Rules:
    """Any text; a plain number only where training had numeric categories (see the module docstring)."""
    categories = [str(category) for category in feature.get("categories") or []]
    if not categories or pd.Series(categories, dtype=str).str.fullmatch(PLAIN_NUMBER).any():
        return []
    if pd.api.types.is_bool_dtype(column):
        return []
    if pd.api.types.is_numeric_dtype(column):
        number = column.notna().to_numpy()
    else:
        number = column.astype(str).str.strip().str.fullmatch(PLAIN_NUMBER).fillna(False).to_numpy(bool)
    reason = (
        f"expected text, as in training, e.g. {categories[0]!r} (a number here often means a shifted column)"
    )
    return [(number, reason)]


def _problems(name: str, raw: pd.Series, rules: Rules, first_row: int) -> pd.DataFrame | None:
    """One line per value of `raw` that breaks a rule, or None."""
    if not any(broken.any() for broken, _ in rules):
        return None
    reasons = np.full(len(raw), None, dtype=object)
    for broken, reason in reversed(rules):  # the first rule that matches is the one reported
        reasons[broken] = reason
    positions = np.flatnonzero(reasons != None)  # noqa: E711 (element-wise)
    return pd.DataFrame(
        {
            "row": positions + first_row,
            "column": name,
            "value": [_shown(value) for value in raw.iloc[positions]],
            "reason": reasons[positions],
        }
    )


def _shown(value: Any) -> str:
    """A value as the file holds it: 12 rather than 12.0, an empty cell as ''."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value.item() if isinstance(value, np.generic) else value)
