"""The typed records of the model store (`model_store`): models/current.json as `Pointer`, a stored version
as `models list` shows it (`VersionEntry`), and the status a version has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import UserError

CURRENT, SHADOW, RETIRED, CANDIDATE = "current", "shadow", "retired", "candidate"
SERVING_ACTIONS = ("adopt", "train", "promote", "rollback")  # pointer changes that made a version current


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

    @classmethod
    def describe(cls, version: str, status: str, raw: dict[str, Any]) -> VersionEntry:
        """The entry of `version` from its metadata.json as read (missing fields show as unknown)."""
        gate = raw.get("gate") if isinstance(raw.get("gate"), dict) else {}
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        score = gate.get("model")
        return cls(
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


def status_of(version: str, pointer: Pointer) -> str:
    """current, shadow, retired (served once) or candidate (stored, never served)."""
    if version == pointer.current:
        return CURRENT
    if version == pointer.shadow:
        return SHADOW
    served = set(pointer.previous) | {
        str(event.get("version")) for event in pointer.history if event.get("action") in SERVING_ACTIONS
    }
    return RETIRED if version in served else CANDIDATE
