"""Live rows from Parquet (`drift --current FILE.parquet` or `--current FOLDER`): a seeded uniform sample
drawn without loading the table, so that a folder of a nightly batch's millions of rows is compared in
the memory of its sample.

A folder holds Parquet files, directly or in hive-style partition folders (`dt=2026-11-01/part-0.parquet`);
the partition columns are where a file lies, not features, and are not read. Row counts come from the files'
metadata; each row group (in path order) is read only when the sample draws a row in it, and only those
rows are kept. The draw depends on the row positions alone, so a folder and one file holding the same rows
in the same order give the same sample, and the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import UserError
from ..data.dates import to_datetime
from ..data.tables import READERS

PARQUET_SUFFIXES = tuple(suffix for suffix, kind in READERS.items() if kind == "parquet")


@dataclass
class Sample:
    """The sampled rows, the rows available (in the window), and the window's first and last time."""

    frame: pd.DataFrame
    rows: int
    start: str | None = None
    end: str | None = None


def sample_parquet(
    path: Path, sample_rows: int, seed: int, since: datetime | None = None, time: tuple[str, Any] = ("", None)
) -> Sample:
    """At most `sample_rows` rows (all when 0) drawn with `seed` from a Parquet file or folder; with `since`,
    only from the rows whose time column (`time`: its name and date format) is at or after it."""
    import pyarrow as pa

    groups = _row_groups(path)
    names = [name for name in groups[0].physical_schema.names if name not in _partition_names(path)]
    within = [_window(group, since, time, path) for group in groups] if since else None
    counts = np.array(
        [
            group.row_groups[0].num_rows if within is None else within[i][0].size
            for i, group in enumerate(groups)
        ]
    )
    offsets = np.concatenate(([0], np.cumsum(counts)))
    chosen = sample_positions(int(offsets[-1]), sample_rows, seed)
    tables = []
    for number, group in enumerate(groups):
        mine = chosen[(chosen >= offsets[number]) & (chosen < offsets[number + 1])] - offsets[number]
        if mine.size:
            rows = mine if within is None else within[number][0][mine]
            tables.append(group.to_table(columns=names).take(pa.array(rows)))
    table = pa.concat_tables(tables) if tables else groups[0].physical_schema.empty_table().select(names)
    frame = table.to_pandas()
    start = end = None
    if since is not None and chosen.size:
        start, end = since.isoformat(), max(found[1] for found in within if found[1] is not None).isoformat()
    return Sample(frame, int(offsets[-1]), start, end)


def _row_groups(path: Path) -> list[Any]:
    """Every row group of the file or of the folder's Parquet files, in path order, as pyarrow fragments."""
    import pyarrow.dataset as ds

    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in PARQUET_SUFFIXES and p.is_file())
        files = [
            p for p in files if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
        ]
        if not files:
            raise UserError(
                f"--current folder {path} holds no Parquet file (*.parquet or *.pq, directly or in partition "
                "folders such as dt=2026-11-01/); give a folder of Parquet files, or one CSV or Parquet file"
            )
    else:
        files = [path]
    try:
        dataset = ds.dataset([str(p) for p in files], format="parquet")
        return [group for fragment in dataset.get_fragments() for group in fragment.split_by_row_group()]
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UserError(f"--current {path} could not be read as Parquet: {reason}") from None


def _partition_names(path: Path) -> set[str]:
    """The hive partition keys of a folder (`key=value` folder names under it)."""
    if not path.is_dir():
        return set()
    return {folder.name.split("=", 1)[0] for folder in path.rglob("*=*") if folder.is_dir()}


def _window(group: Any, since: datetime, time: tuple[str, Any], path: Path) -> tuple[np.ndarray, Any]:
    """The rows of a row group at or after `since` and their latest time (the time column only is read)."""
    name, date_format = time
    if not name or name not in group.physical_schema.names:
        raise UserError(
            f"--since/--last on a file needs its time column (data.time_column), which {path.name} lacks"
        )
    times = to_datetime(group.to_table(columns=[name]).column(name).to_pandas(), date_format)
    inside = (times >= since.replace(tzinfo=None)).to_numpy()
    return np.flatnonzero(inside), (times[inside].max() if inside.any() else None)


def sample_positions(total: int, sample_rows: int, seed: int) -> np.ndarray:
    """A seeded uniform draw of `sample_rows` of `total` row positions, sorted (all when 0 or more than
    there are): the draw of the prediction log's lines too."""
    if not sample_rows or total <= sample_rows:
        return np.arange(total, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(total, size=sample_rows, replace=False))
