"""A background thread that writes in batches: the request only queues an item.

Waking a writer thread for every log line would cost the event loop a hand-over of the interpreter lock
per request. Instead the writer wakes on the first queued item, lets items gather for `interval`
seconds, then formats and writes them all in one go; at most `capacity` items wait, beyond that new
items are dropped and counted rather than letting memory grow or the API slow down.

A writer whose target can fail for a while (a full disk) also asks for `write([])` after `idle` seconds
without items: the owner's chance to probe whether writing works again while no traffic comes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

_STOP = object()


class BackgroundWriter:
    def __init__(
        self,
        write: Callable[[list[Any]], None],
        *,
        name: str,
        interval: float = 0.05,
        capacity: int = 100_000,
        on_drop: Callable[[int], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        idle: float | None = None,
    ) -> None:
        self.write = write
        self.interval = interval
        self.capacity = capacity
        self.on_drop = on_drop
        self.on_error = on_error
        self.idle = idle
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, item: Any, weight: int = 1) -> bool:
        """Queue an item (cheap, never blocks); `weight` is what a drop counts (e.g. records). False when
        the item was dropped."""
        if self._queue.qsize() >= self.capacity:
            if self.on_drop is not None:
                self.on_drop(weight)
            return False
        self._queue.put(item)
        return True

    def close(self, timeout: float = 30) -> None:
        """Write out what is queued, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                items = [self._queue.get(timeout=self.idle)]
            except queue.Empty:  # only with `idle` set: nothing came, the write call is the owner's probe
                items = []
            if items and items[0] is not _STOP:
                time.sleep(self.interval)
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in items:
                stopping = True
                items = [item for item in items if item is not _STOP]
            if not items and (stopping or self.idle is None):
                continue
            try:
                self.write(items)
            except Exception as error:  # a full disk must not end the writing for good
                if self.on_error is not None:
                    self.on_error(error)
