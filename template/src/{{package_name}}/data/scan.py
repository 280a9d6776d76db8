"""Streaming a table that may not fit in memory: counting its rows cheaply, and reading it with DuckDB.

DuckDB reads every CSV cell as text (`csv_source`), so that the missing-value rules of `tables` (empty
cells, configured and common markers, numbers and booleans) are applied by the caller exactly as pandas
reading applies them, instead of DuckDB's own type sniffing. The connection has a memory limit and a spill
folder, so a query over a table larger than memory spills to disk instead of failing.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.progress import RowProgress
from .tables import CSV_MISSING, table_kind

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
