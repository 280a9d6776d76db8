"""The shadow: a second model version that scores every predicted record off the request path, so that a
challenger is judged on live traffic before anyone promotes it.

The request path only queues (records, prediction_ids, request_id, ids): one append and a counter, never a
wait. The queue holds at most `api.shadow_queue_records` records; beyond that the records are not
shadow-scored, and /metrics counts them. A worker thread takes everything queued, scores it with the
shadow model in one call, and writes lines in the prediction log's format to logs/shadow/: the same
prediction_id and request_id as the current model's answer, the shadow's model_version. The thread keeps
normal priority: niced, it was preempted while holding the interpreter lock and stalled the event loop.
A failure of the shadow on a batch is logged and counted, never seen by a request. Answers always come
from the current model.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any

from ...core.config import Config
from .deployment import Deployment
from .metrics import Metrics
from .prediction_log import PredictionLog
from .settings import ApiSettings

logger = logging.getLogger(f"{__package__.split('.')[0]}.api")
BATCH_RECORDS = 1024  # records per shadow model call, at most
_STOP = object()


class Shadow:
    """Scores queued requests with `deployment` on its own thread and logs the answers."""

    def __init__(
        self, config: Config, settings: ApiSettings, metrics: Metrics, deployment: Deployment
    ) -> None:
        self.deployment = deployment
        self.capacity = settings.shadow_queue_records
        self.metrics = metrics
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending = 0  # records queued and not yet scored
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)
        metadata = deployment.trained.metadata
        self.log = PredictionLog(
            config.shadow_log_dir,
            max_bytes=settings.prediction_log_max_bytes,
            max_files=settings.prediction_log_max_files,
            positive_class=metadata.positive_class,
            on_drop=metrics.shadow_dropped.inc,
            id_columns=config.data.id_columns,
        )

    @property
    def version(self) -> str:
        return self.deployment.version

    def start(self) -> None:
        self.log.start()
        self._thread.start()

    def stop(self) -> None:
        """Score what is queued, write it out, then stop (called on a worker thread: it may take a while)."""
        self._queue.put(_STOP)
        self._thread.join(60)
        self.log.stop()

    def offer(
        self,
        records: Sequence[dict[str, Any]],
        prediction_ids: Sequence[str],
        request_id: str,
        ids: Sequence[dict[str, Any]] | None,
    ) -> None:
        """Queue one request's records (event loop; never blocks). Dropped and counted when full."""
        size = len(records)
        with self._lock:
            if self._pending + size > self.capacity:
                full = True
            else:
                full = False
                self._pending += size
        if full:
            self.metrics.shadow_dropped.inc(size)
            return
        self._queue.put((records, prediction_ids, request_id, ids))

    # Worker thread ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        _one_native_thread()
        stopping = False
        while not stopping:
            jobs = [self._queue.get()]
            size = 0 if jobs[0] is _STOP else len(jobs[0][0])
            while size < BATCH_RECORDS:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                size += 0 if job is _STOP else len(job[0])
            if _STOP in jobs:
                stopping = True
                jobs = [job for job in jobs if job is not _STOP]
            if jobs:
                self._score(jobs)

    def _score(self, jobs: list[tuple]) -> None:
        records = [record for job in jobs for record in job[0]]
        try:
            labels, probabilities = self._predict(records)
        except Exception as error:  # the shadow's own failure: counted and logged, never a request's
            self.metrics.shadow_failures.inc(len(records))
            logger.warning("shadow %s could not score %d record(s): %s", self.version, len(records), error)
            return
        finally:
            with self._lock:
                self._pending -= len(records)
        self.metrics.shadow_scored.inc(len(records))
        start = 0
        for job_records, prediction_ids, request_id, ids in jobs:
            end = start + len(job_records)
            rows = probabilities[start:end] if probabilities is not None else None
            self.log.add(request_id, self.version, job_records, labels[start:end], rows, prediction_ids, ids)
            start = end

    def _predict(self, records: list[dict[str, Any]]) -> tuple[list[Any], list[dict[str, float]] | None]:
        labels, probabilities, finite = self.deployment.answers(records)
        if not all(finite):
            raise ValueError("the shadow's output is not a finite number for some records")
        return labels, probabilities


def _one_native_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
