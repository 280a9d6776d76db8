"""Reading tables: the client's data, files to score, the training reference.

Every problem with the data becomes a `UserError` with one line that says what is wrong and what to do.

Missing values: only empty cells are missing by default. A common marker such as NA, null or None is
missing too in a column whose every other value is a number or a boolean (there it cannot be a value: R's
write.csv writes NA into numeric columns); in text columns it stays a value (an R factor may have a level
"None") unless `data.missing_values` lists it. `load_table` records what it treated as missing in
`frame.attrs["missing_markers"]` (column → {marker: count}).

Dates are parsed in `dates`, and the table is made ready for training in `training_data`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

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


# A file that cannot be read, in one line: {path}, {kind} ("csv" or "parquet") and {reason} (the first line
# of the reader's own error). Callers that name the file otherwise pass their own wording.
UNREADABLE = "{path} could not be read as {kind}: {reason}"


def table_kind(path: Path) -> str:
    """ "csv" or "parquet", from the file name's suffix; any other file type is a UserError."""
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise UserError(f"{path}: unknown file type {path.suffix or '(none)'!r}; use .csv, .parquet or .pq")
    return kind


def read_table(
    path: Path, chunk_rows: int | None = None, unreadable: str = UNREADABLE, denied: str | None = None
) -> Iterator[pd.DataFrame]:
    """The rows of a CSV or Parquet file: one frame, or frames of at most `chunk_rows` rows (memory stays
    flat; chunked Parquet needs pyarrow). Only empty CSV cells are missing (`CSV_MISSING`).

    Every way the reading fails, also halfway through a chunked file, is one UserError naming the file,
    worded by `unreadable`; a file this process may not read is worded by `denied` ({path}) when given."""
    kind = table_kind(path)
    try:
        if chunk_rows is None:
            yield pd.read_csv(path, **CSV_MISSING) if kind == "csv" else pd.read_parquet(path)
        elif kind == "csv":
            yield from pd.read_csv(path, chunksize=chunk_rows, **CSV_MISSING)
        else:
            import pyarrow.parquet as pq  # not in the serving set: callers check for it first

            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    except PermissionError as error:
        if denied is None:
            raise unreadable_error(path, kind, error, unreadable) from None
        raise UserError(denied.format(path=path)) from None
    # ValueError: pandas' parser errors, UnicodeDecodeError and pyarrow's ArrowInvalid (not Parquet at all).
    except (ValueError, OSError) as error:
        raise unreadable_error(path, kind, error, unreadable) from None


def unreadable_error(
    path: Path, kind: str, error: BaseException | str, wording: str = UNREADABLE
) -> UserError:
    """The one-line error for a file its reader refused: `wording` filled with the first line of the
    reader's own error."""
    text = str(error).strip()
    reason = text.splitlines()[0] if text else type(error).__name__
    return UserError(wording.format(path=path, kind=kind, reason=reason))


def load_table(path: Path, missing_values: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, with one-line errors for every way that can fail.
    `missing_values` (data.missing_values) are missing in every column, beside empty cells."""
    table_kind(path)
    if not path.exists():
        raise UserError(f"data file {path} does not exist; set data.path in configs/project.yaml")
    if not path.is_file():
        raise UserError(f"data path {path} is not a file")
    denied = "data file {path} is not readable (permission denied)"
    [frame] = read_table(path, unreadable=f"data file {UNREADABLE}", denied=denied)  # one frame: read whole
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
        # Judged from the values only when the numeric columns are not known (batch scoring knows them).
        values_kind = _values_kind(text[~marker & ~text.isin(configured)]) if known is None else None
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
    """ "number" or "boolean" when every value is one (a marker cannot be a value there), else None.
    Judged on the distinct values, the first hundred of them first: a text column is told at once."""
    distinct = text.drop_duplicates()
    if distinct.empty:
        return None
    if distinct.isin(BOOLEAN_WORDS.keys()).all():
        return "boolean"
    for values in (distinct.iloc[:100], distinct):
        if not pd.to_numeric(values, errors="coerce").notna().all():
            return None
    return "number"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
