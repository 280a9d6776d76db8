"""Tables with more rows than `audit.sample_rows`: exact counts over every row, a seeded sample for the rest.

`count_table` streams the file with DuckDB (`exact`; pandas in chunks, `exact_pandas`, where DuckDB cannot
read what pandas can) and returns the exact numbers; `load_sample` loads a seeded sample of
`audit.sample_rows` rows, read with the same rules as a whole table; `with_exact_counts` puts the exact
numbers into the sample's findings, and records in `findings["scope"]` which numbers are exact over all
rows and which come from the sample.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.config import Config
from ..core.progress import say, step
from ..data.scan import (
    column_names,
    csv_source,
    duckdb_connection,
    literal,
    parquet_source,
    row_bound,
    watched,
)
from ..data.tables import load_table, mark_missing, table_kind
from ..data.training_data import check_configured_columns
from . import exact
from .dates import column_coverage
from .exact_pandas import count_with_pandas, sample_with_pandas
from .exact_target import classes, numeric_block

QUOTED_LINES = 10  # lines per row in a CSV beyond which quoted line breaks cannot explain the lines
MAX_DATE_VALUES = 2_000_000  # distinct values of a date column beyond which its coverage is the sample's


def _duckdb_failed(error: Exception) -> bool:
    """Whether `error` says DuckDB is missing or could not read the file (then pandas does the work)."""
    if isinstance(error, ImportError):
        return True
    import duckdb

    return isinstance(error, duckdb.Error)


def is_large(config: Config) -> bool:
    """Whether the data file has more rows than `audit.sample_rows` (then the audit samples and streams):
    from Parquet metadata, or a CSV's line breaks. When line breaks inside quotes may make the difference
    (fewer than `QUOTED_LINES` per row), DuckDB counts the rows; beyond that, the sample is the whole table
    and the counts exact all the same."""
    path, limit = config.data_path, config.audit.sample_rows
    if not path.is_file():
        return False  # `load` words the problem
    try:
        bound = row_bound(path, QUOTED_LINES * limit)
    except OSError:
        return False  # `load` words the problem (permission denied, ...)
    if bound <= limit or table_kind(path) == "parquet" or bound > QUOTED_LINES * limit:
        return bound > limit
    try:
        with duckdb_connection() as connection, step("counting the rows"):
            rows = connection.execute(f"SELECT count(*) FROM {csv_source(path, len(column_names(path)))}")
            return int(rows.fetchone()[0]) > limit
    except Exception as error:
        if not _duckdb_failed(error):
            raise
        return True  # pandas counts them in chunks (`count_table`)


def load_sample(config: Config) -> pd.DataFrame:
    """A seeded sample of `audit.sample_rows` rows (seed: model.random_state; the same seed gives the same
    rows), read as `load_table` reads a whole table: CSV cells go through pandas' own reader."""
    path, names = config.data_path, column_names(config.data_path)
    csv = table_kind(path) == "csv"
    source = csv_source(path, len(names)) if csv else f"read_parquet({literal(str(path))})"
    rows, seed = config.audit.sample_rows, config.model.random_state
    sample = f"USING SAMPLE reservoir({rows} ROWS) REPEATABLE ({seed})"
    try:
        with duckdb_connection() as connection:
            connection.execute("SET threads = 1")  # a reservoir sample repeats with its seed on one thread
            label = f"sampling {rows:,} rows (seed {seed})"
            with watched(connection, label, row_bound(path, sys.maxsize)):
                frame = connection.execute(f"SELECT * FROM {source} {sample}").df()
    except Exception as error:  # the counting says why, once
        if not _duckdb_failed(error):
            raise
        frame = sample_with_pandas(config)
    frame.columns = names
    if csv:
        with tempfile.TemporaryDirectory(prefix="audit-sample-") as folder:
            copy = Path(folder) / "sample.csv"
            frame.to_csv(copy, index=False)  # cells as written in the file; empty ones stay empty
            frame = load_table(copy, config.data.missing_values)
    else:
        frame = mark_missing(frame, config.data.missing_values)
    check_configured_columns(frame, config)
    return frame


def count_table(config: Config, findings: dict[str, Any]) -> dict[str, Any]:
    """Exact counts over every row of the data file: DuckDB streams it; where DuckDB cannot read a CSV
    that pandas can (rows with fewer fields, say), pandas reads it in chunks instead. `findings` (of the
    sample) name the date columns and the format each is read with."""
    dates = {item["column"]: item.get("format") for item in findings["time_coverage"]}
    try:
        return _count_with_duckdb(config, dates)
    except Exception as error:
        if not _duckdb_failed(error):
            raise
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        say(f"  DuckDB could not read {config.data_path.name} ({reason}); counting with pandas instead")
    return count_with_pandas(config, dates)


def _count_with_duckdb(config: Config, dates: dict[str, str | None]) -> dict[str, Any]:
    path, names = config.data_path, column_names(config.data_path)
    configured = frozenset(str(value).strip() for value in config.data.missing_values)
    if table_kind(path) == "csv":
        source, native = csv_source(path, len(names)), {}
    else:
        source, native = parquet_source(path, names)
    ids = [name for name in config.data.id_columns if name in names]
    with duckdb_connection() as connection:
        scan = exact.Scan(connection, source, configured, rows=row_bound(path, sys.maxsize))
        columns = exact.judge_columns(scan, names, native)
        exact.hold_values(scan, columns)
        counts = exact.count_values(scan, columns, ids)
        by_name = {column.name: column for column in columns}
        target = by_name[config.data.target]
        if config.is_classification:
            labels = exact.value_counts(scan, target, "counting the classes")
            target_block = classes(labels, target, counts.missing[target.name])
        else:
            target_block = numeric_block(exact.numeric_summary(scan, target))
        coverage = {}
        for name, date_format in dates.items():
            if counts.distinct[name] > MAX_DATE_VALUES:
                continue
            values = exact.value_counts(scan, by_name[name], f"dates of {name}")
            configured_time = name == config.data.time_column
            coverage[name] = column_coverage(
                values["value"], name, configured_time, date_format, values["rows"]
            )
    return {"counts": counts, "target": target_block, "time_coverage": coverage, "counted_by": "DuckDB"}
