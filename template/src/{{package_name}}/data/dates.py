"""Dates in the client's tables: each column is read with ONE format, inferred from its values or set in
`data.date_formats`, and recorded in the data contract, so that training, batch scoring and the API read
"02/01/2012" alike. A time column may also hold calendar years (1998, 1999, ...).
"""

from __future__ import annotations

import re
import warnings

import pandas as pd
from pandas.tseries.api import guess_datetime_format

from ..core.errors import UserError
from ..core.wording import plain

ISO8601 = "ISO8601"
YEAR_FORMAT = "%Y"  # a time column of whole numbers such as 1998: years
YEAR_RANGE = (1000, 2999)
DATE_SHARE = 0.95  # a column holds dates when at least this share of its values parse with one format
_GUESS_SAMPLE = 40
_NUMERIC_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(\s|$)")
# Tried when pandas cannot guess a format from the values (it cannot from "5/1/12"): day/month orders of
# the numeric dates seen in client tables.
_COMMON_FORMATS = (
    "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "%m-%d-%Y",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d/%m/%Y %I:%M %p",
)  # fmt: skip


def column_date_format(series: pd.Series, configured: str | None = None) -> str | None:
    """The one format the dates of a column are written in ("ISO8601" or a strftime format), or None when
    the column does not hold dates.

    The configured format (data.date_formats, also found in `series.attrs`) wins. Otherwise pandas guesses
    formats from sampled values, month-first and day-first, and each guess is tried on the whole column:
    a first field above 12 rules out month-first, a second above 12 day-first. When both orders read the
    whole column, but differently, nothing settles it and the user must say (UserError)."""
    name = series.name
    configured = configured or series.attrs.get("date_formats", {}).get(name)
    if pd.api.types.is_datetime64_any_dtype(series):
        return ISO8601
    counts = _text_counts(series)
    if configured:
        if counts is not None and _share(counts, configured) < DATE_SHARE:
            bad = next(
                value for value in counts.index if _parse_text(pd.Series([value]), configured).isna()[0]
            )
            raise UserError(
                f"column {name!r}: data.date_formats says {configured!r}, but {bad!r} is not written so; "
                "fix data.date_formats in configs/project.yaml (a strftime format such as '%d/%m/%Y', or "
                "ISO8601)"
            )
        return configured
    if counts is None:
        return None
    shares = {candidate: _share(counts, candidate) for candidate in _candidate_formats(counts)}
    best = max(shares.values(), default=0.0)
    if best < DATE_SHARE:
        return None
    if shares.get(ISO8601) == best:
        return ISO8601
    winners = [candidate for candidate, share in shares.items() if share == best]
    readings = {candidate: _parse_text(counts.index.to_series(), candidate) for candidate in winners}
    first, *others = winners
    differ = [other for other in others if not readings[other].equals(readings[first])]
    if differ:
        example = counts.index[(readings[first] != readings[differ[0]]).to_numpy()][0]
        setting = {name: first}
        raise UserError(
            f"column {name!r} holds dates that read both as {first} and as {differ[0]} (e.g. {example!r}: "
            f"no value settles the order of day and month); say which in configs/project.yaml, e.g. "
            f"data.date_formats: {setting}"
        )
    return first


def _text_counts(series: pd.Series) -> pd.Series | None:
    """How often each distinct (stripped) text value occurs; None when the column is not text."""
    values = series.dropna()
    if values.empty or not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return None
    if not values.map(lambda value: isinstance(value, str)).all():
        return None
    return values.str.strip().value_counts()


def _candidate_formats(counts: pd.Series) -> list[str]:
    """Formats guessed from a sample of distinct values (both day/month orders), with year and month."""
    sample = counts.index.to_series().sample(min(len(counts), _GUESS_SAMPLE), random_state=0)
    guesses: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when a guess contradicts `dayfirst`
        for value in sample:
            for dayfirst in (False, True):
                guess = guess_datetime_format(value, dayfirst=dayfirst)
                if guess:
                    guesses |= {guess, _swap_day_month(guess)}
    if not guesses and sample.str.match(_NUMERIC_DATE).mean() >= DATE_SHARE:
        guesses = set(_COMMON_FORMATS)
    candidates = sorted(guess for guess in guesses if _is_date_format(guess))
    if any(candidate.startswith("%Y-%m") for candidate in candidates):
        candidates.insert(0, ISO8601)  # year first with dashes: ISO 8601, with or without time and zone
    return candidates


