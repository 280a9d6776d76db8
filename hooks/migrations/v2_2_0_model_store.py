"""Migration to 2.2.0: a trained model of the flat models/ layout becomes the first version of the store.

Releases before 2.2.0 kept one model at the top of models/ (model.skops, metadata.json, reference.parquet,
training_outputs.parquet, signature.json with a signing key). 2.2.0 keeps every trained model under
models/versions/<model_version>/ and serves the one models/current.json names. This script stores the
engagement's model as that first version, current, so that `models rollback` can return to it after the next
`train`: each flat file copied (the top-level files stay as they are, they mirror the current version), the
model card and its figures from reports/ when the card is this model's, manifest.json with the sha256 of each
file, then current.json, written last, so that an interrupted run leaves no pointer to a partial version.

It writes the on-disk format of the project's `artifacts/model_store.py` without importing the project (it
runs with Copier's Python, not the project's environment). It never fails the update; it does nothing on a
project without a model or already versioned, and a second run does nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

MODELS, REPORTS = Path("models"), Path("reports")
FLAT_FILES = (
    "model.skops",
    "metadata.json",
    "reference.parquet",
    "training_outputs.parquet",
    "signature.json",
)
CARD, FIGURES = "model_card.md", ("feature_importance.png", "calibration.png")
POINTER, VERSIONS, MANIFEST = "current.json", "versions", "manifest.json"
VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SAY = "Migration 2.2.0:"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def json_bytes(payload: object) -> bytes:
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_synced(path: Path, content: bytes) -> None:
    with path.open("wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def sync_folder(path: Path) -> None:
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def version_files(version: str) -> dict[str, bytes]:
    """The flat files, and the model card with its figures when the card names this version."""
    files = {name: (MODELS / name).read_bytes() for name in FLAT_FILES if (MODELS / name).is_file()}
    card = REPORTS / CARD
    if card.is_file() and version in card.read_text(encoding="utf-8", errors="replace"):
        files[CARD] = card.read_bytes()
        for figure in FIGURES:
            if (REPORTS / "figures" / figure).is_file():
                files[f"figures/{figure}"] = (REPORTS / "figures" / figure).read_bytes()
    return files


def store_version(version: str, files: dict[str, bytes]) -> None:
    """versions/<version>/ written in a temporary folder (manifest last), flushed, renamed into place."""
    versions = MODELS / VERSIONS
    temporary = versions / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    try:
        for name, content in files.items():
            (temporary / name).parent.mkdir(parents=True, exist_ok=True)
            write_synced(temporary / name, content)
        digests = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
        write_synced(
            temporary / MANIFEST, json_bytes({"version": version, "stored_at": now(), "files": digests})
        )
        for folder in (temporary / "figures", temporary):
            sync_folder(folder)
        os.rename(temporary, versions / version)
        sync_folder(versions)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def write_pointer(version: str) -> None:
    """current.json naming `version`, replaced in one rename after it is on disk."""
    at = now()
    event = {"at": at, "action": "adopt", "version": version, "pid": os.getpid()}
    pointer = {"current": version, "shadow": None, "previous": [], "updated_at": at, "history": [event]}
    temporary = MODELS / f".{POINTER}.{os.getpid()}.replacing"
    write_synced(temporary, json_bytes(pointer))
    os.chmod(temporary, 0o644)
    os.replace(temporary, MODELS / POINTER)
    sync_folder(MODELS)


def main() -> int:
    if (MODELS / POINTER).exists():
        print(f"{SAY} models/ is already a versioned store ({POINTER}); nothing to do.")
        return 0
    if not (MODELS / "model.skops").is_file() or not (MODELS / "metadata.json").is_file():
        print(f"{SAY} no trained model in models/; nothing to do (`train` stores the first version).")
        return 0
    try:
        metadata = json.loads((MODELS / "metadata.json").read_text(encoding="utf-8"))
        version = str(metadata["model_version"])
    except (OSError, ValueError, KeyError, TypeError):
        print(f"{SAY} models/metadata.json names no model_version; left as it is (`train` stores a version).")
        return 0
    if not VERSION_NAME.match(version):
        print(f"{SAY} model_version {version!r} is not a version name; left as it is (retrain to store one).")
        return 0
    files = version_files(version)
    if not (MODELS / VERSIONS / version / MANIFEST).is_file():
        store_version(version, files)
    write_pointer(version)
    card = " with its model card" if CARD in files else ""
    print(
        f"{SAY} stored the trained model as version {version} (models/{VERSIONS}/{version}/{card}), current."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
