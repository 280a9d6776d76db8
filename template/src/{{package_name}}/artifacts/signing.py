"""Optional signatures of the model and its metadata, with a key from the environment.

The sha256 in models/metadata.json catches a corrupted or half-copied model file, not a deliberate swap:
whoever can write the model file can write the metadata too. With `MODEL_SIGNING_KEY` set, `train`
writes models/signature.json, an HMAC-SHA256 over the model file and metadata.json made with that key, and
every command that loads the model (serve, predict, drift, train --data) refuses a model whose signature
is missing or does not match. The key lives where the model files do not: in the environment (a CI or
Kubernetes secret), so write access to the model folder alone is no longer enough to change what is served.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from ..core.errors import UserError
from .paths import SIGNATURE_FILE, ModelFolder

KEY_ENV = "MODEL_SIGNING_KEY"
ALGORITHM = "hmac-sha256"


def signing_key() -> bytes | None:
    """The key from the environment; a key of only whitespace is a mistake, not a key."""
    value = os.environ.get(KEY_ENV)
    if value is None or value == "":
        return None
    if not value.strip():
        raise UserError(f"{KEY_ENV} is set but holds only whitespace; set a real key or unset it")
    return value.encode("utf-8")


def _digest(key: bytes, files: list[tuple[str, bytes]]) -> str:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for name, content in files:
        mac.update(name.encode("utf-8") + b"\0" + hashlib.sha256(content).digest())
    return mac.hexdigest()


def signature_for(files: list[tuple[str, bytes]]) -> bytes | None:
    """The content of signature.json for these (file name, content) pairs when a key is set, else None."""
    key = signing_key()
    if key is None:
        return None
    payload = {"algorithm": ALGORITHM, "files": [name for name, _ in files], "hmac": _digest(key, files)}
    return (json.dumps(payload, indent=2) + "\n").encode("utf-8")


def sign(models_dir: Path, files: list[Path]) -> Path | None:
    """Write the signature of `files` when a key is set (and remove a stale one when not); its path."""
    from .files import write_json

    target = ModelFolder(models_dir).signature
    key = signing_key()
    if key is None:
        target.unlink(missing_ok=True)  # a signature of older files would only mislead
        return None
    named = [(path.name, path.read_bytes()) for path in files]
    write_json(target, {"algorithm": ALGORITHM, "files": [n for n, _ in named], "hmac": _digest(key, named)})
    return target


def verify(models_dir: Path, files: list[Path]) -> None:
    """With a key set: UserError unless signature.json signs exactly these files with it."""
    key = signing_key()
    if key is None:
        return
    target = ModelFolder(models_dir).signature
    if not target.is_file():
        raise UserError(
            f"{KEY_ENV} is set but the model is not signed (no models/{SIGNATURE_FILE}); "
            f"retrain with the key set, or unset {KEY_ENV}"
        )
    try:
        recorded = json.loads(target.read_text(encoding="utf-8"))
        expected, names = str(recorded["hmac"]), list(recorded["files"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(
            f"models/{SIGNATURE_FILE} is not a readable signature; retrain with {KEY_ENV} set"
        ) from None
    if names != [path.name for path in files] or not hmac.compare_digest(
        expected, _digest(key, [(path.name, path.read_bytes()) for path in files])
    ):
        raise UserError(
            f"the model's signature does not match {KEY_ENV}: the model or its metadata changed after "
            "signing, or it was signed with another key; retrain, or restore the signed files"
        )
