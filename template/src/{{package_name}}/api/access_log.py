"""Structured logs: one JSON object per line on stderr, for the access log and the server's own messages.

Formatting and writing happen on a background thread (logging's QueueHandler/QueueListener): a request
only puts a record on a queue, so a slow terminal or log collector never slows the API down.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import time
from logging.handlers import QueueHandler, QueueListener
from typing import Any

ACCESS_LOGGER = f"{__package__.split('.')[0]}.access"
SERVER_LOGGER = f"{__package__.split('.')[0]}.api"
# Loggers whose records go through the queue: ours and the web server's.
LOGGERS = (ACCESS_LOGGER, SERVER_LOGGER, "uvicorn", "uvicorn.error")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}

_listener: QueueListener | None = None


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", ...extra fields}` per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """Route our loggers and uvicorn's through one queue to a JSON handler on stderr (once per process)."""
    global _listener
    if _listener is not None:
        return
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    output = logging.StreamHandler(sys.stderr)
    output.setFormatter(JsonFormatter())
    _listener = QueueListener(records, output, respect_handler_level=False)
    _listener.start()
    enqueue = _DeferredQueueHandler(records)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [enqueue]
        logger.setLevel(level)
        logger.propagate = False


def stop_logging() -> None:
    """Write out what is queued (at shutdown)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


class _DeferredQueueHandler(QueueHandler):
    """Puts the record on the queue as it is: the JSON is built on the listener's thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record
