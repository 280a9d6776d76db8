"""Reading the client's table and checking that it can be trained on.

Every problem with the data becomes a `UserError` with one line that says what is wrong and what to do.

Missing values: only empty cells are missing by default. A common marker such as NA, null or None is
missing too in a column whose every other value is a number or a boolean (there it cannot be a value: R's
write.csv writes NA into numeric columns); in text columns it stays a value (an R factor may have a level
"None") unless `data.missing_values` lists it. `load_table` records what it treated as missing in
`frame.attrs["missing_markers"]` (column → {marker: count}).

Dates: each column is read with ONE format, inferred from its values or set in `data.date_formats`, and
recorded in the data contract, so that training, batch scoring and the API read "02/01/2012" alike.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.tseries.api import guess_datetime_format

from ..core.config import Config
from ..core.errors import UserError

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# Read by `pd.read_csv` as missing: empty cells only (pandas' defaults would also read "None" and "NA").
CSV_MISSING = {"keep_default_na": False, "na_values": [""]}
MISSING_MARKERS = frozenset(
    {"NA", "N/A", "n/a", "na", "NaN", "nan", "NAN", "-NaN", "-nan", "null", "NULL", "Null", "None", "NONE",
     "none", "#N/A", "#N/A N/A", "#NA", "<NA>", "-1.#IND", "1.#IND", "-1.#QNAN", "1.#QNAN",
     "-", "--", "?", "."}
)  # fmt: skip
BOOLEAN_WORDS = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False, "false": False}
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


def load_table(path: Path, missing_values: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, with one-line errors for every way that can fail.
    `missing_values` (data.missing_values) are missing in every column, beside empty cells."""
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise UserError(f"{path}: unknown file type {path.suffix or '(none)'!r}; use .csv, .parquet or .pq")
    if not path.exists():
        raise UserError(f"data file {path} does not exist; set data.path in configs/project.yaml")
    if not path.is_file():
        raise UserError(f"data path {path} is not a file")
    try:
        frame = pd.read_csv(path, **CSV_MISSING) if kind == "csv" else pd.read_parquet(path)
    except PermissionError:
        raise UserError(f"data file {path} is not readable (permission denied)") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"data file {path} could not be read as {kind}: {reason}") from None
    if frame.empty or frame.shape[1] == 0:
        raise UserError(f"data file {path} has no rows or no columns")
    frame.columns = [str(column).strip() for column in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise UserError(f"data file {path} has duplicate column names: {', '.join(duplicated)}")
    return mark_missing(frame, missing_values)


def mark_missing(
    frame: pd.DataFrame, missing_values: Iterable[str] = (), numeric: Iterable[str] | None = None
) -> pd.DataFrame:
    """Set the missing-value markers of `frame` to missing, in place, and add their counts to
    `frame.attrs["missing_markers"]`. `numeric` names the columns where common markers are missing when
    that is already known (batch scoring: the contract's numeric columns), instead of judging each column
    by its values (a chunk of a file may hold only numbers in a column that also holds text)."""
    configured = frozenset(str(value).strip() for value in missing_values)
    known = None if numeric is None else set(numeric)
    found: dict[str, dict[str, int]] = frame.attrs.get("missing_markers", {})
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            _mark_numbers(frame, name, configured, found)
            continue
        present = column.dropna()
        text = present.astype(str).str.strip()
        marker = text.isin(MISSING_MARKERS)
        values_kind = _values_kind(text[~marker & ~text.isin(configured)])
        markers_missing = values_kind is not None if known is None else name in known
        missing = text.isin(configured) | (marker if markers_missing else False)
        if not missing.any():
            continue
        counts = found.setdefault(name, {})
        for value, count in text[missing].value_counts().items():
            counts[value] = counts.get(value, 0) + int(count)
        kept = present[~missing]
        if known is None and values_kind == "number":
            kept = pd.to_numeric(kept.astype(str).str.strip())
        elif known is None and values_kind == "boolean":
            kept = kept.astype(str).str.strip().map(BOOLEAN_WORDS).astype(object)
        frame[name] = kept.reindex(column.index)
    frame.attrs["missing_markers"] = found
    return frame


def _mark_numbers(frame: pd.DataFrame, name: str, configured: frozenset[str], found: dict) -> None:
    """Configured markers that are numbers (such as -999) in a column read as numbers."""
    column = frame[name]
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return
    for marker in sorted(configured):
        number = pd.to_numeric(marker, errors="coerce")
        hits = column == number if pd.notna(number) else None
        if hits is not None and hits.any():
            counts = found.setdefault(name, {})
            counts[marker] = counts.get(marker, 0) + int(hits.sum())
            frame[name] = column = column.mask(hits)


def _values_kind(text: pd.Series) -> str | None:
    """ "number" or "boolean" when every value is one (a marker cannot be a value there), else None."""
    if text.empty:
        return None
    if text.isin(BOOLEAN_WORDS.keys()).all():
        return "boolean"
    return "number" if pd.to_numeric(text, errors="coerce").notna().all() else None


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_configured_columns(frame: pd.DataFrame, config: Config, source: Path | None = None) -> None:
    """The target, ID, time, sensitive and date-format columns named in the config must exist in the data
    (`source`, the file read; the configured one by default).

    It also keeps data.date_formats in `frame.attrs["date_formats"]`, where every date parse of the
    frame's columns finds them."""
    columns = set(frame.columns)
    data = config.data
    file_name = (source or config.data_path).name
    if data.target not in columns:
        raise UserError(
            f"target column {data.target!r} is not in {file_name} "
            f"(columns: {_preview(frame.columns)}); set data.target in configs/project.yaml"
        )
    checks = [
        ("id column(s)", data.id_columns, "fix data.id_columns in configs/project.yaml"),
        ("time column", [data.time_column] if data.time_column else [], "fix data.time_column in "
         "configs/project.yaml (or set it to null)"),
        ("sensitive column(s)", data.sensitive_columns, "fix data.sensitive_columns in configs/project.yaml"),
        ("date format column(s)", list(data.date_formats), "fix data.date_formats in configs/project.yaml"),
    ]  # fmt: skip
    for what, names, fix in checks:
        missing = [name for name in names if name not in columns]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise UserError(f"{what} {', '.join(map(repr, missing))} {verb} not in {file_name}; {fix}")
    frame.attrs["date_formats"] = dict(data.date_formats)


# ---------------------------------------------------------------------------------------------------------
# Dates


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
                f"time column {name!r} holds numbers that are not calendar years (e.g. {_shown(example)}); "
                "a time column needs dates or years: fix data.time_column in configs/project.yaml"
            )
        raise UserError(
            f"time column {name!r} has {unparsed} values that are not dates (e.g. {_shown(example)}); "
            "fix data.time_column in configs/project.yaml, or set data.date_formats for it"
        )
    return parsed


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _holds_years(series: pd.Series) -> bool:
    """Whole numbers that are all plausible calendar years."""
    values = series.dropna()
    return bool(len(values)) and bool(((values % 1 == 0) & values.between(*YEAR_RANGE)).all())


