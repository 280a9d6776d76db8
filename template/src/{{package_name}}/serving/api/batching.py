"""Adaptive micro-batching: concurrent requests are scored together in one model call.

A model call costs a few milliseconds whatever the number of rows (the estimator walks its trees or
pipeline steps once per call), while one record costs microseconds. So one call for the records of many
concurrent requests is far cheaper than one call per request.

How a batch forms: requests queue their records; one task takes everything queued (up to `max_records`)
and hands it to a single worker thread, so the event loop keeps accepting requests meanwhile. Under load,
requests pile up while a call runs, and the next batch is as large as the load: the batch size adapts by
itself. When the worker is idle and traffic is concurrent, the first request waits at most `max_wait`
seconds for others to join it; a lone client (recent batches of one request) never waits.

Jobs may carry a key (`keyed=True`; the server keys them by the deployment that answers them): a batch
holds jobs of one key only, cut where the key changes, and `process(items, key)` receives it, so that one
model call never mixes two models.

Each caller gets the answers for its own records; when a batch fails, its requests are retried one by
one, so one bad request cannot fail the others. A request of more than `max_records` records is scored
in several calls, so that it cannot hold the model thread for long.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Job(Generic[Item]):
    items: Sequence[Item]
    future: asyncio.Future = field(repr=False)
    key: Any = None


class MicroBatcher(Generic[Item, Result]):
    """`await batcher.submit(items)` returns `process(items)`, computed together with concurrent submits.

    `process` receives the items of several requests in one list (and, `keyed`, their common key) and must
    return one result per item.
    """

    def __init__(
        self,
        process: Callable[[list[Item]], list[Result]],
        *,
        max_records: int = 256,
        max_wait: float = 0.002,
        name: str = "batch",
        thread_initializer: Callable[[], Any] | None = None,
        keyed: bool = False,
    ) -> None:
        self.process = process
        self.keyed = keyed
        self.max_records = max_records
        self.max_wait = max_wait
        self.name = name
        self.on_batch: Callable[[int, int], None] | None = None  # (requests, records), after each call
        self._jobs: deque[_Job[Item]] = deque()
        self._queued = 0  # records waiting in self._jobs
        self._target = 1  # records of the last batch: how many to wait for (at most max_wait)
        self._work = asyncio.Event()  # something is queued
        self._enough = asyncio.Event()  # the target is reached, or the wait is over
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name, initializer=thread_initializer)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{self.name}-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for job in self._jobs:
            if not job.future.done():
                job.future.set_exception(RuntimeError("the server is shutting down"))
        self._jobs.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def submit(self, items: Sequence[Item], key: Any = None) -> list[Result]:
        """The results for `items`, in order. More than max_records items are scored in several calls, so
        that one large request cannot hold the model thread (and, for C code that keeps the interpreter
        lock, the whole server) for long while other requests wait."""
        if self._task is None or self._task.done():
            raise RuntimeError(f"the {self.name} batcher is not running")
        size = self.max_records
        if len(items) <= size:
            return await self._enqueue(items, key)
        parts = await asyncio.gather(
            *(self._enqueue(items[i : i + size], key) for i in range(0, len(items), size))
        )
        return [result for part in parts for result in part]

    def _enqueue(self, items: Sequence[Item], key: Any) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._jobs.append(_Job(items, future, key))
        self._queued += len(items)
        self._work.set()
        if self._queued >= self._target:
            self._enough.set()
        return future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._jobs:
                self._work.clear()
                await self._work.wait()
            if self.max_wait > 0 and self._queued < self._target:
                # Concurrent traffic (the last batch held several records): give the others a moment.
                self._enough.clear()
                timer = loop.call_later(self.max_wait, self._enough.set)
                await self._enough.wait()
                timer.cancel()
            batch = self._take()
            if not batch:
                continue
            records = sum(len(job.items) for job in batch)
            self._target = min(records, self.max_records)
            try:
                results = await loop.run_in_executor(self._executor, self._call, batch)
            except Exception as error:  # the executor itself failed (shutdown): fail this batch only
                results = [error] * len(batch)
            for job, result in zip(batch, results, strict=True):
                if job.future.done():  # the client went away
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)

    def _take(self) -> list[_Job[Item]]:
        """Whole jobs, oldest first, up to max_records records, all of the first job's key."""
        batch: list[_Job[Item]] = []
        records = 0
        while self._jobs:
            job = self._jobs[0]
            if batch and (records + len(job.items) > self.max_records or job.key is not batch[0].key):
                break
            self._jobs.popleft()
            self._queued -= len(job.items)
            if job.future.done():  # cancelled while queued
                continue
            batch.append(job)
            records += len(job.items)
        return batch

    def _call(self, batch: list[_Job[Item]]) -> list[list[Result] | BaseException]:
        """Runs on the worker thread: one call for the whole batch, or one per request if that fails."""
        items = [item for job in batch for item in job.items]
        try:
            results = self.process(items, batch[0].key) if self.keyed else self.process(items)
        except Exception as error:
            if len(batch) == 1:
                return [error]
            return [self._call([job])[0] for job in batch]
        if len(results) != len(items):
            error = RuntimeError(f"{self.name}: {len(results)} results for {len(items)} records")
            return [error] * len(batch)
        if self.on_batch is not None:
            self.on_batch(len(batch), len(items))
        answers: list[list[Result] | BaseException] = []
        start = 0
        for job in batch:
            answers.append(results[start : start + len(job.items)])
            start += len(job.items)
        return answers
