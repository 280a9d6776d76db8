"""reports/experiments.jsonl: one line per training run, written by `train`, read by `report`.

The log is append-only and keeps every run: promoted, rejected by the gate or by the current model, and
(with `train --data`) the current model's own scores on the challenger's folds (status `champion`: a
comparison, not a training run). Lines written by earlier releases lack some fields: they load with
defaults, and the readers say nothing about what a line does not hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from .files import append_jsonl
from .metadata import GateVerdict

PROMOTED, REJECTED, CHAMPION = "promoted", "rejected", "champion"
SHADOW = "shadow"  # passed (and beat the current model): stored as the shadow, not promoted


@dataclass(frozen=True)
class Challenge:
    """`train --data`: the challenger against the current model on the same validation rows."""

    champion_version: str | None = None
    metric: str | None = None
    champion: float | None = None
    challenger: float | None = None
    promoted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "champion_version": self.champion_version,
            "metric": self.metric,
            "champion": self.champion,
            "challenger": self.challenger,
            "promoted": self.promoted,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Challenge | None:
        if not raw:
            return None
        return cls(
            raw.get("champion_version"),
            raw.get("metric"),
            raw.get("champion"),
            raw.get("challenger"),
            bool(raw.get("promoted")),
        )


@dataclass(frozen=True)
class ExperimentEntry:
    """One line of the experiment log. A training run's line is built before the gate decides and
    completed with its outcome (`finished`); a champion line records only the current model's scores."""

    timestamp: str | None = None
    problem_type: str | None = None
    model_family: str | None = None
    cv_method: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # mean over folds, per metric
    baseline: dict[str, float] = field(default_factory=dict)
    gate: GateVerdict | None = None
    data_sha256: str | None = None
    schema_hash: str | None = None
    rows_used: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    data_path: str | None = None  # `train --data`: the new data
    challenge: Challenge | None = None
    robustness: dict[str, Any] | None = None  # the robustness suite's summary (`Robustness.summary`)
    status: str | None = None  # promoted, rejected or champion
    model_version: str | None = None
    wall_seconds: float | None = None
    cpu_seconds: float | None = None
    note: str | None = None  # champion lines: what the scores are

    def finished(self, status: str, model_version: str | None, elapsed: dict[str, float]) -> ExperimentEntry:
        """The run's line with its outcome and what it cost (`elapsed`: wall_seconds, cpu_seconds)."""
        return replace(
            self,
            status=status,
            model_version=model_version,
            wall_seconds=elapsed["wall_seconds"],
            cpu_seconds=elapsed["cpu_seconds"],
        )

    def to_json(self) -> dict[str, Any]:
        if self.status == CHAMPION:
            return {
                "timestamp": self.timestamp,
                "status": self.status,
                "model_version": self.model_version,
                "problem_type": self.problem_type,
                "model_family": self.model_family,
                "cv_method": self.cv_method,
                "metrics": self.metrics,
                "data_sha256": self.data_sha256,
                "data_path": self.data_path,
                "rows_used": self.rows_used,
                "note": self.note,
            }
        entry = {
            "timestamp": self.timestamp,
            "problem_type": self.problem_type,
            "model_family": self.model_family,
            "cv_method": self.cv_method,
            "metrics": self.metrics,
            "baseline": self.baseline,
            "gate": self.gate.to_json() if self.gate is not None else None,
            "data_sha256": self.data_sha256,
            "schema_hash": self.schema_hash,
            "rows_used": self.rows_used,
            "settings": self.settings,
        }
        if self.data_path is not None:
            entry["data_path"] = self.data_path
        if self.challenge is not None:
            entry["challenge"] = self.challenge.to_json()
        if self.robustness is not None:
            entry["robustness"] = self.robustness
        entry.update(
            status=self.status,
            model_version=self.model_version,
            wall_seconds=self.wall_seconds,
            cpu_seconds=self.cpu_seconds,
        )
        return entry

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ExperimentEntry:
        return cls(
            timestamp=raw.get("timestamp"),
            problem_type=raw.get("problem_type"),
            model_family=raw.get("model_family"),
            cv_method=raw.get("cv_method"),
            metrics=raw.get("metrics") or {},
            baseline=raw.get("baseline") or {},
            gate=GateVerdict.from_json(raw["gate"]) if isinstance(raw.get("gate"), dict) else None,
            data_sha256=raw.get("data_sha256"),
            schema_hash=raw.get("schema_hash"),
            rows_used=raw.get("rows_used"),
            settings=raw.get("settings") or {},
            data_path=raw.get("data_path"),
            challenge=Challenge.from_json(raw.get("challenge")),
            robustness=raw.get("robustness") if isinstance(raw.get("robustness"), dict) else None,
            status=raw.get("status"),
            model_version=raw.get("model_version"),
            wall_seconds=raw.get("wall_seconds"),
            cpu_seconds=raw.get("cpu_seconds"),
            note=raw.get("note"),
        )


def append_experiment(path: Path, entry: ExperimentEntry) -> None:
    append_jsonl(path, entry.to_json())


def read_experiments(path: Path) -> list[ExperimentEntry]:
    """The experiment log, oldest first; a damaged line is an error that names the line."""
    if not path.is_file():
        return []
    entries = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            raw = None
        if not isinstance(raw, dict):
            raise UserError(
                f"{path} line {line_number} is not valid JSON; the log must stay one JSON per line"
            )
        entries.append(ExperimentEntry.from_json(raw))
    return entries
