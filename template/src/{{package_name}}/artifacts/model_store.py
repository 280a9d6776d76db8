"""The versioned model store: every model that passed the gate, kept under models/versions/<model_version>/,
and models/current.json, the pointer that says which version is served (and which one shadows it).

    models/current.json               {"current", "shadow", "previous": [...], "updated_at", "history"}
    models/versions/<model_version>/  model.skops, metadata.json, reference.parquet, training_outputs.parquet,
        model_card.md, figures/, signature.json (with a key), manifest.json (every file's sha256)
    models/model.skops, ...           the current version's files again, for tools that read models/

Every write is atomic and flushed to disk (`durable`): a version is written into a temporary folder, renamed
into place, then the pointer is replaced in one rename; a process killed at any moment leaves the pointer
naming a complete version, whose files match the sha256s of its manifest.json. models/.store.lock orders the
writers; `train` holds models/.train.lock. A flat layout (models/model.skops and metadata.json, no pointer,
from older releases) is read as it is; its model becomes the first version at the first write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from ..data.tables import file_sha256
from .durable import (
    REPLACING_SUFFIX,
    file_lock,
    json_bytes,
    now,
    replace_synced,
    sync_folder,
    sync_tree,
    write_synced,
)
from .model_mirror import check_mirror
from .model_records import CURRENT, Pointer, VersionEntry, status_of
from .paths import (
    CALIBRATION_FIGURE,
    FIGURES_DIR,
    IMPORTANCE_FIGURE,
    METADATA_FILE,
    MODEL_CARD_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    SIGNATURE_FILE,
    TRAINING_OUTPUTS_FILE,
    ModelFolder,
)

POINTER_FILE = "current.json"
VERSIONS_DIR = "versions"
MANIFEST_FILE = "manifest.json"
STORE_LOCK = ".store.lock"
TRAIN_LOCK = ".train.lock"
# The current version's files are also at the top of models/ (hard links where the file system allows).
MIRRORED = (MODEL_FILE, METADATA_FILE, REFERENCE_FILE, TRAINING_OUTPUTS_FILE, SIGNATURE_FILE)
HISTORY_KEPT = 200  # pointer changes remembered in current.json
LOCK_WAIT_SECONDS = 30.0
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_TEMPORARY_PREFIX = ".tmp-"
_MIRROR_SUFFIX = ".mirror"


class ModelStore:
    """models/ (or $MODEL_DIR) as a store of versions. Reading needs no lock; every change takes it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def versions_dir(self) -> Path:
        return self.root / VERSIONS_DIR

    @property
    def pointer_path(self) -> Path:
        return self.root / POINTER_FILE

    # Reading ------------------------------------------------------------------------------------------------

    def read_pointer(self) -> Pointer:
        """The pointer, or an empty one when there is none yet (no model, or the flat layout)."""
        try:
            text = self.pointer_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Pointer()
        except OSError as error:
            raise UserError(f"{self.pointer_path} cannot be read: {error.strerror}") from None
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            raise UserError(
                f"{self.pointer_path} is not readable JSON; restore it or run `models promote VERSION`"
            ) from None
        return Pointer.from_json(raw, self.pointer_path)

    def folder(self, version: str) -> ModelFolder:
        """The folder of `version` (which may not exist); a name that is not a version is refused."""
        if not isinstance(version, str) or not _VERSION_NAME.match(version):
            raise UserError(f"{version!r} is not a model version name (see `models list`)")
        return ModelFolder(self.versions_dir / version)

    def current_folder(self) -> ModelFolder:
        """Where the served model's files are: its version folder, or models/ itself in the flat layout (and
        when there is no model yet, so that readers say `run train first` about models/metadata.json)."""
        current = self.read_pointer().current
        return self.folder(current) if current else ModelFolder(self.root)

    def shadow_folder(self) -> ModelFolder | None:
        return self.folder(shadow) if (shadow := self.read_pointer().shadow) else None

    def folder_of(self, version: str | None) -> ModelFolder:
        """The version folder of a model read earlier, when the store holds it; else the current folder."""
        if version and _VERSION_NAME.match(version) and (self.versions_dir / version).is_dir():
            return self.folder(version)
        return self.current_folder()

    def versions(self) -> list[str]:
        """Stored versions, oldest first (names begin with the training time)."""
        folders = self.versions_dir.iterdir() if self.versions_dir.is_dir() else ()
        return sorted(
            p.name for p in folders if _VERSION_NAME.match(p.name) and (p / MANIFEST_FILE).is_file()
        )

    def entries(self) -> list[VersionEntry]:
        """Every stored version with its status; in the flat layout, the one unversioned model (current)."""
        pointer = self.read_pointer()
        if pointer.current is None and not self.versions():
            flat = ModelFolder(self.root)
            if flat.metadata.is_file() and flat.model.is_file():
                raw = _read_json(flat.metadata)
                return [VersionEntry.describe(str(raw.get("model_version") or "unversioned"), CURRENT, raw)]
        return [
            VersionEntry.describe(
                version, status_of(version, pointer), _read_json(self.folder(version).metadata)
            )
            for version in self.versions()
        ]

    def verify(self, version: str) -> ModelFolder:
        """UserError unless `version` is stored whole: every file its manifest lists, with that sha256, and
        (with a signing key) a matching signature. Checked before any switch to it."""
        folder = self.folder(version)
        manifest_path = folder.root / MANIFEST_FILE
        if not folder.root.is_dir() or not manifest_path.is_file():
            known = ", ".join(self.versions()[-5:]) or "none yet: run `train`"
            raise UserError(f"no model version {version!r} in {self.versions_dir} (latest: {known})")
        try:
            files = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
            listed = {MODEL_FILE, METADATA_FILE} <= set(files)
        except (OSError, ValueError, KeyError, TypeError):
            listed = False
        if not listed:
            raise UserError(f"version {version}: {MANIFEST_FILE} is not readable; the version is damaged")
        for name, expected in files.items():
            path = folder.root / name
            if not path.is_file():
                raise UserError(f"version {version}: {name} is missing; the version is damaged")
            if file_sha256(path) != expected:
                raise UserError(
                    f"version {version}: {name} does not match the sha256 recorded when it was trained "
                    "(changed since); refusing to switch to it"
                )
        from . import signing

        signing.verify(folder.root, [folder.model, folder.metadata])
        return folder

    # Writing ------------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
        """The store's write lock (waits up to `wait` seconds for another writer). Once it is held, what a
        writer killed half-way left is cleared: temporary files and folders, and a mirror of models/ that
        still shows the version served before its last switch."""
        with file_lock(self.root / STORE_LOCK, wait, "another command is changing the model store"):
            self._remove_leftovers()
            self.refresh_mirror()
            yield

    @contextlib.contextmanager
    def training_lock(self) -> Iterator[None]:
        """Held by `train` for its whole run: a second `train` in the same project stops at once, saying
        which process runs."""
        with file_lock(self.root / TRAIN_LOCK, 0.0, "another `train` is running in this project"):
            yield

    def add_version(self, version: str, files: dict[str, bytes]) -> ModelFolder:
        """Store a new version (file name → content; names may hold one folder, e.g. figures/x.png): written
        into a temporary folder, its manifest last, then renamed into place. Call with the lock held."""
        self.adopt_flat()
        return self._store_folder(version, files)

    def _store_folder(self, version: str, files: dict[str, bytes]) -> ModelFolder:
        """Readers list only folders with a version's name and a manifest: the temporary folder (named
        `.tmp-...`) is invisible until renamed, and is on disk, files and folders, before the rename."""
        target = self.folder(version)
        if target.root.exists():
            raise UserError(f"model version {version} is already stored")
        temporary = self.versions_dir / f"{_TEMPORARY_PREFIX}{version}-{os.getpid()}"
        temporary.mkdir(parents=True)
        sync_folder(self.root)  # versions/ itself, when this made it
        try:
            for name, content in files.items():
                path = temporary / name
                path.parent.mkdir(parents=True, exist_ok=True)
                write_synced(path, content)
            manifest = {
                "version": version,
                "stored_at": now(),
                "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
            }
            write_synced(temporary / MANIFEST_FILE, json_bytes(manifest))
            sync_tree(temporary)
            os.rename(temporary, target.root)
            sync_folder(self.versions_dir)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        return target

    def promote(self, version: str, action: str = "promote") -> Pointer:
        """Make `version` the current model (checked first); the one it replaces is remembered for
        `rollback`. Call with the lock held."""
        self.adopt_flat()
        pointer = self.read_pointer()
        if version == pointer.current:
            raise UserError(f"{version} is already the current model")
        self.verify(version)
        previous = [item for item in pointer.previous if item != version]
        if pointer.current:
            previous.append(pointer.current)
        shadow = None if pointer.shadow == version else pointer.shadow
        return self._switch(pointer, version, shadow, previous, action)

    def rollback(self) -> Pointer:
        """Back to the model served before the current one (checked first). Call with the lock held."""
        self.adopt_flat()
        pointer = self.read_pointer()
        previous = [item for item in pointer.previous if item != pointer.current]
        while previous and not (self.versions_dir / previous[-1]).is_dir():
            previous.pop()  # removed by hand: go further back
        if not previous:
            raise UserError("no earlier model to roll back to (`models list` shows the versions)")
        version = previous.pop()
        self.verify(version)
        shadow = None if pointer.shadow == version else pointer.shadow
        return self._switch(pointer, version, shadow, previous, "rollback")

    def set_shadow(self, version: str | None) -> Pointer:
        """Score live traffic also with `version`, off the request path (None: stop). Lock held."""
        self.adopt_flat()
        pointer = self.read_pointer()
        if version is not None:
            if pointer.current is None:
                raise UserError("there is no current model to shadow: run `train` first")
            if version == pointer.current:
                raise UserError(f"{version} is the current model; a shadow must be another version")
            self.verify(version)
        elif pointer.shadow is None:
            raise UserError("no shadow model is set")
        return self._write_pointer(
            Pointer(pointer.current, version, pointer.previous, now(), pointer.history),
            "shadow" if version else "shadow off",
            version or pointer.shadow,
        )

    def prune(self, keep: int) -> list[str]:
        """Remove the oldest versions beyond `keep`, never the current one, the shadow or the rollback target.
        Returns the removed versions. Lock held."""
        pointer = self.read_pointer()
        protected = {pointer.current, pointer.shadow, pointer.previous[-1] if pointer.previous else None}
        stored = self.versions()
        removable = [version for version in stored if version not in protected]
        removed = removable[: max(0, len(stored) - keep)]
        if removed and set(removed) & set(pointer.previous):  # the pointer first: it never names a gone one
            kept = tuple(item for item in pointer.previous if item not in removed)
            self._write_pointer(
                Pointer(pointer.current, pointer.shadow, kept, pointer.updated_at, pointer.history),
                None,
                None,
            )
        for version in removed:
            doomed = self.versions_dir / f"{_TEMPORARY_PREFIX}{version}-removed"
            os.rename(self.versions_dir / version, doomed)  # out of sight at once, then deleted
            shutil.rmtree(doomed, ignore_errors=True)
        if removed:
            sync_folder(self.versions_dir)
        return removed

    def adopt_flat(self) -> str | None:
        """The flat layout's model (models/model.skops and metadata.json, no pointer) becomes the first
        stored version and the current one; nothing is removed. Its version, or None when there was nothing to
        adopt. Lock held (or no other writer: the update migration)."""
        if self.pointer_path.exists():
            return None
        flat = ModelFolder(self.root)
        if not flat.metadata.is_file() or not flat.model.is_file():
            return None
        raw = _read_json(flat.metadata)
        if not raw:
            raise UserError(f"{flat.metadata} is not readable JSON; retrain before storing versions")
        version = str(raw.get("model_version") or f"adopted-{now()[:19].replace(':', '')}")
        if not (self.folder(version).root / MANIFEST_FILE).is_file():
            self._store_folder(version, self._flat_files(version))
        history = ({"at": now(), "action": "adopt", "version": version, "pid": os.getpid()},)
        replace_synced(self.pointer_path, json_bytes(Pointer(version, None, (), now(), history).to_json()))
        return version

    def _flat_files(self, version: str) -> dict[str, bytes]:
        """The flat layout's files, with the model card and its figures from reports/ when the card is this
        version's (it names it)."""
        files = {name: (self.root / name).read_bytes() for name in MIRRORED if (self.root / name).is_file()}
        reports = self.root.parent / "reports"
        card = reports / MODEL_CARD_FILE
        if card.is_file() and version in card.read_text(encoding="utf-8", errors="replace"):
            files[MODEL_CARD_FILE] = card.read_bytes()
            for figure in (IMPORTANCE_FIGURE, CALIBRATION_FIGURE):
                if (reports / FIGURES_DIR / figure).is_file():
                    files[f"{FIGURES_DIR}/{figure}"] = (reports / FIGURES_DIR / figure).read_bytes()
        return files

    def _switch(
        self, pointer: Pointer, version: str, shadow: str | None, previous: list[str], action: str
    ) -> Pointer:
        updated = Pointer(version, shadow, tuple(previous), now(), pointer.history)
        written = self._write_pointer(updated, action, version)
        self.refresh_mirror()
        return written

    def _write_pointer(self, pointer: Pointer, action: str | None, version: str | None) -> Pointer:
        """Replace current.json (flushed to disk, then renamed over the old one): the one step that switches
        what is served. It only ever names versions already stored whole."""
        history = pointer.history
        if action is not None:
            event = {"at": now(), "action": action, "version": version, "pid": os.getpid()}
            history = (*history, event)[-HISTORY_KEPT:]
        written = Pointer(pointer.current, pointer.shadow, pointer.previous, pointer.updated_at, history)
        replace_synced(self.pointer_path, json_bytes(written.to_json()))
        return written

    def refresh_mirror(self) -> None:
        """Put the current version's files at the top of models/ (each replaced atomically; those already
        there, the same file by a hard link, are left as they are)."""
        current = self.read_pointer().current
        source = self.folder(current) if current else None
        if source is None or not source.root.is_dir():
            return
        for name in MIRRORED:
            origin, target = source.root / name, self.root / name
            if not origin.is_file():
                target.unlink(missing_ok=True)
                continue
            if target.is_file() and os.path.samefile(origin, target):
                continue
            temporary = self.root / f".{name}.{os.getpid()}{_MIRROR_SUFFIX}"
            temporary.unlink(missing_ok=True)
            try:
                os.link(origin, temporary)
            except OSError:
                shutil.copyfile(origin, temporary)
            os.replace(temporary, target)
        sync_folder(self.root)

    def _remove_leftovers(self) -> None:
        """What a writer killed half-way left: temporary version folders and files that were never renamed
        into place (no reader ever looks at them)."""
        if self.versions_dir.is_dir():
            for path in self.versions_dir.iterdir():
                if path.name.startswith(_TEMPORARY_PREFIX):
                    shutil.rmtree(path, ignore_errors=True)
        if self.root.is_dir():
            for path in self.root.iterdir():
                if path.name.startswith(".") and path.name.endswith((REPLACING_SUFFIX, _MIRROR_SUFFIX)):
                    path.unlink(missing_ok=True)


def model_folder(models_dir: Path, version: str | None = None) -> ModelFolder:
    """The folder of the model served now (its copies at the top of models/ checked: `model_mirror`), or of
    `version`, a model read earlier, while the store holds it: a model's files are read from one folder."""
    store = ModelStore(models_dir)
    if version:
        return store.folder_of(version)
    if (folder := store.current_folder()).root != store.root:
        check_mirror(store.root, store.versions_dir, folder.root.name, MIRRORED, MANIFEST_FILE)
    return folder


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, or {} when it is missing or not one (shown as unknown, never a crash)."""
    with contextlib.suppress(OSError, ValueError):
        raw = json.loads(path.read_text(encoding="utf-8"))
        return raw if isinstance(raw, dict) else {}
    return {}
