"""The prediction log: what the model was asked and what it answered, for drift monitoring and audits.

One JSON object per scored record (`artifacts.log_line.LogLine`: the format is defined there, beside
the parser the drift monitor uses), one file per server process under logs/predictions/. In the same batch
the writer adds each logged prediction's id and ID-column values to the prediction index
(`artifacts.prediction_index`, which the feedback endpoint reads), and after each new file prunes the
index of predictions older than the first line of the oldest log file kept. The index helps count the
outcomes matched: when it cannot be written the log goes on (the failure is logged); the log itself stays
the record.

Entries are queued by the request and written in batches by a background thread. A file is closed at
`max_bytes` and a new one begun; beyond `max_files` files the oldest are deleted (but not the file another
worker process is writing to). If the writer falls behind by `capacity` requests, new entries are dropped
and counted rather than slowing the API down.

When the log cannot be written (a full disk, a file size limit, an I/O error, a directory made read-only),
requests are still answered: the records of each failed batch are dropped and counted like an overflow, a
write that failed part way is cut back to the last whole line (the file stays one JSON object per line),
and `failure` says why, which turns /ready to 503 so that a load balancer sends the traffic elsewhere.
One error line is logged when an outage begins and one info line, with the records lost, when it ends.
While the log is unwritable every batch that comes is still tried: a failed write costs one system call.
Without traffic (the load balancer drained the server) a probe every PROBE_SECONDS appends PROBE_BYTES of
padding and cuts it off again. The first write that works makes the log, and the server, ready again.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...artifacts.log_line import LINE_PREFIX, STAMP_LENGTH, LogLine, stamp
from ...artifacts.paths import PREDICTION_LOG_SUFFIX
from ...artifacts.prediction_index import PredictionIndex, id_key
from .writer import BackgroundWriter

logger = logging.getLogger(f"{__package__.split('.')[0]}.api")
ACTIVE_SECONDS = 600
# While the log cannot be written and no traffic comes: how often, and with how much, writing is tried.
# Enough bytes to need a new block of the file system, so that a full disk shows.
PROBE_SECONDS = 5.0
PROBE_BYTES = 8192
# A log file's name begins with the UTC time it was begun: sorted by name is oldest first.
BEGUN_FORMAT = "%Y-%m-%dT%H%M%S.%fZ"


class WriteHealth:
    """Whether the log can be written. Counts what a failed write loses; logs an outage once when it
    begins and once, with the records lost, when it ends."""

    def __init__(
        self,
        on_drop: Callable[[int], None] | None = None,
        on_writable: Callable[[bool], None] | None = None,
    ) -> None:
        self.failure: str | None = None  # why the log cannot be written (the system's words, no path)
        self.lost = 0  # records dropped since the outage began
        self._on_drop = on_drop
        self._on_writable = on_writable

    def failed(self, error: OSError, lost: int, where: Path | None) -> None:
        if lost and self._on_drop is not None:
            self._on_drop(lost)
        self.lost += lost
        if self.failure is not None:
            return
        self.failure = error.strerror or str(error) or type(error).__name__
        if self._on_writable is not None:
            self._on_writable(False)
        logger.error(
            "the prediction log cannot be written (%s): %s; predictions are still answered, their log "
            "entries are dropped and counted until a write works again",
            where,
            error,
        )

    def succeeded(self) -> None:
        if self.failure is None:
            return
        logger.info(
            "the prediction log is written again; %d record(s) could not be logged while it failed",
            self.lost,
        )
        self.failure, self.lost = None, 0
        if self._on_writable is not None:
            self._on_writable(True)


class PredictionLog:
    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        max_files: int,
        positive_class: Any = None,
        capacity: int = 100_000,
        on_drop: Callable[[int], None] | None = None,
        on_writable: Callable[[bool], None] | None = None,
        index: Path | None = None,
        id_columns: Sequence[str] = (),
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.positive_class = positive_class
        self.id_columns = tuple(id_columns)
        self._index = PredictionIndex(index) if index is not None else None
        self._index_failure: str | None = None
        self._rotated = False
        # Requests queued (event loop) and requests written (writer thread), in queue order: a reader of the
        # index waits until what was queued before it asked is written (`written_up_to`).
        self._queued = 0
        self.written = 0
        self._writer = BackgroundWriter(
            self._write,
            name="prediction-log",
            capacity=capacity,
            on_drop=on_drop,
            on_error=lambda error: logger.error("could not write the prediction log: %s", error),
            idle=PROBE_SECONDS,
        )
        self.health = WriteHealth(on_drop, on_writable)
        self._fd: int | None = None  # unbuffered: a failed write leaves nothing behind to write later
        self._path: Path | None = None
        self._size = 0

    @property
    def failure(self) -> str | None:
        """Why the log cannot be written now, or None."""
        return self.health.failure

    def start(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # the server still starts: not ready, and the writer keeps trying
            self.health.failed(error, 0, self.directory)
        self._writer.start()

    def stop(self) -> None:
        """Write out everything queued, then close the file (and the index)."""
        self._writer.close()
        self._close()
        if self._index is not None:
            self._index.close()

    def add(
        self,
        request_id: str,
        model_version: str,
        records: Sequence[dict[str, Any]],
        labels: Sequence[Any],
        probabilities: Sequence[dict[str, float]] | None,
        prediction_ids: Sequence[str] | None = None,
        ids: Sequence[dict[str, Any]] | None = None,
        uncertainty: tuple[float, Sequence[Any]] | None = None,
        warnings: Sequence[list[dict[str, str]]] | None = None,
    ) -> None:
        """Queue the entries of one request (cheap: serialising happens on the writer thread). Called on
        the event loop only. `uncertainty`: the coverage level and, per record, its interval or set;
        `warnings`: per record, its input warnings."""
        number = self._queued + 1
        item = (datetime.now(UTC), request_id, model_version, records, labels, probabilities)
        if self._writer.put((number, item, prediction_ids, ids, uncertainty, warnings), weight=len(records)):
            self._queued = number

    @property
    def queued(self) -> int:
        """How many requests were queued so far: `written` reaches it once they are written (or lost)."""
        return self._queued

    # Writer thread ------------------------------------------------------------------------------------------

    def _write(self, items: list[tuple]) -> None:
        if not items:  # nothing came for PROBE_SECONDS
            if self.health.failure is not None:
                self._try(b" " * PROBE_BYTES, records=0, keep=False)
            return
        try:
            lines: list[str] = []
            entries: list[tuple[str, str | None, str]] = []
            for _, item, prediction_ids, ids, uncertainty, warnings in items:
                lines += self._lines(*item, prediction_ids, ids, entries, uncertainty, warnings)
            records = sum(len(item[1][3]) for item in items)
            written = self._try("".join(lines).encode("utf-8"), records=records, keep=True)
            if written and self._index is not None:
                self._update_index(entries)
        finally:  # written, or lost and counted: nobody waits for these any longer
            self.written = items[-1][0]

    def _try(self, data: bytes, *, records: int, keep: bool) -> bool:
        try:
            self._append(data, keep=keep)
        except OSError as error:
            self.health.failed(error, records, self._path or self.directory)
            return False
        self.health.succeeded()
        return True

    def _update_index(self, entries: list[tuple[str, str | None, str]]) -> None:
        """Index what was just logged; after a new log file was begun (and old ones deleted), forget the
        predictions older than the oldest file kept. A failure is logged once, when it begins."""
        try:
            if entries:
                self._index.add(entries)
            if self._rotated:
                self._rotated = False
                oldest = self._oldest_logged()
                if oldest is not None:
                    self._index.prune(oldest)
        except Exception as error:  # sqlite3.Error or OSError: the log goes on without the index
            self._index.close()  # opened again on the next batch
            if self._index_failure is None:
                logger.error("could not update the prediction index (%s): %s", self._index.path, error)
            self._index_failure = str(error)
        else:
            if self._index_failure is not None:
                logger.info("the prediction index is updated again")
            self._index_failure = None

    def _oldest_logged(self) -> str | None:
        """The timestamp of the first line of the oldest log file kept (of any worker process): the oldest
        prediction still in the log. None when that file holds no whole first line yet."""
        for path in sorted(self.directory.glob(f"*{PREDICTION_LOG_SUFFIX}")):
            try:
                with path.open("rb") as handle:
                    head = handle.read(len(LINE_PREFIX) + STAMP_LENGTH)
            except FileNotFoundError:  # deleted meanwhile by another worker
                continue
            if head.startswith(LINE_PREFIX) and len(head) == len(LINE_PREFIX) + STAMP_LENGTH:
                return head[len(LINE_PREFIX) :].decode("ascii", "replace")
            return None
        return None

    def _append(self, data: bytes, *, keep: bool) -> None:
        """Append whole lines or nothing: a write that fails part way is cut back to where it began.
        `keep=False` (the probe) cuts the data off again after writing it."""
        full = keep and self._size and self._size + len(data) > self.max_bytes
        if self._fd is None or full or not self._path.exists():  # (deleted by hand or by another worker)
            self._rotate()
        start = self._size
        try:
            _write_all(self._fd, data)
        except OSError as error:
            self._cut_back(start, error.errno)
            raise
        if keep:
            self._size += len(data)
        else:
            self._cut_back(start, None)

    def _cut_back(self, size: int, error_number: int | None) -> None:
        try:
            os.ftruncate(self._fd, size)
        except OSError:  # the cut-off line stays last in its file (readers skip it): begin a new file
            self._close()
            return
        if error_number == errno.EFBIG and size > 0:  # this file may not grow: the next write begins another
            self._close()

    def _lines(
        self,
        moment,
        request_id,
        model_version,
        records,
        labels,
        probabilities,
        prediction_ids=None,
        ids=None,
        entries: list[tuple[str, str | None, str]] | None = None,
        uncertainty=None,
        warnings=None,
    ) -> list[str]:
        """The request's log lines; its (prediction_id, ID key, stamp) index entries added to `entries`."""
        timestamp = stamp(moment)
        coverage, answers = uncertainty if uncertainty is not None else (None, None)
        sets = probabilities is not None
        lines = []
        for index, (record, label) in enumerate(zip(records, labels, strict=True)):
            chosen = classes = None
            if probabilities is not None:
                classes = probabilities[index]
                positive = classes.get(str(self.positive_class)) if len(classes) == 2 else None
                chosen = positive if positive is not None else max(classes.values())
            prediction_id = prediction_ids[index] if prediction_ids is not None else None
            carried = (ids[index] or None) if ids is not None else None
            answer = answers[index] if answers is not None else None
            line = LogLine(
                timestamp, request_id, model_version, record, label, chosen, classes, prediction_id, carried,
                coverage, None if sets else answer, answer if sets else None,
                warnings[index] if warnings is not None else None,
            )  # fmt: skip
            lines.append(line.encode())
            if prediction_id is not None and entries is not None:
                key = id_key([carried.get(name) for name in self.id_columns]) if carried else None
                entries.append((prediction_id, key, timestamp))
        return lines

    def _rotate(self) -> None:
        self._close()
        self.directory.mkdir(parents=True, exist_ok=True)  # deleted by hand: made again
        begun = datetime.now(UTC).strftime(BEGUN_FORMAT)
        path = self.directory / f"{begun}-{os.getpid()}{PREDICTION_LOG_SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
        self._path, self._size = path, 0
        self._rotated = True
        try:
            self._prune()
        except OSError as error:  # old files that cannot be deleted do not stop the new one being written
            logger.warning("could not delete old prediction log files: %s", error)

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):  # an error reported at close: the descriptor is freed anyway
                os.close(fd)

    def _prune(self) -> None:
        """Delete the oldest files beyond max_files. Other worker processes write to their newest file:
        that one is kept while it is in use (changed in the last ACTIVE_SECONDS)."""
        # Names start with the UTC time they were begun: sorted by name is oldest first, across processes.
        files = sorted(self.directory.glob(f"*{PREDICTION_LOG_SUFFIX}"))
        newest = {path.stem.rsplit("-", 1)[-1]: path for path in files}
        now = time.time()
        in_use = {self._path} | {
            path for path in newest.values() if _changed_since(path, now - ACTIVE_SECONDS)
        }
        excess = len(files) - self.max_files
        for path in files:
            if excess <= 0:
                break
            if path not in in_use:
                path.unlink(missing_ok=True)
                excess -= 1


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write only part (a disk that fills up on the way): write on until all is written or
    the system says why not (OSError)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _changed_since(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime > moment
    except FileNotFoundError:
        return False
