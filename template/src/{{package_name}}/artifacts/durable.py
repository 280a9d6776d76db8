"""Writes that survive a crash, for the model store (`model_store`): files and folders flushed to disk
before they are renamed into sight, a file replaced so that a reader sees the old content or the new one and
never a mix, advisory locks that the kernel releases when their holder dies, and content hashes.

`files.write_atomic` is enough for reports (a lost report is rewritten by the next run); the store's pointer
and version folders name what is served, so a power cut must not leave them empty or half written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import UserError

REPLACING_SUFFIX = ".replacing"  # `<name>.<pid>.replacing`: a replacement not yet renamed into place


def write_synced(path: Path, content: bytes) -> None:
    """A new file with `content`, on disk (fsync) before this returns."""
    with path.open("wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def replace_synced(path: Path, content: bytes) -> None:
    """Replace `path` by a file with `content`: written and flushed beside it, renamed over it, then the
    folder flushed, so that after a crash the path holds either the old content or the new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}{REPLACING_SUFFIX}")
    try:
        write_synced(temporary, content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_folder(path: Path) -> None:
    """Flush a folder's entries (files created, renamed or removed in it) to disk. Best effort: some file
    systems refuse to open a folder for this, and then there is nothing more to do."""
    with contextlib.suppress(OSError):
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def sync_tree(root: Path) -> None:
    """Flush a folder and every folder below it (bottom up): before the folder is renamed into sight."""
    for folder in sorted((path for path in root.rglob("*") if path.is_dir()), reverse=True):
        sync_folder(folder)
    sync_folder(root)


@contextlib.contextmanager
def file_lock(path: Path, wait: float, busy: str) -> Iterator[None]:
    """An exclusive advisory lock (flock: released by the kernel when the holder dies, even by kill -9).
    Waits up to `wait` seconds, then UserError: `busy`, with the holder's process id."""
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = os.pread(handle, 200, 0).decode("utf-8", "replace").strip()
                    raise UserError(
                        f"{busy} ({holder or 'another process'}); wait for it to finish and try again"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"pid {os.getpid()} since {now()}".encode(), 0)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
