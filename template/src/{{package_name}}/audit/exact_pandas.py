"""The exact counts of `exact`, by pandas reading the file in chunks: for the CSV files DuckDB cannot read
but pandas can (a row with fewer fields than the header, which pandas pads with missing values).

The same two passes and the same rules as `exact`: the first judges each column from all its values, the
second counts with the values as pandas holds them. Distinct values and rows are counted by their 64-bit
hashes (`pd.util.hash_array`), so memory grows with the distinct values, not with the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Config
from ..core.progress import RowProgress
from ..data.tables import BOOLEAN_WORDS, MISSING_MARKERS, read_table
from .dates import column_coverage
from .exact import Column, Counts, judge, markers_found, whole_numbers
from .exact_target import classes, numeric_block, numeric_from_values

CHUNK_ROWS = 100_000


def _chunks(config: Config, label: str, rows: int | None = None) -> Iterator[pd.DataFrame]:
    progress = RowProgress(label, rows)
    for chunk in read_table(config.data_path, CHUNK_ROWS):
        chunk.columns = [str(name).strip() for name in chunk.columns]
        yield chunk
        progress.add(len(chunk))
    progress.finish()


def _text(series: pd.Series) -> pd.Series:
    return series.dropna().astype(str).str.strip()


def _not_number(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text, errors="coerce").isna()


def judge_chunked(config: Config, configured: frozenset[str]) -> tuple[int, list[Column]]:
    """First pass: the rows, and what pandas reads each column as (the same rules as `exact.judge`)."""
    rows, stats, markers = 0, {}, {}
    for chunk in _chunks(config, "reading every row: what each column holds"):
        rows += len(chunk)
        for name in chunk.columns:
            text = _text(chunk[name])
            rest = text[~text.isin(MISSING_MARKERS | configured)]
            counts = np.array(
                [len(text), _not_number(text).sum(), (~text.isin(BOOLEAN_WORDS)).sum(), len(rest),
                 _not_number(rest).sum(), (~rest.isin(BOOLEAN_WORDS)).sum(),
                 (~whole_numbers(text)).sum()]
            )  # fmt: skip
            stats[name] = stats.get(name, 0) + counts
            found = text[text.isin(MISSING_MARKERS | configured)].value_counts()
            markers[name] = markers.get(name, pd.Series(dtype="int64")).add(found, fill_value=0)
    columns = []
    for i, (name, (_, *counts)) in enumerate(stats.items()):
        column = Column(name, i)
        judge(column, None, *counts)
        column.markers = {str(k): int(v) for k, v in markers[name].items()}
        columns.append(column)
    return rows, columns


def values(chunk: pd.DataFrame, column: Column, configured: frozenset[str]) -> pd.Series:
    """One column of a chunk as pandas holds it once read whole (NaN/None where missing)."""
    raw = chunk[column.name]
    text = raw.astype(str).str.strip().where(raw.notna())
    missing = raw.isna() | text.isin(configured)
    if column.markers_missing:
        missing |= text.isin(MISSING_MARKERS)
    if column.values == "number":
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
        hits = [value for value in map(_number, configured) if value is not None]
        return numbers.mask(missing | numbers.isin(hits))
    if column.values == "boolean":
        return text.map(BOOLEAN_WORDS).astype(object).mask(missing)
    return raw.astype(object).mask(missing)


def _number(text: str) -> float | None:
    number = pd.to_numeric(text, errors="coerce")
    return None if pd.isna(number) else float(number)


def _count_number_hits(chunk: pd.DataFrame, columns: list[Column], configured: frozenset[str]) -> None:
    """Cells of number columns equal to a configured marker that is a number (-999 = -999.0)."""
    markers = {marker: number for marker in configured if (number := _number(marker)) is not None}
    for column in columns:
        if column.kind != "number" or not markers:
            continue
        numbers = pd.to_numeric(chunk[column.name].astype(str).str.strip(), errors="coerce")
        for marker, number in markers.items():
            column.number_hits[marker] = column.number_hits.get(marker, 0) + int((numbers == number).sum())


class _Distinct:
    """Distinct hashes seen so far, kept sorted and unique."""

    def __init__(self) -> None:
        self.seen = np.empty(0, dtype="uint64")

    def add(self, hashes: np.ndarray) -> None:
        self.seen = np.union1d(self.seen, hashes)

    def __len__(self) -> int:
        return len(self.seen)


def count_with_pandas(config: Config, dates: dict[str, str | None]) -> dict[str, Any]:
    """The exact counts of `large.count_table`, read by pandas in chunks."""
    configured = frozenset(str(value).strip() for value in config.data.missing_values)
    rows, columns = judge_chunked(config, configured)
    names = [column.name for column in columns]
    ids = [name for name in config.data.id_columns if name in names]
    others = [name for name in names if name not in ids]
    distinct = {name: _Distinct() for name in names}
    whole, ignoring_ids, missing = _Distinct(), _Distinct(), dict.fromkeys(names, 0)
    id_counts, tallies = pd.Series(dtype="int64"), {}
    tallied = [config.data.target, *dates]
    for chunk in _chunks(config, "counting missing and distinct values", rows):
        held = pd.DataFrame({column.name: values(chunk, column, configured) for column in columns})
        _count_number_hits(chunk, columns, configured)
        for name in names:
            present = held[name].dropna()
            missing[name] += len(held) - len(present)
            distinct[name].add(pd.util.hash_array(present.to_numpy()))
        whole.add(pd.util.hash_pandas_object(held, index=False).to_numpy())
        if ids:
            if others:
                ignoring_ids.add(pd.util.hash_pandas_object(held[others], index=False).to_numpy())
            keys = pd.util.hash_pandas_object(held[ids], index=False).value_counts()
            id_counts = id_counts.add(keys, fill_value=0)
        for name in tallied:
            counted = held[name].value_counts(dropna=False)
            tallies[name] = tallies.get(name, pd.Series(dtype="int64")).add(counted, fill_value=0)
    duplicates: dict[str, Any] = {"rows": rows - len(whole), "share": (rows - len(whole)) / max(rows, 1),
                                  "id_columns": ids}  # fmt: skip
    if ids:
        repeated = id_counts[id_counts > 1]
        duplicates.update(
            rows_ignoring_ids=rows - len(ignoring_ids) if others else 0,
            rows_with_repeated_id=int(repeated.sum()),
            repeated_ids=len(repeated),
        )
    found, kept = markers_found(columns, configured)
    distinct_counts = {name: len(seen) for name, seen in distinct.items()}
    counts = Counts(rows, missing, distinct_counts, duplicates, found, kept)
    return _result(config, columns, counts, tallies, dates)


def _result(
    config: Config,
    columns: list[Column],
    counts: Counts,
    tallies: dict[str, pd.Series],
    dates: dict[str, str | None],
) -> dict[str, Any]:
    """The result of `large.count_table`: the counts, the target's block and each date column's coverage."""
    rows, missing = counts.rows, counts.missing
    by_name = {column.name: column for column in columns}
    target = by_name[config.data.target]
    frame = _value_frame(tallies[target.name])
    if config.is_classification:
        target_block = classes(frame, target, missing[target.name])
    else:
        target_block = numeric_block(numeric_from_values(frame, rows))
    coverage = {}
    for name, date_format in dates.items():
        frame = _value_frame(tallies[name])
        configured_time = name == config.data.time_column
        coverage[name] = column_coverage(frame["value"], name, configured_time, date_format, frame["rows"])
    return {"counts": counts, "target": target_block, "time_coverage": coverage, "counted_by": "pandas"}


def _value_frame(tally: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"value": tally.index.to_numpy(), "rows": tally.to_numpy().astype("int64")})


def sample_with_pandas(config: Config) -> pd.DataFrame:
    """A seeded sample of `audit.sample_rows` rows, in file order, by pandas reading in chunks: each row
    draws a random key (seeded) and the rows with the smallest keys are kept, as a reservoir would."""
    rng = np.random.default_rng(config.model.random_state)
    size, kept, start = config.audit.sample_rows, None, 0
    for chunk in _chunks(config, f"sampling {config.audit.sample_rows:,} rows"):
        chunk = chunk.set_axis(pd.RangeIndex(start, start + len(chunk)))
        start += len(chunk)
        chunk = chunk.assign(_key=rng.random(len(chunk)))
        kept = chunk if kept is None else pd.concat([kept, chunk])
        kept = kept.nsmallest(size, "_key")
    assert kept is not None  # read_table yields at least one chunk
    return kept.drop(columns="_key").sort_index().reset_index(drop=True)