def _swap_day_month(date_format: str) -> str:
    if "%d" not in date_format or "%m" not in date_format:
        return date_format  # "%b %d %Y": the month is a name, nothing to swap
    return date_format.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _is_date_format(date_format: str) -> bool:
    """A year and a month, and never year-day-month (no one writes that; ISO 8601 is year-month-day)."""
    year = max(date_format.find("%Y"), date_format.find("%y"))
    month = max(date_format.find(code) for code in ("%m", "%b", "%B"))
    day = date_format.find("%d")
    return year >= 0 and month >= 0 and not (day >= 0 and year < day < month)


def _share(counts: pd.Series, date_format: str) -> float:
    parsed = _parse_text(counts.index.to_series(), date_format)
    return float(counts[parsed.notna().to_numpy()].sum() / counts.sum())


def _parse_text(text: pd.Series, date_format: str) -> pd.Series:
    try:
        parsed = pd.to_datetime(text.str.strip(), errors="coerce", format=date_format, utc=True)
    except (ValueError, TypeError, OverflowError):
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    return parsed.dt.tz_convert(None)


def to_datetime(series: pd.Series, date_format: str | None = None) -> pd.Series:
    """Parse dates to plain (time-zone-free, UTC) timestamps with one format (given, configured or
    inferred: `column_date_format`); what does not match it becomes NaT. Values that are already dates
    (the API's validated records) are taken as they are."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.tz_convert(None) if series.dt.tz is not None else series
    date_format = date_format or column_date_format(series) or ISO8601
    if date_format == YEAR_FORMAT and _is_numeric(series):
        series = series.astype("Int64").astype("string").astype(object).where(series.notna(), None)
    is_text = series.map(lambda value: isinstance(value, str))
    parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    if is_text.any():
        parsed = parsed.astype("datetime64[us]")
        parsed[is_text] = _parse_text(series[is_text].astype(str), date_format)
    others = series.notna() & ~is_text
    if others.any():
        dates = pd.to_datetime(series[others], errors="coerce", utc=True).dt.tz_convert(None)
        parsed = parsed.astype(dates.dtype) if not is_text.any() else parsed
        parsed[others] = dates
    return parsed


def parse_time(series: pd.Series, name: str, configured: str | None = None) -> pd.Series:
    """Parse a date/time column; fail clearly when most values are not dates."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return to_datetime(series)
    if _is_numeric(series):
        # Numbers order rows only as years (1998, 1999...): seconds or row counters are not a calendar.
        found = YEAR_FORMAT if _holds_years(series) else None
    else:
        found = column_date_format(series, configured)
    parsed = to_datetime(series, found) if found else None
    unparsed = len(series.dropna()) if parsed is None else int(parsed.isna().sum() - series.isna().sum())
    if unparsed > 0.05 * max(len(series), 1):
        example = next((value for value in series.dropna()), None)
        if _is_numeric(series):
            raise UserError(
                f"time column {name!r} holds numbers that are not calendar years (e.g. {plain(example)!r}); "
                "a time column needs dates or years: fix data.time_column in configs/project.yaml"
            )
        raise UserError(
            f"time column {name!r} has {unparsed} values that are not dates (e.g. {plain(example)!r}); "
            "fix data.time_column in configs/project.yaml, or set data.date_formats for it"
        )
    return parsed


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _holds_years(series: pd.Series) -> bool:
    """Whole numbers that are all plausible calendar years."""
    values = series.dropna()
    return bool(len(values)) and bool(((values % 1 == 0) & values.between(*YEAR_RANGE)).all())
