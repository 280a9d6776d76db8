"""Structured logs: one JSON object per line on stderr, for the access log and the server's own messages.

Requests only queue their access entry; a background thread formats and writes the lines in batches
(`writer.BackgroundWriter`), so a slow terminal or log collector never slows the API down. The server's
messages (ours and uvicorn's) go through the standard `logging` module into the same queue.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from .writer import BackgroundWriter

ACCESS_LOGGER = f"{__package__.split('.')[0]}.access"
SERVER_LOGGER = f"{__package__.split('.')[0]}.api"
# Loggers whose records go to the JSON output: ours and the web server's.
LOGGERS = (SERVER_LOGGER, "uvicorn", "uvicorn.error")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}

_writer: BackgroundWriter | None = None


def configure_logging(level: int = logging.INFO) -> None:
    """Send our loggers and uvicorn's to the JSON writer on stderr (once per process)."""
    global _writer
    if _writer is not None:
        return
    _writer = BackgroundWriter(_write_lines, name="json-log")
    _writer.start()
    handler = _QueueingHandler()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


def stop_logging() -> None:
    """Write out what is queued (at shutdown)."""
    global _writer
    if _writer is not None:
        _writer.close()
        _writer = None


def access(entry: dict[str, Any]) -> None:
    """Queue one access log entry (the request path's only logging cost)."""
    if _writer is not None:
        _writer.put((time.time(), entry))


def _write_lines(items: list[Any]) -> None:
    lines = [_format(item) for item in items]
    sys.stderr.write("".join(lines))
    sys.stderr.flush()


def _format(item: Any) -> str:
    if isinstance(item, logging.LogRecord):
        entry: dict[str, Any] = {
            "time": _timestamp(item.created),
            "level": item.levelname.lower(),
            "logger": item.name,
            "message": item.getMessage(),
        }
        entry.update({k: v for k, v in vars(item).items() if k not in _STANDARD and not k.startswith("_")})
        if item.exc_info:
            entry["exception"] = logging.Formatter().formatException(item.exc_info)
    else:
        created, fields = item
        entry = {"time": _timestamp(created), "level": "info", "logger": ACCESS_LOGGER, "message": "request"}
        entry.update(fields)
    return json.dumps(entry, ensure_ascii=False, default=str) + "\n"


def _timestamp(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


class _QueueingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if _writer is not None:
            _writer.put(record)
        else:  # after shutdown: write at once
            _write_lines([record])
