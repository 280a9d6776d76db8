"""The prediction log: what the model was asked and what it answered, for drift monitoring and audits.

One JSON object per scored record, one file per server process under logs/predictions/:

    {"timestamp": "2025-05-31T14:00:00.123456Z", "request_id": "…", "model_version": "…",
     "inputs": {feature: value, …}, "prediction": …,
     "prediction_probability": 0.83, "probabilities": {class: p, …}}   (the last two for classifiers)

`prediction_probability` means what it means in models/reference.parquet: the positive class's probability
(binary) or the highest probability (multiclass), so live traffic and the training reference compare directly.
Entries are queued by the request and written in batches by a background thread. A file is closed at
`max_bytes` and a new one begun; beyond `max_files` files the oldest are deleted (but not the file another
worker process is writing to). If the writer falls behind by `capacity` requests, new entries are dropped
and counted rather than slowing the API down.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .writer import BackgroundWriter

logger = logging.getLogger(f"{__package__.split('.')[0]}.api")
SUFFIX = ".jsonl"
ACTIVE_SECONDS = 600


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
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.positive_class = positive_class
        self._writer = BackgroundWriter(
            self._write,
            name="prediction-log",
            capacity=capacity,
            on_drop=on_drop,
            on_error=lambda error: logger.error("could not write the prediction log: %s", error),
        )
        self._file: Any = None
        self._path: Path | None = None
        self._size = 0

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._writer.start()

    def stop(self) -> None:
        """Write out everything queued, then close the file."""
        self._writer.close()
        if self._file is not None:
            self._file.close()
            self._file = None

    def add(
        self,
        request_id: str,
        model_version: str,
        records: Sequence[dict[str, Any]],
        labels: Sequence[Any],
        probabilities: Sequence[dict[str, float]] | None,
    ) -> None:
        """Queue the entries of one request (cheap: serialising happens on the writer thread)."""
        item = (datetime.now(UTC), request_id, model_version, records, labels, probabilities)
        self._writer.put(item, weight=len(records))

    # Writer thread ------------------------------------------------------------------------------------------

    def _write(self, items: list[tuple]) -> None:
        data = "".join(line for item in items for line in self._lines(*item)).encode("utf-8")
        full = self._size and self._size + len(data) > self.max_bytes
        if self._file is None or full or not self._path.exists():  # (deleted by hand or by another worker)
            self._rotate()
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def _lines(self, stamp, request_id, model_version, records, labels, probabilities) -> list[str]:
        timestamp = stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")
        lines = []
        for index, (record, label) in enumerate(zip(records, labels, strict=True)):
            entry: dict[str, Any] = {
                "timestamp": timestamp,
                "request_id": request_id,
                "model_version": model_version,
                "inputs": record,
                "prediction": label,
            }
            if probabilities is not None:
                classes = probabilities[index]
                positive = classes.get(str(self.positive_class)) if len(classes) == 2 else None
                entry["prediction_probability"] = positive if positive is not None else max(classes.values())
                entry["probabilities"] = classes
            lines.append(json.dumps(entry, ensure_ascii=False, default=_plain) + "\n")
        return lines

    def _rotate(self) -> None:
        if self._file is not None:
            self._file.close()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S.%fZ")
        self._path = self.directory / f"{stamp}-{os.getpid()}{SUFFIX}"
        self._file = self._path.open("ab")
        self._size = 0
        self._prune()

    def _prune(self) -> None:
        """Delete the oldest files beyond max_files. Other worker processes write to their newest file:
        that one is kept while it is in use (changed in the last ACTIVE_SECONDS)."""
        # Names start with the UTC time they were begun: sorted by name is oldest first, across processes.
        files = sorted(self.directory.glob(f"*{SUFFIX}"))
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


def _changed_since(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime > moment
    except FileNotFoundError:
        return False


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
