"""The model pointer watched by a running server: models/current.json, looked at (one `os.stat`) every
`api.model_poll_seconds`. When it names another current version (a promotion, a rollback, a new `train`),
the version is checked against its manifest and loaded on a worker thread while the old one keeps
answering, then swapped in with one assignment (`ServingState.switch`). When it names another shadow (or
none), the shadow worker is replaced (or stopped).

A version that fails its check or its load is not switched to: the old one keeps serving, the reason is
logged, counted in /metrics and shown by /v1/model (`switch_error`), and nothing is tried again until the
pointer changes once more. Every worker process of `serve --workers N` watches the pointer itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...artifacts.model_store import ModelStore, Pointer

logger = logging.getLogger(f"{__package__.split('.')[0]}.api")


@dataclass(frozen=True)
class PointerStamp:
    """What `os.stat` tells of the pointer file: a replacement (a new inode) or a rewrite changes it."""

    inode: int
    modified_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> PointerStamp | None:
        try:
            found = os.stat(path)
        except OSError:
            return None
        return cls(found.st_ino, found.st_mtime_ns, found.st_size)


Follow = Callable[[Pointer | Exception], Awaitable[Any]]


class ModelWatcher:
    """Polls the pointer and awaits `on_change(pointer)` (on the event loop) each time it changes; a pointer
    that cannot be read is handed over as the exception that says why."""

    def __init__(self, models_dir: Path, interval: float, on_change: Follow) -> None:
        self.store = ModelStore(models_dir)
        self.interval = interval
        self.on_change = on_change
        self.seen: PointerStamp | None = None
        self._task: asyncio.Task | None = None

    def mark_seen(self) -> None:
        """Remember the pointer as it is now: taken before the pointer is read at start-up, so that a change
        made while the server loads is still noticed."""
        self.seen = PointerStamp.of(self.store.pointer_path)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="model-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            stamp = PointerStamp.of(self.store.pointer_path)
            if stamp is None or stamp == self.seen:
                continue
            self.seen = stamp
            try:
                pointer = await loop.run_in_executor(None, self._read)
                await self.on_change(pointer)
            except Exception as error:  # never the end of watching: the next change is tried again
                logger.error("the model pointer could not be followed: %s", error)

    def _read(self) -> Pointer | Exception:
        try:
            return self.store.read_pointer()
        except Exception as error:  # a pointer written by hand that is not JSON: keep serving
            return error
