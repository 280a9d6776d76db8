"""Streaming a table that may not fit in memory: counting its rows cheaply, reading it with DuckDB, and
taking a few of its columns or some of its rows in chunks (`coded_columns`, `kept_rows`).

DuckDB reads every CSV cell as text (`csv_source`), so that the missing-value rules of `tables` (empty
cells, configured and common markers, numbers and booleans) are applied by the caller exactly as pandas
reading applies them, instead of DuckDB's own type sniffing. The connection has a memory limit and a spill
folder, so a query over a table larger than memory spills to disk instead of failing.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.progress import RowProgress
from .tables import (
    BOOLEAN_WORDS,
    CSV_MISSING,
    MISSING_MARKERS,
    UNREADABLE,
    load_table,
    mark_missing,
    table_kind,
    unreadable_error,
)

MEMORY_LIMIT = "1GB"  # DuckDB's own working memory; beyond it, hash tables spill to the temp folder
NEWLINE_BLOCK = 1 << 22


def row_bound(path: Path, cap: int) -> int:
    """At least the rows of the table, without parsing it, and exact for Parquet (its metadata). A CSV's
    line breaks bound its rows (a row takes at least one line; quoted line breaks only add lines); the
    counting stops once past `cap`."""
    if table_kind(path) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    lines = 0
    with path.open("rb") as handle:
        while lines <= cap + 1 and (block := handle.read(NEWLINE_BLOCK)):
            lines += block.count(b"\n")
    return max(lines - 1, 0)  # the header line


def column_names(path: Path) -> list[str]:
    """The column names as pandas reads them (duplicates renamed a, a.1; stripped as `load_table` does)."""
    if table_kind(path) == "parquet":
        import pyarrow.parquet as pq

        return [str(name).strip() for name in pq.ParquetFile(path).schema_arrow.names]
    header = pd.read_csv(path, nrows=0, **CSV_MISSING)
    return [str(name).strip() for name in header.columns]


def quoted(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL text literal."""
    return "'" + text.replace("'", "''") + "'"


def csv_source(path: Path, width: int) -> str:
    """The CSV as a DuckDB table of text columns c0, c1, ...: an empty cell (quoted or not) is NULL, like
    pandas with `CSV_MISSING`; a row with another number of fields is an error (the caller then falls
    back to pandas, which pads short rows and refuses long ones)."""
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    return (
        f"read_csv({literal(str(path))}, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"auto_detect = false, strict_mode = true, columns = " + "{" + columns + "})"
    )


def parquet_source(path: Path, names: list[str]) -> tuple[str, dict[str, str]]:
    """The Parquet file as text columns c0, c1, ... and the columns whose type already says what they
    are ("number" or "boolean": pandas reads them so, whatever their values; "text": pandas keeps text as
    text, numbers in it too, unless missing-value markers in it are set to missing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(path).schema_arrow
    native: dict[str, str] = {}
    for name, field in zip(names, schema, strict=True):
        if pa.types.is_boolean(field.type):
            native[name] = "boolean"
        elif pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
            native[name] = "number"
        elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            native[name] = "text"
    selected = ", ".join(f"CAST({quoted(field.name)} AS VARCHAR) AS c{i}" for i, field in enumerate(schema))
    return f"(SELECT {selected} FROM read_parquet({literal(str(path))}))", native


@contextmanager
def duckdb_connection() -> Iterator[Any]:
    """A DuckDB connection with a memory limit and one thread per core, whose database file and spill
    files live in a temporary folder of their own (removed after)."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="audit-duckdb-") as spill:
        connection = duckdb.connect(
            str(Path(spill) / "scan.duckdb"),  # tables written here, not held in memory
            config={
                "memory_limit": MEMORY_LIMIT,
                "temp_directory": spill,
                "threads": os.cpu_count() or 1,
                "preserve_insertion_order": False,
            },
        )
        try:
            connection.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
            yield connection
        finally:
            connection.close()


