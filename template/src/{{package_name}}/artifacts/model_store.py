"""The versioned model store: every model that passed the gate, kept under models/versions/<model_version>/,
and models/current.json, the pointer that says which version is served (and which one shadows it).

    models/
      current.json                 {"current", "shadow", "previous": [...], "updated_at", "history": [...]}
      versions/<model_version>/    model.skops, metadata.json, reference.parquet, training_outputs.parquet,
                                   model_card.md, figures/, signature.json (with a key), manifest.json
      model.skops, metadata.json, ...   the current version's files again, for tools that read models/

Every write is atomic: a version is written into a temporary folder and renamed into place, the pointer is
replaced in one rename; so a process killed at any moment leaves the pointer naming a complete version.
`manifest.json` holds the sha256 of each file of its version, checked before any switch to it. One lock
(models/.store.lock) orders the writers; `train` also holds models/.train.lock while it runs, so that two
runs cannot overlap. A project of the flat layout (only models/model.skops and its metadata, from before
versions existed) is read as it is, and its model becomes the first version at the first write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from .files import write_json
from .paths import (
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
CURRENT, SHADOW, RETIRED, CANDIDATE = "current", "shadow", "retired", "candidate"
SERVING_ACTIONS = ("adopt", "train", "promote", "rollback")  # pointer changes that made a version current
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_TEMPORARY_PREFIX = ".tmp-"


@dataclass(frozen=True)
class Pointer:
    """models/current.json: the served version, its shadow, and the versions served before it (most recent
    last: what `rollback` returns to)."""

    current: str | None = None
    shadow: str | None = None
    previous: tuple[str, ...] = ()
    updated_at: str | None = None
    history: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "shadow": self.shadow,
            "previous": list(self.previous),
            "updated_at": self.updated_at,
            "history": list(self.history),
        }

    @classmethod
    def from_json(cls, raw: Any, path: Path) -> Pointer:
        if not isinstance(raw, dict) or not isinstance(raw.get("current"), str | None):
            raise UserError(f"{path} is not a model pointer; restore it or run `models promote VERSION`")
        previous = raw.get("previous") or []
        history = raw.get("history") or []
        shadow = raw.get("shadow")
        return cls(
            current=raw.get("current"),
            shadow=shadow if isinstance(shadow, str) else None,
            previous=tuple(str(item) for item in previous if isinstance(item, str)),
            updated_at=raw.get("updated_at"),
            history=tuple(item for item in history if isinstance(item, dict)),
        )


@dataclass(frozen=True)
class VersionEntry:
    """One stored version as `models list` shows it."""

    version: str
    status: str
    trained_at: str | None
    data: str | None
    rows: int | None
    metric: str | None
    score: float | None
    problem_type: str | None
    family: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
        shadow = self.read_pointer().shadow
        return self.folder(shadow) if shadow else None

    def folder_of(self, version: str | None) -> ModelFolder:
        """The version folder of a model read earlier, when the store holds it; else the current folder."""
        if version and _VERSION_NAME.match(version) and (self.versions_dir / version).is_dir():
            return self.folder(version)
        return self.current_folder()

    def versions(self) -> list[str]:
        """Stored versions, oldest first (names begin with the training time)."""
        if not self.versions_dir.is_dir():
            return []
        return sorted(
            path.name
            for path in self.versions_dir.iterdir()
            if path.is_dir() and _VERSION_NAME.match(path.name) and (path / MANIFEST_FILE).is_file()
        )

    def entries(self) -> list[VersionEntry]:
        pointer = self.read_pointer()
        served = set(pointer.previous) | {
            str(event.get("version")) for event in pointer.history if event.get("action") in SERVING_ACTIONS
        }
        return [self._entry(version, pointer, served) for version in self.versions()]

    def _entry(self, version: str, pointer: Pointer, served: set[str]) -> VersionEntry:
        status = (
            CURRENT
            if version == pointer.current
            else SHADOW
            if version == pointer.shadow
            else RETIRED
            if version in served
            else CANDIDATE
        )
        try:
            raw = json.loads(self.folder(version).metadata.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        gate = raw.get("gate") if isinstance(raw.get("gate"), dict) else {}
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        score = gate.get("model")
        return VersionEntry(
            version=version,
            status=status,
            trained_at=raw.get("trained_at"),
            data=data.get("path"),
            rows=data.get("rows_used"),
            metric=gate.get("metric"),
            score=float(score) if isinstance(score, int | float) else None,
            problem_type=raw.get("problem_type"),
            family=raw.get("model_family"),
        )

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
        except (OSError, ValueError, KeyError, TypeError):
            raise UserError(
                f"version {version}: {MANIFEST_FILE} is not readable; the version is damaged"
            ) from None
        for name, expected in files.items():
            path = folder.root / name
            if not path.is_file():
                raise UserError(f"version {version}: {name} is missing; the version is damaged")
            if _sha256(path) != expected:
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
        """The store's write lock (waits up to `wait` seconds for another writer). Left-over temporary
        folders of a writer that died are removed once it is held."""
        with _file_lock(self.root / STORE_LOCK, wait, "another command is changing the model store"):
            self._remove_leftovers()
            yield

    @contextlib.contextmanager
    def training_lock(self) -> Iterator[None]:
        """Held by `train` for its whole run: a second `train` in the same project stops at once, saying
        which process runs."""
        with _file_lock(self.root / TRAIN_LOCK, 0.0, "another `train` is running in this project"):
            yield

    def add_version(self, version: str, files: dict[str, bytes]) -> ModelFolder:
        """Store a new version (file name → content; names may hold one folder, e.g. figures/x.png): written
        into a temporary folder, its manifest last, then renamed into place. Call with the lock held."""
        self.adopt_flat()
        return self._store_folder(version, files)

    def _store_folder(self, version: str, files: dict[str, bytes]) -> ModelFolder:
        target = self.folder(version)
        if target.root.exists():
            raise UserError(f"model version {version} is already stored")
        temporary = self.versions_dir / f"{_TEMPORARY_PREFIX}{version}-{os.getpid()}"
        temporary.mkdir(parents=True)
        try:
            for name, content in files.items():
                path = temporary / name
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_synced(path, content)
            manifest = {
                "version": version,
                "stored_at": _now(),
                "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
            }
            _write_synced(temporary / MANIFEST_FILE, _json_bytes(manifest))
            os.rename(temporary, target.root)
            _sync_folder(self.versions_dir)
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
            if version == pointer.current:
                raise UserError(f"{version} is the current model; a shadow must be another version")
            self.verify(version)
        elif pointer.shadow is None:
            raise UserError("no shadow model is set")
        return self._write_pointer(
            Pointer(pointer.current, version, pointer.previous, _now(), pointer.history),
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
        excess = max(0, len(stored) - keep)
        removed = removable[:excess]
        for version in removed:
            doomed = self.versions_dir / f"{_TEMPORARY_PREFIX}{version}-removed"
            os.rename(self.versions_dir / version, doomed)  # out of sight at once, then deleted
            shutil.rmtree(doomed, ignore_errors=True)
        if removed and set(removed) & set(pointer.previous):
            kept = tuple(item for item in pointer.previous if item not in removed)
            self._write_pointer(
                Pointer(pointer.current, pointer.shadow, kept, pointer.updated_at, pointer.history),
                None,
                None,
            )
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
        try:
            raw = json.loads(flat.metadata.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UserError(
                f"{flat.metadata} is not readable JSON; retrain before storing versions"
            ) from None
        version = str(raw.get("model_version") or f"adopted-{_now()[:19].replace(':', '')}")
        target = self.folder(version)
        if not target.root.exists():
            names = [name for name in MIRRORED if (self.root / name).is_file()]
            files = {name: (self.root / name).read_bytes() for name in names}
            card = self.root.parent / "reports" / MODEL_CARD_FILE
            if card.is_file() and version in card.read_text(encoding="utf-8", errors="replace"):
                files[MODEL_CARD_FILE] = card.read_bytes()
            self._store_folder(version, files)
        pointer = Pointer(version, None, (), _now(), ({"at": _now(), "action": "adopt", "version": version},))
        write_json(self.pointer_path, pointer.to_json())
        return version

    def _switch(
        self, pointer: Pointer, version: str, shadow: str | None, previous: list[str], action: str
    ) -> Pointer:
        updated = Pointer(version, shadow, tuple(previous), _now(), pointer.history)
        written = self._write_pointer(updated, action, version)
        self.refresh_mirror()
        return written

    def _write_pointer(self, pointer: Pointer, action: str | None, version: str | None) -> Pointer:
        history = pointer.history
        if action is not None:
            event = {"at": _now(), "action": action, "version": version, "pid": os.getpid()}
            history = (*history, event)[-HISTORY_KEPT:]
        written = Pointer(pointer.current, pointer.shadow, pointer.previous, pointer.updated_at, history)
        write_json(self.pointer_path, written.to_json())
        _sync_folder(self.root)
        return written

    def refresh_mirror(self) -> None:
        """Put the current version's files at the top of models/ (each replaced atomically)."""
        current = self.read_pointer().current
        if not current:
            return
        source = self.folder(current)
        for name in MIRRORED:
            origin, target = source.root / name, self.root / name
            if not origin.is_file():
                target.unlink(missing_ok=True)
                continue
            temporary = self.root / f".{name}.mirror-{os.getpid()}"
            temporary.unlink(missing_ok=True)
            try:
                os.link(origin, temporary)
            except OSError:
                shutil.copyfile(origin, temporary)
            os.replace(temporary, target)

    def _remove_leftovers(self) -> None:
        if not self.versions_dir.is_dir():
            return
        for path in self.versions_dir.iterdir():
            if path.name.startswith(_TEMPORARY_PREFIX):
                shutil.rmtree(path, ignore_errors=True)


def model_folder(models_dir: Path, version: str | None = None) -> ModelFolder:
    """The folder of the model served now (see `ModelStore.current_folder`), or of `version`, a model read
    earlier, while the store still holds it: a model's files are always read from one folder."""
    store = ModelStore(models_dir)
    return store.folder_of(version) if version else store.current_folder()


@contextlib.contextmanager
def _file_lock(path: Path, wait: float, busy: str) -> Iterator[None]:
    """An exclusive advisory lock (flock: released by the kernel when the holder dies, even by kill -9)."""
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
        os.pwrite(handle, f"pid {os.getpid()} since {_now()}".encode(), 0)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _write_synced(path: Path, content: bytes) -> None:
    with path.open("wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def _sync_folder(path: Path) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
