"""Errors and how the command line ends on them.

A user can fix a `UserError` (one line, exit 2); `GateFailed` is a verdict on the model (exit 1). Anything
else is a bug: its full traceback goes to a file under logs/errors/ of the project, so that the terminal
(or a CI log) shows one line saying where, and the file can be attached to a bug report.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

ERRORS_FOLDER = Path("logs") / "errors"  # relative to the project root


class UserError(Exception):
    """Bad input (data, configuration or arguments), explained in one line."""


class GateFailed(Exception):
    """The model did not beat the dummy baseline by the configured margin."""


def record_internal_error(
    error: BaseException, command: str, argv: Sequence[str], root: Path | None
) -> Path | None:
    """Write the traceback of an unexpected exception in `command` (run with the arguments `argv`) to a
    new file and return it: under the project's logs/errors/, else (a read-only project, as a container's
    root file system) under the temporary folder. None when neither can be written."""
    now = datetime.now(UTC)
    name = f"{now.strftime('%Y%m%dT%H%M%S')}-{command}-{os.getpid()}.txt"
    text = "".join(
        [
            f"command: {command} (arguments: {' '.join(argv)})\n",
            f"time: {now.isoformat(timespec='seconds')}\n",
            f"python: {platform.python_version()} ({sys.executable})\n\n",
            *traceback.format_exception(error),
        ]
    )
    for folder in _error_folders(root):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _error_folders(root: Path | None) -> Iterator[Path]:
    if root is not None:
        yield root / ERRORS_FOLDER
    yield Path(tempfile.gettempdir()) / f"{__package__.split('.')[0]}-errors"


def one_line(error: BaseException, limit: int = 200) -> str:
    """`Type: message` on one line, cut at `limit` characters (the file has the rest)."""
    message = " ".join(str(error).split())
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