@contextmanager
def watched(connection: Any, label: str, rows: int | None) -> Iterator[None]:
    """Progress of the query the connection runs meanwhile: rows scanned (DuckDB's own progress estimate
    times the table's rows), rows/s and time left, at most every 2 s."""
    progress = RowProgress(label, rows)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.5):
            done = connection.query_progress()
            if rows and done and done > 0:
                progress.add(max(int(rows * min(done, 100.0) / 100) - progress.rows, 0))

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if rows:
        progress.add(rows - progress.rows)
    progress.finish()


@dataclass
class CodedColumn:
    """A column of every row as a code per row (-1: empty) and its distinct values, read as a whole-file
    read reads them: `values` holds one entry per code, `values[code]` what the cell means."""

    codes: np.ndarray
    values: pd.Series

    def column(self) -> pd.Series:
        """The whole column, rebuilt from the codes: numbers (8 bytes a row) or categories (4 bytes)."""
        values = self.values
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            numbers = values.to_numpy(dtype="float64", na_value=np.nan)
            return pd.Series(np.append(numbers, np.nan)[self.codes], name=values.name)
        known, categories = pd.factorize(values, use_na_sentinel=True)
        codes = np.append(known, -1).astype(np.int32)[self.codes]
        return pd.Series(pd.Categorical.from_codes(codes, categories), name=values.name)


def _chunks(path: Path, chunk_rows: int, label: str, columns: list[int] | None = None):
    """The table in frames of `chunk_rows` rows, as written (CSV: every cell as text), with row progress."""
    kind = table_kind(path)
    progress = RowProgress(label, row_bound(path, 1 << 62))
    try:
        if kind == "csv":
            frames = pd.read_csv(path, chunksize=chunk_rows, dtype=str, usecols=columns, **CSV_MISSING)
        else:
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(path)
            names = None if columns is None else [parquet.schema_arrow.names[i] for i in columns]
            batches = parquet.iter_batches(batch_size=chunk_rows, columns=names)
            frames = (batch.to_pandas() for batch in batches)
        for frame in frames:
            yield frame
            progress.add(len(frame))
    except (ValueError, OSError) as error:  # as `load_table` words them
        raise unreadable_error(path, kind, error, f"data file {UNREADABLE}") from None
    progress.finish()


def coded_columns(
    path: Path, columns: list[int], missing_values: tuple[str, ...], chunk_rows: int, label: str
) -> list[CodedColumn]:
    """The columns at positions `columns` of every row, streamed: memory grows by 4 bytes a row and
    column, plus each distinct value once. Markers and types are judged over the whole column, as
    `load_table` judges them: on the distinct values, parsed as one small table by the same reader."""
    vocabularies: list[dict[Any, int]] = [{} for _ in columns]
    codes: list[list[np.ndarray]] = [[] for _ in columns]
    empty = [False] * len(columns)
    for chunk in _chunks(path, chunk_rows, label, sorted(columns)):
        order = sorted(columns)
        for slot, position in enumerate(columns):
            chunk_codes, uniques = pd.factorize(chunk.iloc[:, order.index(position)], use_na_sentinel=True)
            vocabulary = vocabularies[slot]
            lookup = [vocabulary.setdefault(value, len(vocabulary)) for value in uniques.tolist()]
            codes[slot].append(np.append(np.asarray(lookup, dtype=np.int32), -1)[chunk_codes])
            empty[slot] |= bool((chunk_codes < 0).any())
    names = column_names(path)
    result = []
    for slot, position in enumerate(columns):
        raw = list(vocabularies[slot]) + ([None] if empty[slot] else [])
        values = _as_read(pd.DataFrame({names[position]: raw}), path, missing_values).iloc[:, 0]
        values = values.iloc[: len(vocabularies[slot])].reset_index(drop=True)
        joined = np.concatenate(codes[slot]) if codes[slot] else np.empty(0, np.int32)
        result.append(CodedColumn(np.where(joined < 0, len(values), joined), values))
    return result


def _as_read(frame: pd.DataFrame, path: Path, missing_values: tuple[str, ...]) -> pd.DataFrame:
    """`frame` (cells as the file holds them) as reading the file gives it: a CSV's text through pandas'
    own CSV reader, then the missing-value markers."""
    if table_kind(path) == "csv":
        frame = pd.read_csv(io.StringIO(frame.to_csv(index=False)), **CSV_MISSING)
    else:
        frame = pd.DataFrame({name: pd.Series(frame[name].tolist()) for name in frame.columns})
    return mark_missing(frame, missing_values)


