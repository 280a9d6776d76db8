"""Writing and reading artifacts safely: atomic replacement, checksums, and skops instead of pickle."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from ..data.tables import file_sha256
from .model_file import check_model_types, refused_types

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`: readers never see half a file,
    and a failure leaves the previous version intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as out:
            out.write(content)
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        os.chmod(temp_name, 0o666 & ~_UMASK)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: Any) -> None:
    write_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False, default=json_default) + "\n")


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one line; the log is append-only and keeps failed experiments too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False, default=json_default) + "\n")


def json_default(value: Any) -> Any:
    """JSON for what pandas and NumPy hand over: NumPy scalars, dates and times, paths."""
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def save_model(model: Any, path: Path) -> str:
    """Serialise with skops (no arbitrary code on load) atomically; return the file's SHA-256."""
    import skops.io as sio

    write_atomic(path, sio.dumps(model))
    return file_sha256(path)


def require_regular_file(path: Path, what: str) -> None:
    """Opening a FIFO or a device for reading can block for ever or never end: only plain files are read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UserError(f"no {what} at {path}; run `train` first") from None
    except OSError as error:
        raise UserError(f"{what} {path} cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{what} {path} is not a regular file; restore the file `train` wrote")


def load_model(path: Path, expected_sha256: str | None = None) -> Any:
    """Load a skops model file after checking its checksum and that every type it names is on the
    project's allowlist (`model_file`): nothing from the file is imported before that. The caller has made
    sure `path` is a regular file (`require_regular_file`), before anything reads it."""
    import skops.io as sio

    if expected_sha256 is not None and file_sha256(path) != expected_sha256:
        raise UserError(
            f"{path} does not match the sha256 in models/metadata.json; retrain or restore the model"
        )
    check_model_types(path)
    untrusted = sio.get_untrusted_types(file=path)
    refused = refused_types(set(untrusted))  # skops's own reading of the file must agree
    if refused:
        raise UserError(f"{path} holds types this project does not load: {', '.join(refused)}")
    return sio.load(path, trusted=untrusted)
