"""Batch scoring of files (`predict --input FILE --output FILE`): chunk by chunk, so memory stays flat
whatever the size of the file, through the same Pipeline as the API.

Every row is checked against the data contract the model was trained on, by the rules the API applies to
a record (`row_checks`), before it is scored.
A bad row is never scored. With `on_error="fail"` (the default) the whole file is checked, nothing is written,
and the error gives the number of bad rows and the first few as "row N, column C: value 'v': reason", N
counting data rows from 1 (row 1 is the row under the header). With `on_error="skip"` the other rows are
scored, and every bad value goes to `<output stem>.rejects.csv` beside the output (row, column, value,
reason); a file without a single good row is still an error.

Files appear only when complete: they are written as hidden `.partial` files beside their target and renamed
at the end; an error, Ctrl+C or SIGTERM (`sigterm_as_interrupt`) removes them.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..artifacts.paths import REJECTS_SUFFIX
from ..core.config import Config
from ..core.errors import UserError
from ..data.tables import mark_missing, read_table, table_kind
from .row_checks import check_rows
from .scoring import Scorer
from .trained_model import load_trained

PREDICTION_COLUMN = "prediction"
PROBABILITY_PREFIX = "probability_"
ON_ERROR = ("fail", "skip")
SHOWN_PROBLEMS = 5  # bad values quoted in the error message


def score_file(
    config: Config,
    source: Path,
    target: Path,
    chunk_rows: int = 50_000,
    on_error: str = "fail",
    workers: int | None = 1,
) -> dict[str, Any]:
    """Score a CSV or Parquet file chunk by chunk (memory stays flat) into a CSV or Parquet file: the ID
    columns that are present, the prediction and, for classifiers, one probability column per class.
    Rows that break the data contract fail the command, or with `on_error="skip"` go to the rejects file."""
    if on_error not in ON_ERROR:
        raise UserError(f"--on-error is {on_error!r}; use {' or '.join(ON_ERROR)}")
    if chunk_rows < 1:
        raise UserError(f"--chunk-rows is {chunk_rows}; it must be at least 1, e.g. 50000")
    rejects_path = rejects_path_for(target)
    _check_paths(source, target, rejects_path if on_error == "skip" else None)
    started = time.perf_counter()
    trained = load_trained(config)
    scorer = Scorer(trained, fast=False)
    features = trained.input_features
    numeric = [feature["name"] for feature in features if feature["kind"] == "numeric"]
    tally = _Tally()
    rows = scored = 0
    with ExitStack() as files:
        writer = files.enter_context(_ChunkWriter(target))
        rejects = files.enter_context(_ChunkWriter(rejects_path)) if on_error == "skip" else None
        for raw in read_table(source, chunk_rows):
            raw = _columns_used(raw, features, config, source)
            # Missing values as in training: configured markers everywhere, common ones in numeric columns.
            chunk = mark_missing(raw.copy(deep=False), config.data.missing_values, numeric=numeric)
            checked = check_rows(chunk, raw, features, first_row=rows + 1)
            rows += len(chunk)
            tally.add(checked.problems)
            if rejects is not None:
                rejects.write(checked.problems)  # the header at least: an empty list says "none"
            if tally.rows and on_error == "fail":
                continue  # nothing will be written: only count the bad rows
            good = checked.frame if checked.valid.all() else checked.frame[checked.valid]
            if len(good):
                writer.write(_scored(good, scorer, config))
                scored += len(good)
        if rows == 0:
            raise UserError(f"{source} has no rows to score (only a header, or no data at all)")
        if tally.rows and (on_error == "fail" or scored == 0):
            raise UserError(tally.message(source, rows, on_error, rejects_path))
    return {
        "rows": scored,
        "rejected": tally.rows,
        "rejects": str(rejects_path) if on_error == "skip" else None,
        "output": str(target),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _columns_used(
    raw: pd.DataFrame, features: list[dict[str, Any]], config: Config, source: Path
) -> pd.DataFrame:
    """The feature and ID columns of a chunk (the others are never read: no time spent on them)."""
    names = [feature["name"] for feature in features]
    missing = [name for name in names if name not in raw.columns]
    if missing:
        raise UserError(f"{source} lacks the feature column(s) {', '.join(map(repr, missing))}")
    ids = [name for name in config.data.id_columns if name in raw.columns and name not in names]
    return raw[ids + names]


def rejects_path_for(target: Path) -> Path:
    """Where the rows that break the contract go: `<output stem>.rejects.csv` beside the output."""
    return target.with_name(target.stem + REJECTS_SUFFIX)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (`kill`, a stopped container or job) unwinds like Ctrl+C, so that no `.partial` file is left
    behind; the previous handler is back afterwards. Only the main thread may set handlers: elsewhere the
    process keeps its own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------------------------------------
# Paths


def _check_paths(source: Path, target: Path, rejects: Path | None) -> None:
    """File types known, the input there, and no output that would overwrite the input."""
    kinds = [table_kind(path) for path in (source, target)]
    if not source.is_file():
        raise UserError(f"input file {source} does not exist")
    for option, path in (("--output", target), ("the rejects file of --output", rejects)):
        if path is not None and _same_file(source, path):
            raise UserError(
                f"{option} ({path}) is the input file {source}: scoring would overwrite it; write to "
                f"another file, e.g. --output {target.with_name(f'{source.stem}_scored{target.suffix}')}"
            )
    if "parquet" in kinds:
        _require_pyarrow()


def _same_file(one: Path, other: Path) -> bool:
    """The same file, also through a link or another spelling of the path."""
    if one.exists() and other.exists():
        return os.path.samefile(one, other)
    return one.resolve() == other.resolve()


def _require_pyarrow() -> None:
    """Streaming Parquet needs pyarrow, which the serving set leaves out (the Docker image): say so."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UserError(
            "Parquet files need pyarrow, which this environment lacks (it is in the `training` dependency "
            "group: `uv sync --group training`); CSV input and output work without it"
        ) from None


