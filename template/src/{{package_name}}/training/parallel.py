"""Cross-validation folds fitted at once (`model.n_jobs`), without oversubscribing the cores.

Folds run in threads of this process: the training table is shared rather than copied into each worker
(a million rows of text columns is gigabytes per process), and the expensive parts (the boosting's
histogram and tree loops, NumPy, the one-hot encoding's hashing) release the GIL. Each fold's OpenMP
threads are capped at cores / folds at once, so two folds on two cores use two threads, not four.
When the last round of folds would leave a worker idle, `train` runs its final fit there (`evaluate`).
The number of folds at once is also capped by the memory a fold needs (the encoded copy of its rows).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from ..core.config import Config

Result = TypeVar("Result")

# Bytes a fold holds per training cell, roughly: the coerced copy, the encoded float matrix (one-hot columns
# widen it) and the boosting's binned copy and gradients. Measured near 25 on the default sample; kept
# generous so that parallel folds never push a laptop into swap.
BYTES_PER_CELL = 48
# Share of the memory available now that parallel folds may use together.
MEMORY_SHARE = 0.5


def cores() -> int:
    """The cores this process may run on (its CPU affinity, as in a container), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux /proc/meminfo), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def fold_workers(config: Config, folds: int, rows: int, columns: int) -> int:
    """How many folds to fit at once: `model.n_jobs` when set, else as many as cores and memory allow.
    The random forest already spreads its trees over every core: its folds run one after the other
    unless `model.n_jobs` says otherwise."""
    if config.model.n_jobs is not None:
        return max(1, min(config.model.n_jobs, folds))
    if config.model.family == "random_forest":
        return 1
    workers = min(cores(), folds)
    memory = available_memory()
    if memory is not None:
        per_fold = max(1, rows * max(columns, 1) * BYTES_PER_CELL)
        workers = min(workers, max(1, int(memory * MEMORY_SHARE // per_fold)))
    return workers


def idle_at_the_end(folds: int, workers: int) -> bool:
    """Whether the last round of `folds` leaves a worker idle (five folds on two workers: the fifth runs
    alone), a slot where other work (the final fit) costs no time."""
    return workers > 1 and folds % workers != 0


def run_parallel(tasks: list[Callable[[], Result]], workers: int) -> Iterator[tuple[int, Result]]:
    """Run `tasks`, at most `workers` at once, yielding (task index, result) as each one finishes, so the
    caller can report progress in the order work completes. One worker: in order, in this thread."""
    if workers <= 1:
        for index, task in enumerate(tasks):
            yield index, task()
        return
    threads = max(1, cores() // workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future[Any], int] = {
            pool.submit(_limited, task, threads): index for index, task in enumerate(tasks)
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=pending.__getitem__):
                yield pending.pop(future), future.result()


def _limited(task: Callable[[], Result], threads: int) -> Result:
    """Run `task` with at most `threads` OpenMP threads. The cap is set in the worker thread itself:
    OpenMP's thread count is a per-thread setting, which a cap set in the main thread would not reach."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="openmp"):
        return task()
