"""A deployment: one model version ready to answer (the trained model, its scorer and explainer, the request
models its features call for), loaded whole before anything serves it.

It is immutable on purpose. A server switches models by replacing one reference to a deployment, and a
request reads that reference once: it is validated, scored and answered by the deployment it began with,
whatever switch happens meanwhile. Loading (files checked, model read, encoder checked, explainer built)
happens on a worker thread, off the event loop.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...artifacts.metadata import ModelMetadata, ReferenceInfo
from ...artifacts.model_store import ModelStore, model_folder
from ...artifacts.paths import ModelFolder
from ...core.config import Config
from ...training.conformal import highest_coverage
from ..scoring import Scorer
from ..trained_model import TrainedModel, load_trained
from .schemas import Schemas, build_schemas
from .settings import ApiSettings

logger = logging.getLogger(f"{__package__.split('.')[0]}.api")


@dataclass(frozen=True)
class Deployment:
    """What answers a request: read once per request, never changed once built."""

    trained: TrainedModel
    scorer: Scorer
    schemas: Schemas
    explainer: Any = None
    explain_reason: str | None = None  # why there are no explanations (the explainer is None)

    @property
    def version(self) -> str:
        return self.trained.version

    def answers(
        self, records: list[dict[str, Any]]
    ) -> tuple[list[Any], list[dict[str, float]] | None, list[bool]]:
        """One model call for `records`: per record the label, the class probabilities by class name
        (classifiers; None for regression), and whether the model's output is a finite number."""
        predictions = self.scorer.predict_records(records)
        labels = predictions.labels
        if predictions.probabilities is None:
            return labels, None, [math.isfinite(value) for value in labels]
        keys = [str(label) for label in self.trained.classes]
        rows = [dict(zip(keys, row, strict=True)) for row in predictions.probabilities.tolist()]
        return labels, rows, np.isfinite(predictions.probabilities).all(axis=1).tolist()

    @property
    def request_shape(self) -> tuple[Any, ...]:
        """What the request and response models depend on: equal shapes can share one `Schemas`."""
        metadata = self.trained.metadata
        return _shape(self.trained.input_features, metadata.problem_type, metadata.classes, self.trained)


def load_version(config: Config, version: str | None) -> TrainedModel:
    """The model of a stored version once its files match its manifest (`ModelStore.verify`); without a
    version (a project of the flat layout, or none trained), the model at the top of models/."""
    if version is None:
        return load_trained(config)
    model_folder(config.models_dir)  # the copies at the top of models/ are stored files (`model_mirror`)
    return load_trained(config, folder=ModelStore(config.models_dir).verify(version))


def build_deployment(
    config: Config,
    settings: ApiSettings,
    trained: TrainedModel,
    *,
    explain: bool = True,
    reuse: Deployment | None = None,
) -> Deployment:
    """The deployment of `trained`: its scorer, explainer (unless `explain` is false: the shadow needs none)
    and request models (those of `reuse` when its features and classes are the same)."""
    scorer = Scorer(trained)
    metadata = trained.metadata
    shape = _shape(trained.input_features, metadata.problem_type, metadata.classes, trained)
    if reuse is not None and reuse.request_shape == shape:
        schemas = reuse.schemas
    else:
        schemas = build_schemas(
            trained.input_features,
            metadata.problem_type or config.problem_type,
            metadata.classes or [],
            settings.max_records,
            training_values=not settings.auth_enabled,
            id_columns=config.data.id_columns,
            highest_coverage=coverage_limit(metadata, config),
        )
    explainer, reason = _explainer(trained) if explain else (None, "explanations are not built for a shadow")
    return Deployment(trained, scorer, schemas, explainer, reason)


def _shape(features: list[dict[str, Any]], problem_type: Any, classes: Any, trained: TrainedModel) -> tuple:
    return (repr(features), problem_type, repr(classes), coverage_limit(trained.metadata))


def coverage_limit(metadata: ModelMetadata | None, config: Config | None = None) -> float | None:
    """The highest `?coverage=` the model answers (its calibration rows allow no more), as the OpenAPI
    document states it; None when it has no intervals or sets, or `config` switches them off."""
    if metadata is None or not metadata.uncertainty.enabled:
        return None
    if config is not None and not config.uncertainty.enabled:
        return None
    return highest_coverage(metadata.uncertainty.rows)


def _explainer(trained: TrainedModel) -> tuple[Any, str | None]:
    """The SHAP explainer, or None and why: explanations are optional, predictions go on without them."""
    try:
        from ..explain import build_explainer

        background = reference_rows(
            trained.folder, trained.metadata.reference, [f["name"] for f in trained.input_features]
        )
        return build_explainer(trained.pipeline, trained.metadata, background), None
    except Exception as error:
        logger.error("explainer not built: %s", error)
        return None, f"explanations are unavailable: {error}"


def reference_rows(folder: ModelFolder | None, reference: ReferenceInfo, columns: list[str]) -> Any:
    """Training rows kept by `train` (the version's reference.parquet): the linear explainer's baseline."""
    if folder is None:
        return None
    path = folder.root / reference.file
    if not path.is_file():  # missing, or not a regular file (a FIFO would block the start for ever)
        return None
    import pandas as pd

    frame = pd.read_parquet(path)
    return frame[[name for name in columns if name in frame.columns]]


def reference_predictions(folder: ModelFolder | None, reference: ReferenceInfo) -> list[float] | None:
    """The out-of-fold predictions kept in the reference, under the name `train` gave them (not always
    `prediction`: a data column may have that name)."""
    if folder is None:
        return None
    path = folder.root / reference.file
    if not path.is_file():
        return None
    try:
        import pandas as pd

        column = reference.prediction_column
        return pd.read_parquet(path, columns=[column])[column].astype(float).tolist()
    except Exception:  # no reference sample: default buckets
        return None
