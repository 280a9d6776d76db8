"""The copies of the current model's files at the top of models/ (`ModelStore.refresh_mirror` writes them,
as hard links where it can) must be files of a stored version.

Every command loads the model from its version folder, which the pointer names. A file at the top of
models/ that matches no stored version was put there by hand or by a deployment script of the flat layout
(copy a new model.skops and metadata.json into models/ and restart): served silently, the old version would
answer while everybody believes the new one does. So such a file stops every command that loads the current
model, with what to do. Copies that are the same file as the version's (hard links) cost a stat; others (a
copied folder, a container image) are hashed once per process and file state.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.errors import UserError
from ..data.tables import file_sha256

_KNOWN: dict[tuple[str, int, int, int], str] = {}  # (path, inode, size, mtime) → sha256, per process


def check_mirror(root: Path, versions_dir: Path, current: str, names: tuple[str, ...], manifest: str) -> None:
    """UserError when a file of `names` at the top of `root` is neither the current version's file nor
    identical to a file of that name in any stored version (during a switch the copies briefly belong to the
    version served before)."""
    for name in names:
        copy = root / name
        try:
            state = copy.stat()
        except FileNotFoundError:
            continue  # copies are optional (a volume may hold only versions/)
        origin = versions_dir / current / name
        try:
            if os.path.samefile(copy, origin):
                continue
        except OSError:
            pass
        key = (str(copy), state.st_ino, state.st_size, state.st_mtime_ns)
        digest = _KNOWN.get(key) or _KNOWN.setdefault(key, file_sha256(copy))
        if digest not in _stored_digests(versions_dir, name, manifest):
            raise UserError(
                f"{copy} is not the file of any stored model version: it was replaced after `train` or "
                f"`models promote` wrote it, and commands load the current version {current} from "
                f"{versions_dir.name}/{current}/, not this copy; store a model with `train` and switch with "
                f"`models promote VERSION`, or delete {copy.name} (the next switch writes it again)"
            )


def _stored_digests(versions_dir: Path, name: str, manifest: str) -> set[str]:
    digests = set()
    for folder in versions_dir.iterdir() if versions_dir.is_dir() else ():
        try:
            files = json.loads((folder / manifest).read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(files, dict) and isinstance(files.get(name), str):
            digests.add(files[name])
    return digests
