"""Reading the client's table and checking that it can be trained on.

Every problem with the data becomes a `UserError` with one line that says what is wrong and what to do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import Config
from .errors import UserError

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def load_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, with one-line errors for every way that can fail."""
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise UserError(f"{path}: unknown file type {path.suffix or '(none)'!r}; use .csv, .parquet or .pq")
    if not path.exists():
        raise UserError(f"data file {path} does not exist; set data.path in configs/project.yaml")
    if not path.is_file():
        raise UserError(f"data path {path} is not a file")
    try:
        frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
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
    return frame


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_configured_columns(frame: pd.DataFrame, config: Config) -> None:
    """The target, ID, time and sensitive columns named in the config must exist in the data."""
    columns = set(frame.columns)
    data = config.data
    if data.target not in columns:
        raise UserError(
            f"target column {data.target!r} is not in {config.data_path.name} "
            f"(columns: {_preview(frame.columns)}); set data.target in configs/project.yaml"
        )
    missing_ids = [name for name in data.id_columns if name not in columns]
    if missing_ids:
        raise UserError(
            f"id column(s) {', '.join(map(repr, missing_ids))} not in {config.data_path.name}; "
            "fix data.id_columns in configs/project.yaml"
        )
    if data.time_column and data.time_column not in columns:
        raise UserError(
            f"time column {data.time_column!r} is not in {config.data_path.name}; "
            "fix data.time_column in configs/project.yaml (or set it to null)"
        )
    missing_sensitive = [name for name in data.sensitive_columns if name not in columns]
    if missing_sensitive:
        raise UserError(
            f"sensitive column(s) {', '.join(map(repr, missing_sensitive))} not in {config.data_path.name}; "
            "fix data.sensitive_columns in configs/project.yaml"
        )


def to_datetime(series: pd.Series) -> pd.Series:
    """Parse dates to plain (time-zone-free, UTC) timestamps; what is not a date becomes NaT.

    The fast ISO 8601 parser goes first, the slow per-value one only when that leaves values unparsed.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.tz_convert(None) if series.dt.tz is not None else series
    parsed = _parse_dates(series, "ISO8601")
    if parsed.isna().sum() > series.isna().sum():
        parsed = _parse_dates(series, "mixed")
    return parsed.dt.tz_convert(None)


def _parse_dates(series: pd.Series, date_format: str) -> pd.Series:
    try:
        return pd.to_datetime(series, errors="coerce", format=date_format, utc=True)
    except (ValueError, TypeError, OverflowError):
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")


def parse_time(series: pd.Series, name: str) -> pd.Series:
    """Parse a date/time column; fail clearly when most values are not dates."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    parsed = to_datetime(series)
    unparsed = int(parsed.isna().sum() - series.isna().sum())
    if unparsed > 0.05 * max(len(series), 1):
        raise UserError(
            f"time column {name!r} has {unparsed} values that are not dates (e.g. {series.iloc[0]!r})"
        )
    return parsed


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


def prepare_training_data(frame: pd.DataFrame, config: Config) -> TrainingData:
    """Check the target and the time order; drop rows without a target (and say how many)."""
    check_configured_columns(frame, config)
    rows_read = len(frame)
    target_name = config.data.target
    missing_target = frame[target_name].isna()
    frame = frame.loc[~missing_target]
    rows_missing_time = 0
    if config.data.time_column:
        time = parse_time(frame[config.data.time_column], config.data.time_column)
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
                f"target column {target_name!r} has a single class ({target.iloc[0]!r}); "
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
                f"{bad.iloc[0]!r}; "
                "use problem_type binary or multiclass for labels"
            )
        target = converted
    return target.astype("float64")


def _preview(columns: pd.Index, limit: int = 8) -> str:
    names = [str(column) for column in columns[:limit]]
    return ", ".join(names) + (", …" if len(columns) > limit else "")