@dataclass
class _Tally:
    """The bad rows of a file so far: how many, and the first few problems for the message."""

    rows: int = 0
    values: int = 0
    first: list[str] = field(default_factory=list)

    def add(self, problems: pd.DataFrame) -> None:
        self.rows += problems["row"].nunique()
        self.values += len(problems)
        quoted = problems.head(SHOWN_PROBLEMS - len(self.first))
        for row, column, value, reason in quoted.itertuples(index=False):
            self.first.append(f"row {row}, column {column!r}: value {value!r}: {reason}")

    def message(self, source: Path, rows: int, on_error: str, rejects: Path) -> str:
        """One line: how many rows are bad, the first few problems, what to do."""
        shown = "; ".join(self.first) + (
            f"; … ({self.values:,} bad values in all)" if self.values > len(self.first) else ""
        )
        counted = "rows are counted from 1, the row under the header"
        if on_error == "skip":
            return f"no row of {source} fits the model's data contract ({rows:,} rows; {counted}): {shown}"
        return (
            f"{self.rows:,} of {rows:,} rows of {source} break the model's data contract, so nothing was "
            f"written ({counted}): {shown}. Fix them, or rerun with --on-error skip to score the other rows "
            f"and write the bad ones to {rejects}"
        )


# ---------------------------------------------------------------------------------------------------------
# Reading and writing


def _scored(chunk: pd.DataFrame, scorer: Scorer, config: Config) -> pd.DataFrame:
    predictions = scorer.predict_frame(chunk)
    ids = [name for name in config.data.id_columns if name in chunk.columns]
    out = chunk[ids].reset_index(drop=True).copy()
    out[PREDICTION_COLUMN] = predictions.labels
    if predictions.probabilities is not None:
        for index, label in enumerate(scorer.trained.classes):
            out[f"{PROBABILITY_PREFIX}{label}"] = predictions.probabilities[:, index]
    return out


class _ChunkWriter:
    """Appends chunks to a hidden temporary file beside the target; renames it into place on success.
    Any failure to write is a UserError naming the path."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.parquet = table_kind(target) == "parquet"
        self.temp = target.with_name(f".{target.name}.partial")
        self.writer: Any = None
        self.columns: list[str] | None = None

    def __enter__(self) -> _ChunkWriter:
        with self._writing():  # fail now, before any scoring, when the place cannot be written
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.temp.touch()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        with self._writing():
            self._write(frame)

    def _write(self, frame: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            # IDs as text: a chunk whose IDs are all missing must not change the file's column types.
            ids = [
                c for c in frame.columns if c != PREDICTION_COLUMN and not c.startswith(PROBABILITY_PREFIX)
            ]
            table = pa.Table.from_pandas(frame.astype(dict.fromkeys(ids, "string")), preserve_index=False)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.temp, table.schema)
            self.writer.write_table(table.cast(self.writer.schema))
        else:
            frame.to_csv(self.temp, mode="a" if self.columns else "w", header=not self.columns, index=False)
            self.columns = list(frame.columns)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            where = exc.filename or self.target
            if isinstance(exc, FileExistsError | NotADirectoryError):
                reason = f"{where} is a file, not a folder"  # a file on the way to the target
            else:
                reason = f"{exc.strerror or exc} ({where})"
            raise UserError(
                f"cannot write {self.target}: {reason}; choose a path in a folder you can write to"
            ) from None

    def __exit__(self, kind, error, traceback) -> None:
        if self.writer is not None:
            self.writer.close()
        if error is None and (self.columns is not None or self.writer is not None):
            with self._writing():
                self.temp.replace(self.target)
        else:
            self.temp.unlink(missing_ok=True)
