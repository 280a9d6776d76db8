"""Chunks of a file scored by worker processes, one per core, with the results handed back in the input's
order (so the output equals the one of a single process, row for row).

- Each worker loads the model once, from the version folder the command pinned at its start: a model
  promoted meanwhile does not change a run halfway.
- At most `IN_FLIGHT_PER_WORKER` chunks per worker are read ahead, so memory stays flat however long the
  file is (the command cuts the file, the workers read, check, score and encode, the command writes).
- Workers start from a fresh server process (`forkserver`, where the platform has it; else `spawn`), never
  by forking the command itself, whose OpenMP threads (if it trained or scored before) would deadlock a
  forked child; the server imports the scoring code and the model reader once (`PRELOAD`), and each
  worker is a copy of it.
- Ctrl+C reaches every process of the terminal: workers ignore it and the command stops them. On any error,
  Ctrl+C or SIGTERM the workers are terminated before the error goes on, so none outlives the command.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from ..artifacts.paths import ModelFolder
from ..core.config import Config
from ..core.errors import UserError
from .batch_input import ChunkJob
from .batch_output import ChunkResult

IN_FLIGHT_PER_WORKER = 2  # chunks queued or being scored per worker: enough to keep every core busy
STOP_SECONDS = 5.0  # how long a terminated worker may take before it is killed

# Imported once by the fork server, so that each worker starts with them: the scoring code and the model
# file reader (which import most of scikit-learn; the command itself never imports them when workers
# score). A module that is missing is skipped.
PRELOAD = [__name__, f"{__package__}.batch_chunks", f"{__package__}.trained_model", "skops.io"]

_WORKER: dict[str, Any] = {}  # in a worker process: its ChunkScorer, or the error that stopped its start


@contextmanager
def scored_in_workers(
    config: Config, folder: ModelFolder, parquet: bool, jobs: Iterable[ChunkJob], workers: int
) -> Iterator[Iterator[ChunkResult]]:
    """The results of `jobs`, in order, from `workers` processes; they are gone when the block ends."""
    context = multiprocessing.get_context(_start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    threads = max(1, (os.cpu_count() or 1) // workers)  # each worker's share of the cores
    executor = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(config, folder, parquet, threads)
    )
    try:
        yield _in_order(executor, jobs, workers * IN_FLIGHT_PER_WORKER)
    except BaseException:
        _stop(executor)
        raise
    executor.shutdown(wait=True)


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _in_order(
    executor: ProcessPoolExecutor, jobs: Iterable[ChunkJob], in_flight: int
) -> Iterator[ChunkResult]:
    """Submit jobs as results come back, never more than `in_flight` at once; yield results in order."""
    pending: deque[Future[ChunkResult]] = deque()
    for job in jobs:
        pending.append(executor.submit(_score, job))
        if len(pending) >= in_flight:
            yield _result(pending.popleft())
    while pending:
        yield _result(pending.popleft())


def _result(future: Future[ChunkResult]) -> ChunkResult:
    try:
        return future.result()
    except BrokenProcessPool:
        raise UserError(
            "a scoring worker process ended abruptly (killed, or out of memory?); rerun with fewer rows at "
            "a time (--chunk-rows), fewer workers (--workers), or --workers 1 to score in this process"
        ) from None


def _stop(executor: ProcessPoolExecutor) -> None:
    """Terminate the workers now (not after their current chunk), then wait until they are gone. The
    executor has no public way to do this before Python 3.14 (`terminate_workers`): its processes are
    read from the attribute every version has."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()


# ---------------------------------------------------------------------------------------------------------
# In a worker process


def _start_worker(config: Config, folder: ModelFolder, parquet: bool, threads: int) -> None:
    """Load the model once. A failure is kept and raised by the first chunk, so that the command shows it
    as its one error line (an error of the initializer itself would only break the pool). The worker's
    native thread pools (OpenMP of the boosting, BLAS) get its share of the cores: one per worker on a
    full pool, rather than every core each, which would make the workers fight over them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C: the command stops the workers itself
    try:
        from threadpoolctl import threadpool_limits

        from .batch_chunks import ChunkScorer  # preloaded by the fork server (PRELOAD)
        from .trained_model import load_trained

        threadpool_limits(threads)
        _WORKER["scorer"] = ChunkScorer(config, load_trained(config, folder=folder), parquet)
    except Exception as error:  # noqa: BLE001 (raised again, in the command, by the first chunk)
        _WORKER["error"] = error


def _score(job: ChunkJob) -> ChunkResult:
    if "error" in _WORKER:
        raise _WORKER["error"]
    return _WORKER["scorer"](job)
