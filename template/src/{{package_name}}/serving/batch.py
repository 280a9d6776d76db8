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

from ..artifacts.metadata import ModelMetadata
from ..artifacts.model_store import model_folder
from ..artifacts.paths import REJECTS_SUFFIX, ModelFolder
from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import RowProgress
from ..data.tables import table_kind
from ..training.conformal import check_coverage
from .batch_input import BatchInput, ChunkJob
from .batch_output import ChunkResult, ChunkWriter
from .batch_workers import scored_in_workers

ON_ERROR = ("fail", "skip")
SHOWN_PROBLEMS = 5  # bad values quoted in the error message
# Starting workers (each loads the model) takes seconds: files of at most this many chunks are scored in
# the command's own process, whatever --workers says, and so are files of fewer than AUTO_WORKER_ROWS rows
# unless a number of workers was asked for (--workers, predict.workers).
IN_PROCESS_CHUNKS = 4
AUTO_WORKER_ROWS = 100_000


def score_file(
    config: Config,
    source: Path,
    target: Path,
    chunk_rows: int = 50_000,
    on_error: str = "fail",
    workers: int | None = 1,
    coverage_asked: bool = False,
) -> dict[str, Any]:
    """Score a CSV or Parquet file chunk by chunk (memory stays flat) into a CSV or Parquet file: the ID
    columns that are present, the prediction, for classifiers one probability column per class and, with
    uncertainty on, the conformal interval (interval_low, interval_high) or set (JSON text) at
    uncertainty.coverage (`coverage_asked`: set by `predict --coverage`, so an error if not answerable).
    Rows that break the data contract fail the command, or with `on_error="skip"` go to the rejects file.
    `workers`: processes scoring chunks at once (None: one per core; 1: this process); small files are
    scored in this process (IN_PROCESS_CHUNKS, AUTO_WORKER_ROWS)."""
    if on_error not in ON_ERROR:
        raise UserError(f"--on-error is {on_error!r}; use {' or '.join(ON_ERROR)}")
    if chunk_rows < 1:
        raise UserError(f"--chunk-rows is {chunk_rows}; it must be at least 1, e.g. 50000")
    if workers is not None and workers < 1:
        raise UserError(f"--workers is {workers}; use 1 (this process) or more, or leave it out (one a core)")
    rejects_path = rejects_path_for(target)
    _check_paths(source, target, rejects_path if on_error == "skip" else None)
    started = time.perf_counter()
    folder = model_folder(config.models_dir)  # one version for the whole run, in every worker
    metadata = ModelMetadata.read(folder.metadata)
    check_coverage(config, metadata.uncertainty, coverage_asked)
    features = metadata.input_features
    parquet = table_kind(target) == "parquet"
    tally = Tally()
    rows = scored_rows = 0
    with ExitStack() as files:
        writer = files.enter_context(ChunkWriter(target, parquet))
        rejects = files.enter_context(ChunkWriter(rejects_path, False)) if on_error == "skip" else None
        table = BatchInput.open(source)  # its header or metadata only; rows known for Parquet
        jobs = _jobs(table, chunk_rows, features, config, lambda: not (tally.rows and on_error == "fail"))
        used = _workers_for(source, chunk_rows, workers, table.rows)
        results = _results(files, config, folder, parquet, jobs, used)
        progress = RowProgress("scored" + (f" by {used} processes" if used > 1 else ""), table.rows)
        for result in results:
            result.problems["row"] += rows  # numbered in the chunk: from its first row in the file on
            rows += result.rows
            progress.add(result.rows)
            tally.add(result.problems)
            if rejects is not None:
                rejects.write_frame(result.problems)  # the header at least: an empty list says "none"
            if result.payload is not None and not (tally.rows and on_error == "fail"):
                writer.write(result.payload)
                scored_rows += result.scored
        if rows == 0:
            raise UserError(f"{source} has no rows to score (only a header, or no data at all)")
        if tally.rows and (on_error == "fail" or scored_rows == 0):
            raise UserError(tally.message(source, rows, on_error, rejects_path))
        progress.finish()
    return {
        "rows": scored_rows,
        "rejected": tally.rows,
        "rejects": str(rejects_path) if on_error == "skip" else None,
        "output": str(target),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _results(
    files: ExitStack,
    config: Config,
    folder: ModelFolder,
    parquet: bool,
    jobs: Iterator[ChunkJob],
    workers: int,
) -> Iterator[ChunkResult]:
    """The chunk results, in order: from `workers` worker processes, or from this one (only then does this
    process import the scorer, and with it scikit-learn: seconds the workers need not wait)."""
    if workers > 1:
        return files.enter_context(scored_in_workers(config, folder, parquet, jobs, workers))
    from .batch_chunks import ChunkScorer
    from .trained_model import load_trained

    score = ChunkScorer(config, load_trained(config, folder=folder), parquet)
    return (score(job) for job in jobs)


def _workers_for(source: Path, chunk_rows: int, workers: int | None, rows: int | None) -> int:
    """How many processes score the file: 1 for a small one (see IN_PROCESS_CHUNKS), else `workers`
    (None: one per core). `rows`: the file's row count when known (else guessed from a CSV's size)."""
    count = _worker_count(workers)
    if count == 1:
        return 1
    rows = _csv_rows_guess(source) if rows is None else rows
    if rows <= IN_PROCESS_CHUNKS * chunk_rows or (workers is None and rows < AUTO_WORKER_ROWS):
        return 1
    return count


def _csv_rows_guess(source: Path, sample_bytes: int = 1 << 20) -> int:
    """Rows of a CSV file judged from its size and the lines of its first megabyte (enough to choose
    between one process and several)."""
    with source.open("rb") as handle:
        head = handle.read(sample_bytes)
    lines = head.count(b"\n")
    if not lines or len(head) < sample_bytes:
        return max(lines - 1, 0)
    return int(source.stat().st_size / (len(head) / lines))


def _jobs(table: BatchInput, chunk_rows: int, features, config: Config, score) -> Iterator[ChunkJob]:
    """The file's chunks as jobs; `score()` says, when a chunk is handed out, whether it is still worth
    scoring (not once a bad row fails the file). A missing column fails before any chunk is read."""
    columns = _columns_used(table.columns, features, config, table.path)
    return (ChunkJob(piece, columns, score()) for piece in table.pieces(chunk_rows, columns))


def _worker_count(workers: int | None) -> int:
    """None: one per core this process may use."""
    if workers is not None:
        return workers
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return len(cores) if cores else os.cpu_count() or 1


def _columns_used(
    columns: list[str], features: list[dict[str, Any]], config: Config, source: Path
) -> list[str]:
    """The ID columns present and the feature columns, in that order (the others are never scored)."""
    names = [feature["name"] for feature in features]
    missing = [name for name in names if name not in columns]
    if missing:
        raise UserError(f"{source} lacks the feature column(s) {', '.join(map(repr, missing))}")
    ids = [name for name in config.data.id_columns if name in columns and name not in names]
    return ids + names


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
class Tally:
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
