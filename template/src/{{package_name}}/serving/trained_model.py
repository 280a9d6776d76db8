"""The trained model as serving loads it: `models/metadata.json` read and checked, then the model file,
loaded only after its sha256 (and signature, when a key is set) matches that metadata.

Shared by the API, batch scoring (`predict`), the drift monitor and `train` (which compares the new model
with the current one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..artifacts import files as artifacts
from ..artifacts import signing
from ..artifacts.metadata import ModelMetadata
from ..artifacts.model_store import model_folder
from ..artifacts.paths import ModelFolder
from ..core.config import Config
from ..core.errors import UserError


@dataclass
class TrainedModel:
    """The fitted Pipeline and the metadata `train` wrote beside it."""

    pipeline: Any
    metadata: ModelMetadata
    folder: ModelFolder | None = None  # where its files are: a version folder in models/versions/

    @property
    def version(self) -> str:
        return str(self.metadata.model_version or "unknown")

    @property
    def problem_type(self) -> str:
        return self.metadata.problem_type

    @property
    def is_classification(self) -> bool:
        return self.problem_type != "regression"

    @property
    def classes(self) -> list[Any]:
        """Class labels in the order of the probability columns (plain Python values)."""
        return self.pipeline.classes_.tolist() if self.is_classification else []

    @property
    def input_features(self) -> list[dict[str, Any]]:
        """The features a caller sends: those of the contract the model was trained on, minus derived ones
        (computed inside the Pipeline)."""
        return self.metadata.input_features


def read_metadata(config: Config) -> ModelMetadata:
    """The current model's metadata (the version models/current.json names)."""
    return ModelMetadata.read(model_folder(config.models_dir).metadata)


def load_trained(
    config: Config, metadata: ModelMetadata | None = None, folder: ModelFolder | None = None
) -> TrainedModel:
    """Load the model after checking its sha256 and the types it holds (`artifacts.load_model`): the
    current one, the one `metadata` describes, or the one in `folder` (a stored version)."""
    if folder is None:
        folder = model_folder(config.models_dir, metadata.model_version if metadata else None)
    metadata = metadata or ModelMetadata.read(folder.metadata)
    name = metadata.model_file
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        raise UserError(
            f"models/metadata.json names the model file {name!r}; expected a file name inside models/"
        )
    path = folder.root / name
    artifacts.require_regular_file(path, "model file")
    signing.verify(folder.root, [path, folder.metadata])
    pipeline = artifacts.load_model(path, metadata.model_sha256)
    estimator = pipeline.steps[-1][1]
    if getattr(estimator, "n_jobs", None) not in (None, 1):
        # Forests fan out over all cores per call, which costs more than it gains on small batches; a
        # server already runs requests in parallel. Predictions do not change.
        estimator.n_jobs = 1
    return TrainedModel(pipeline, metadata, folder)
