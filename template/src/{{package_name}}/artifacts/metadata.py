"""models/metadata.json as a typed record: what `train` knows about the model it wrote, read by every
command that uses the model (serve, predict, explain, drift, report, the model card).

`train` builds a `ModelMetadata` with named fields and writes `to_json()`; readers load it once with
`from_json()` and use attributes, so a key is spelled in this module only. The JSON keeps the keys and their
order of release 1.x, and a file written by 1.x loads: keys it lacks take their defaults. Parts that
consumers take apart are records of their own (`cv`, `gate`, `data`, `reference`); free-form parts stay
plain (the scores per metric, the library versions). `features` are the data contract's entries for the
model's features (configs/schema.json's columns, minus their role and wording), kept as the contract
writes them. `calibration` and `uncertainty` (records of `output_maps`) hold the probability calibration
map and the conformal scores as plain numbers, so that loading a model never unpickles more than the model
file's own checked types; `robustness` the results of the robustness suite (`robustness_record`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from ..data.contract import FEATURE_KINDS, input_features
from .files import require_regular_file, write_json
from .log_line import PREDICTION, PREDICTION_PROBABILITY
from .output_maps import Calibration, Uncertainty
from .paths import MODEL_FILE, REFERENCE_FILE
from .robustness_record import Robustness


@dataclass(frozen=True)
class CvInfo:
    """How the scores were measured: the cross-validation (or backtest) method, folds and grouping."""

    method: str = ""
    folds: int = 0
    grouped_by: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "folds": self.folds, "grouped_by": list(self.grouped_by)}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> CvInfo:
        raw = raw or {}
        return cls(raw.get("method", ""), raw.get("folds", 0), tuple(raw.get("grouped_by") or ()))


@dataclass(frozen=True)
class GateVerdict:
    """The quality gate's verdict on the gate metric. `reason` says why it failed (None when it passed),
    `advice` what to try. Experiment logs of early releases hold only some of these (e.g. the lift)."""

    metric: str | None = None
    model: float | None = None
    baseline: float | None = None
    lift: float | None = None
    min_lift: float | None = None
    no_skill: float | None = None
    passed: bool = True
    reason: str | None = None
    advice: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "model": self.model,
            "baseline": self.baseline,
            "lift": self.lift,
            "min_lift": self.min_lift,
            "no_skill": self.no_skill,
            "passed": self.passed,
            "reason": self.reason,
            "advice": self.advice,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> GateVerdict:
        raw = raw or {}
        return cls(
            metric=raw.get("metric"),
            model=raw.get("model"),
            baseline=raw.get("baseline"),
            lift=raw.get("lift"),
            min_lift=raw.get("min_lift"),
            no_skill=raw.get("no_skill"),
            passed=bool(raw.get("passed", True)),
            reason=raw.get("reason"),
            advice=raw.get("advice"),
        )


@dataclass(frozen=True)
class DataInfo:
    """The training data: where it came from, its checksum, how many rows were read and used."""

    path: str = ""
    sha256: str | None = None
    rows_read: int = 0
    rows_missing_target: int = 0
    rows_missing_time: int = 0
    rows_used: int = 0
    time_range: dict[str, str] | None = None  # {"start", "end"} with a time column
    # Usable rows when more than model.max_train_rows: training used a seeded sample of rows_used of them.
    rows_sampled_from: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_missing_target": self.rows_missing_target,
            "rows_missing_time": self.rows_missing_time,
            "rows_used": self.rows_used,
            "rows_sampled_from": self.rows_sampled_from,
            "time_range": self.time_range,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> DataInfo:
        raw = raw or {}
        return cls(
            path=raw.get("path", ""),
            sha256=raw.get("sha256"),
            rows_read=raw.get("rows_read", 0),
            rows_missing_target=raw.get("rows_missing_target", 0),
            rows_missing_time=raw.get("rows_missing_time", 0),
            rows_used=raw.get("rows_used", 0),
            time_range=raw.get("time_range"),
            rows_sampled_from=raw.get("rows_sampled_from"),
        )


@dataclass(frozen=True)
class ReferenceInfo:
    """models/reference.parquet: training rows with out-of-fold predictions, for drift. Its prediction
    columns are named like the prediction log's fields unless the data already has columns of those
    names (then `_prediction`, ...): read the names from here, never assume them."""

    file: str = REFERENCE_FILE
    rows: int = 0
    prediction_column: str = PREDICTION
    probability_column: str | None = None  # classification only

    @property
    def output_columns(self) -> dict[str, str]:
        """Each prediction column of the reference and the prediction-log field that holds the same."""
        outputs = {self.prediction_column: PREDICTION}
        if self.probability_column:
            outputs[self.probability_column] = PREDICTION_PROBABILITY
        return outputs

    def to_json(self) -> dict[str, Any]:
        names = {"prediction_column": self.prediction_column}
        if self.probability_column is not None:
            names["probability_column"] = self.probability_column
        return {"file": self.file, "rows": self.rows, **names}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ReferenceInfo:
        raw = raw or {}
        return cls(
            file=raw.get("file", REFERENCE_FILE),
            rows=raw.get("rows", 0),
            prediction_column=raw.get("prediction_column", PREDICTION),
            probability_column=raw.get("probability_column"),
        )


@dataclass(frozen=True)
class ModelMetadata:
    """Everything `train` records about a model; fields in the order of metadata.json."""

    model_version: str | None = None
    trained_at: str | None = None
    project: str | None = None
    client: str | None = None
    problem_type: str = ""
    model_family: str | None = None
    target: str | None = None
    classes: list[Any] | None = None  # classification: the labels, as plain JSON values
    positive_class: Any = None  # binary only
    features: list[dict[str, Any]] = field(default_factory=list)  # data contract entries
    cv: CvInfo = field(default_factory=CvInfo)
    metrics: dict[str, Any] = field(default_factory=dict)  # {"model"|"baseline": {metric: {"mean", ...}}}
    gate: GateVerdict = field(default_factory=GateVerdict)
    warnings: list[dict[str, str]] = field(default_factory=list)  # {"kind", "message"}
    feature_importance: list[dict[str, Any]] = field(default_factory=list)  # {"feature", "importance", "std"}
    model_file: str = MODEL_FILE
    model_sha256: str | None = None
    model_types: list[str] = field(default_factory=list)
    schema_hash: str | None = None
    data: DataInfo = field(default_factory=DataInfo)
    reference: ReferenceInfo = field(default_factory=ReferenceInfo)
    groups: dict[str, Any] = field(default_factory=dict)  # performance per sensitive group
    versions: dict[str, str] = field(default_factory=dict)  # Python, package and libraries
    training: dict[str, float] = field(default_factory=dict)  # {"wall_seconds", "cpu_seconds"}
    calibration: Calibration = field(default_factory=Calibration)  # older files: none
    uncertainty: Uncertainty = field(default_factory=Uncertainty)  # older files: none
    robustness: Robustness = field(default_factory=Robustness)  # older files: none

    @property
    def input_features(self) -> list[dict[str, Any]]:
        """The features a caller sends: derived ones are computed from them inside the Pipeline."""
        return input_features(self.features)

    def mean_scores(self, which: str) -> dict[str, float]:
        """The mean over folds of each metric, for `which` ("model" or "baseline")."""
        return {name: value["mean"] for name, value in (self.metrics.get(which) or {}).items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "trained_at": self.trained_at,
            "project": self.project,
            "client": self.client,
            "problem_type": self.problem_type,
            "model_family": self.model_family,
            "target": self.target,
            "classes": self.classes,
            "positive_class": self.positive_class,
            "features": self.features,
            "cv": self.cv.to_json(),
            "metrics": self.metrics,
            "gate": self.gate.to_json(),
            "warnings": self.warnings,
            "feature_importance": self.feature_importance,
            "model_file": self.model_file,
            "model_sha256": self.model_sha256,
            "model_types": self.model_types,
            "schema_hash": self.schema_hash,
            "data": self.data.to_json(),
            "reference": self.reference.to_json(),
            "groups": self.groups,
            "versions": self.versions,
            "training": self.training,
            "calibration": self.calibration.to_json(),
            "uncertainty": self.uncertainty.to_json(),
            "robustness": self.robustness.to_json(),
        }

    def write(self, path: Path) -> None:
        write_json(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> ModelMetadata:
        """Read and check metadata.json: every command builds its inputs from `features`, so a hand-edited
        or foreign file is refused here with the reason, not met later deep in the scorer."""
        if not path.exists():
            raise UserError(f"no trained model: {path} is missing; run `train` first")
        require_regular_file(path, "model metadata")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{path} is not readable JSON ({exc}); run `train` again") from None
        if not isinstance(raw, dict) or not raw.get("model_sha256") or not raw.get("features"):
            raise UserError(f"{path} lacks model_sha256 or features; run `train` again")
        _check_features(raw["features"], path)
        return cls.from_json(raw)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ModelMetadata:
        """The record of a parsed metadata.json (checked by the loader first); missing keys → defaults."""
        return cls(
            model_version=raw.get("model_version"),
            trained_at=raw.get("trained_at"),
            project=raw.get("project"),
            client=raw.get("client"),
            problem_type=raw.get("problem_type", ""),
            model_family=raw.get("model_family"),
            target=raw.get("target"),
            classes=raw.get("classes"),
            positive_class=raw.get("positive_class"),
            features=list(raw.get("features") or []),
            cv=CvInfo.from_json(raw.get("cv")),
            metrics=raw.get("metrics") or {},
            gate=GateVerdict.from_json(raw.get("gate")),
            warnings=list(raw.get("warnings") or []),
            feature_importance=list(raw.get("feature_importance") or []),
            model_file=raw.get("model_file", MODEL_FILE),
            model_sha256=raw.get("model_sha256"),
            model_types=list(raw.get("model_types") or []),
            schema_hash=raw.get("schema_hash"),
            data=DataInfo.from_json(raw.get("data")),
            reference=ReferenceInfo.from_json(raw.get("reference")),
            groups=raw.get("groups") or {},
            versions=raw.get("versions") or {},
            training=raw.get("training") or {},
            calibration=Calibration.from_json(raw.get("calibration")),
            uncertainty=Uncertainty.from_json(raw.get("uncertainty")),
            robustness=Robustness.from_json(raw.get("robustness")),
        )


def _check_features(features: Any, path: Path) -> None:
    if not isinstance(features, list):
        raise UserError(f"{path}: features is not a list; run `train` again")
    for index, feature in enumerate(features):
        name = feature.get("name") if isinstance(feature, dict) else None
        kind = feature.get("kind") if isinstance(feature, dict) else None
        if not isinstance(name, str) or kind not in FEATURE_KINDS:
            raise UserError(
                f"{path}: feature {index + 1} ({name!r}) has kind {kind!r}; expected one of "
                f"{', '.join(FEATURE_KINDS)}; run `train` again to rewrite the metadata"
            )