def _shown(value: Any) -> str:
    """A value as a user wrote it, without NumPy's type names (np.int64(5) → 5)."""
    return repr(value.item() if hasattr(value, "item") else value)


@dataclass
class TrainingData:
    """The rows that can be trained on, and what was dropped on the way."""

    frame: pd.DataFrame
    target: pd.Series
    rows_read: int
    rows_missing_target: int
    rows_missing_time: int = 0

    @property
    def rows_used(self) -> int:
        return len(self.frame)


def prepare_training_data(frame: pd.DataFrame, config: Config, source: Path | None = None) -> TrainingData:
    """Check the target and the time order; drop rows without a target (and say how many). `source` is
    the file read (errors name it); the configured data.path by default."""
    check_configured_columns(frame, config, source)
    rows_read = len(frame)
    target_name = config.data.target
    missing_target = frame[target_name].isna()
    frame = frame.loc[~missing_target]
    rows_missing_time = 0
    if config.data.time_column:
        name = config.data.time_column
        time = parse_time(frame[name], name, config.data.date_formats.get(name))
        missing_time = time.isna()
        rows_missing_time = int(missing_time.sum())
        frame = frame.assign(**{config.data.time_column: time}).loc[~missing_time]
        frame = frame.sort_values(config.data.time_column, kind="stable")
    frame = frame.reset_index(drop=True)
    target = frame[target_name]
    if frame.empty:
        raise UserError(f"no rows with a value in target column {target_name!r}")
    if config.problem_type == "regression":
        target = _numeric_target(target, target_name)
    else:
        classes = target.astype(str).nunique()
        if classes < 2:
            raise UserError(
                f"target column {target_name!r} has a single class ({_shown(target.iloc[0])}); "
                "a classifier needs at least two"
            )
        if config.problem_type == "binary" and classes > 2:
            raise UserError(
                f"target column {target_name!r} has {classes} classes but problem_type is binary; "
                "set problem_type: multiclass in configs/project.yaml"
            )
    return TrainingData(
        frame=frame,
        target=target,
        rows_read=rows_read,
        rows_missing_target=int(missing_target.sum()),
        rows_missing_time=rows_missing_time,
    )


def _numeric_target(target: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
        converted = pd.to_numeric(target, errors="coerce")
        bad = target[converted.isna()]
        if len(bad):
            raise UserError(
                f"target column {name!r} must be numeric for regression, but holds text such as "
                f"{_shown(bad.iloc[0])}; "
                "use problem_type binary or multiclass for labels"
            )
        target = converted
    return target.astype("float64")


def _preview(columns: pd.Index, limit: int = 8) -> str:
    names = [str(column) for column in columns[:limit]]
    return ", ".join(names) + (", …" if len(columns) > limit else "")