def kept_rows(
    path: Path, positions: np.ndarray, missing_values: tuple[str, ...], chunk_rows: int, folder: Path
) -> pd.DataFrame:
    """The rows at `positions` (sorted, counted from 0), streamed, read as a whole-file read of the table
    reads them. Each column's type and markers depend on every value of it, so beside the kept rows a few
    witnesses per column are kept: one value per shape of value (digits as 0), or one value that can only
    be text. Parsed together, witnesses and kept rows give each column the whole file's type."""
    witnesses: dict[str, dict[Any, Any]] = {}
    decided: set[str] = set()
    configured = frozenset(str(value).strip() for value in missing_values)
    kept, start, found = [], 0, 0
    for chunk in _chunks(path, chunk_rows, f"keeping {len(positions):,} rows"):
        end = start + len(chunk)
        stop = int(np.searchsorted(positions, end))
        if stop > found:
            kept.append(chunk.iloc[positions[found:stop] - start])
        found, start = stop, end
        for name in chunk.columns:
            if name not in decided and _add_witnesses(
                chunk[name], witnesses.setdefault(name, {}), configured
            ):
                decided.add(name)
    frames = [_witness_frame(witnesses, kept[0].columns if kept else [])]
    if table_kind(path) != "csv":
        frame = mark_missing(pd.concat([*frames, *kept], ignore_index=True), missing_values)
    else:
        copy = folder / "kept.csv"
        pd.concat([*frames, *kept], ignore_index=True).to_csv(copy, index=False)
        frame = load_table(copy, missing_values)
    frame.attrs.pop("missing_markers", None)  # counts of the sample with its witnesses: not the table's
    return frame.iloc[len(frames[0]) :].reset_index(drop=True)


def _add_witnesses(column: pd.Series, found: dict[Any, Any], configured: frozenset[str]) -> bool:
    """Add a first value of each new shape of value in `column` to `found`; True (and one witness left)
    once a value shows the column holds text, which no further value can change."""
    if column.isna().any():
        found.setdefault("empty", None)
    present = column.dropna()
    if not (pd.api.types.is_object_dtype(present) or pd.api.types.is_string_dtype(present)):
        if len(present):
            found.setdefault("value", present.iloc[0])
        return False
    present = present[~present.duplicated()]  # the first row of each value: all that judging needs
    text = present.astype(str)
    stripped = text.str.strip()
    special = stripped.isin(MISSING_MARKERS | configured | BOOLEAN_WORDS.keys())
    not_number = _not_numbers(stripped[~special])
    if not_number.any():
        found.clear()
        found["text"] = present[~special][not_number].iloc[0]
        return True
    shapes = pd.Series(text.str.replace(r"\d", "0", regex=True).to_numpy(dtype=object), index=present.index)
    shapes = shapes.where(~special, "special:" + text.astype(object))  # " True" is text, "True" is not
    for shape, value in present.groupby(shapes, sort=False).first().items():
        found.setdefault(shape, value)
    return False


# A plain decimal number: sign, digits, a point, an exponent. pandas reads each as a number; matched in one
# vectorised pass, so that only the other values go through `pd.to_numeric`.
PLAIN_NUMBER = r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"


def _not_numbers(values: pd.Series) -> pd.Series:
    """Whether each value (stripped text) is not a number for pandas."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = pc.match_substring_regex(pa.array(values.astype(object), type=pa.string()), PLAIN_NUMBER)
    plain = plain.to_numpy(zero_copy_only=False).astype(bool)
    result = pd.Series(False, index=values.index)
    if not plain.all():
        result[~plain] = pd.to_numeric(values[~plain], errors="coerce").isna().to_numpy()
    return result


def _witness_frame(witnesses: dict[str, dict[Any, Any]], columns: Any) -> pd.DataFrame:
    """One column per table column holding its witnesses, the shorter ones repeating their first one."""
    values = {name: list(witnesses.get(name, {}).values()) or [None] for name in columns}
    height = max((len(found) for found in values.values()), default=0)
    return pd.DataFrame({name: found + found[:1] * (height - len(found)) for name, found in values.items()})
