"""Time coverage: the period each date column spans (the configured time column first), rows per period at
the column's own granularity, the periods without rows and the largest gap. Whole numbers such as 1935 or
193501 are read as years or months."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Config
from ..data.dates import to_datetime

YEARS = (1700, 2200)  # integers in this range, in a date-like column, are calendar years
# Whole numbers a time column may hold: digits, how they read as a date, granularity, and in words.
WHOLE_NUMBER_DATES = (
    (4, "%Y", "year", "years written as whole numbers (YYYY)"),
    (6, "%Y%m", "month", "months written as whole numbers (YYYYMM)"),
    (8, "%Y%m%d", "day", "dates written as whole numbers (YYYYMMDD)"),
)
MAX_PERIODS = 1200  # months in a coverage chart; a longer span is counted by year


def time_coverage(
    frame: pd.DataFrame, profiles: list[dict[str, Any]], config: Config
) -> list[dict[str, Any]]:
    """Coverage of the configured time column (first) and of every other column that holds dates."""
    names = [config.data.time_column] if config.data.time_column else []
    names += [p["name"] for p in profiles if p["kind"] == "datetime" and p["name"] not in names]
    return [column_coverage(frame[name], name, configured=name == config.data.time_column) for name in names]


def column_coverage(
    series: pd.Series,
    name: str,
    configured: bool,
    date_format: str | None = None,
    rows: pd.Series | None = None,
) -> dict[str, Any]:
    """The period one date column spans, its rows per period at the column's own granularity (years for
    a year column, months for monthly data; daily or finer data by month), the periods inside the range
    without rows, and its largest gap; values that are not dates are counted, not fatal.

    With `rows` (same index), each value of `series` stands for that many rows: a table too large to load
    is counted as its distinct values and their rows."""
    parsed, granularity, read_as = _calendar(series, date_format)
    weight = pd.Series(1, index=series.index) if rows is None else rows.astype("int64")
    present = int(weight[series.notna()].sum())
    unparseable = present - int(weight[parsed.notna()].sum())
    result: dict[str, Any] = {
        "column": name,
        "configured": configured,
        "unparseable": unparseable,
        "unparseable_share": unparseable / present if present else 0.0,
        "read_as": read_as,
        "format": date_format,  # the data contract's, when known (`with_contract`)
    }
    dates = parsed.dropna()
    if dates.empty:
        return result
    result.update(
        min=dates.min().isoformat(),
        max=dates.max().isoformat(),
        span_days=(dates.max() - dates.min()).total_seconds() / 86_400,
        granularity=granularity,
    )
    result.update(_rows_per_period(dates, granularity, weight[dates.index]))
    result.update(_largest_gap(dates))
    return result


def _calendar(series: pd.Series, date_format: str | None = None) -> tuple[pd.Series, str, str | None]:
    """The column as timestamps (NaT where a value is not a date), its granularity (year, month or day:
    day covers anything finer) and, for whole numbers, how they were read: years (1935), year and month
    (193501) or year, month and day (19350115). Other whole numbers (a period counter) are not dates."""
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        dates = utc_dates(series, date_format)
        return dates, _granularity(dates.dropna()), None
    numbers = series.astype("float64")
    present = numbers.dropna()
    if len(present) and np.all(np.mod(present, 1) == 0):
        text = present.astype("int64").astype(str)
        for digits, number_format, granularity, read_as in WHOLE_NUMBER_DATES:
            if text.str.len().eq(digits).all():
                dates = pd.to_datetime(text, format=number_format, errors="coerce")
                if dates.notna().all() and dates.dt.year.between(*YEARS).all():
                    return dates.reindex(series.index), granularity, read_as
    return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]"), "day", None


def _granularity(dates: pd.Series) -> str:
    """year when every date is a 1 January at midnight, month when every date is the first of a month,
    else day (daily data, or finer)."""
    if dates.empty or (dates != dates.dt.normalize()).any() or (dates.dt.day != 1).any():
        return "day"
    return "month" if (dates.dt.month != 1).any() else "year"


def _rows_per_period(dates: pd.Series, granularity: str, weight: pd.Series) -> dict[str, Any]:
    """Rows per period from the first to the last, empty periods included. Years and months step by the
    data's own interval (1952, 1957, … is every 5 years; quarterly data every 3 months), so that a regular
    series has no empty periods; daily or finer data is counted by month."""
    yearly = granularity == "year"
    ordinals = dates.dt.year if yearly else dates.dt.year * 12 + dates.dt.month - 1
    unique = np.unique(ordinals)
    if not yearly and unique[-1] - unique[0] > MAX_PERIODS:
        return _rows_per_period(dates, "year", weight)
    step = int(np.gcd.reduce(np.diff(unique))) if granularity != "day" and len(unique) > 1 else 1
    counts = weight.groupby(ordinals).sum()
    grid = range(int(unique[0]), int(unique[-1]) + 1, step)
    rows = {_period_label(at, yearly): int(counts.get(at, 0)) for at in grid}
    singular, plural = _period_nouns(yearly, step)
    return {
        "period": singular,
        "periods": plural,
        "rows_per_period": rows,
        "empty_periods": [label for label, count in rows.items() if count == 0],
    }


def _period_label(ordinal: int, yearly: bool) -> str:
    return str(ordinal) if yearly else f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _period_nouns(yearly: bool, step: int) -> tuple[str, str]:
    """What one period is called: year, month, quarter, or a 5-year period."""
    named = {(True, 1): "year", (False, 1): "month", (False, 3): "quarter", (False, 12): "year"}
    if (yearly, step) in named:
        noun = named[(yearly, step)]
        return noun, noun + "s"
    unit = "years" if yearly else "months"
    return f"period of {step} {unit}", f"periods of {step} {unit}"


def _largest_gap(dates: pd.Series) -> dict[str, Any]:
    """The longest stretch between two consecutive distinct dates (nothing when there is one date)."""
    unique = pd.Series(np.sort(dates.unique()))
    if len(unique) < 2:
        return {}
    gaps = unique.diff().dt.total_seconds() / 86_400
    at = int(gaps.idxmax())
    return {
        "largest_gap_days": float(gaps.iloc[at]),
        "largest_gap_from": unique.iloc[at - 1].isoformat(),
        "largest_gap_to": unique.iloc[at].isoformat(),
    }


def utc_dates(series: pd.Series, date_format: str | None = None) -> pd.Series:
    """The shared date parser's result without time zones (converted to UTC), so that the dates of one
    column compare with each other and with plain timestamps; NaT where a value is not a date. With the
    data contract's `date_format`, read exactly as training reads the column."""
    parsed = to_datetime(series, date_format) if date_format else to_datetime(series)
    return parsed.dt.tz_convert(None) if parsed.dt.tz is not None else parsed
