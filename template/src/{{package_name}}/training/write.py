"""Writing what a training run produced: the model file, the reference sample and the training rows'
out-of-fold outputs for drift, metadata.json, the model card and its figure, the signature, and the run's
line in the experiment log.

Everything is serialised first, then the files are replaced one by one (atomically): a failure while
serialising leaves the previous set intact.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..artifacts import files as artifacts
from ..artifacts import signing
from ..artifacts.durable import now
from ..artifacts.experiments import PROMOTED, SHADOW, ExperimentEntry, append_experiment
from ..artifacts.log_line import PREDICTION, PREDICTION_PROBABILITY
from ..artifacts.metadata import CvInfo, DataInfo, GateVerdict, ModelMetadata, ReferenceInfo
from ..artifacts.model_file import check_model_types
from ..artifacts.model_store import ModelStore
from ..artifacts.paths import (
    CALIBRATION_FIGURE,
    FIGURES_DIR,
    IMPORTANCE_FIGURE,
    METADATA_FILE,
    MODEL_CARD_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    SIGNATURE_FILE,
    TRAINING_OUTPUTS_FILE,
    ReportFolder,
)
from ..artifacts.robustness_record import Robustness
from ..artifacts.training_outputs import TrainingOutputs, monitored_features
from ..core.config import Config
from ..core.progress import say
from ..core.wording import plain
from ..data import contract as contract_mod
from ..registry.commands import publish_model_card
from .evaluate import CVResult
from .groups import group_metrics

LIBRARIES = ("numpy", "pandas", "scikit-learn", "skops", "scipy")


@dataclass(frozen=True)
class TrainingRun:
    """What one run trained, for `write_artifacts`: the final model, the contract and data it was trained
    on, its cross-validation, the gate's verdict, importance and warnings, and its experiment-log entry."""

    model: Any
    contract: contract_mod.Contract
    training: Any  # data.training_data's prepared training data (frame, target, row counts)
    cv: CVResult
    verdict: GateVerdict
    importance: list[dict[str, float]]
    warnings: list[dict[str, str]]
    entry: ExperimentEntry
    source: Path  # the data file read
    robustness: Robustness = field(default_factory=Robustness)  # the robustness suite's results


def _oof_outputs(cv: CVResult, config: Config, taken: list[str]) -> tuple[pd.DataFrame, ReferenceInfo]:
    """The out-of-fold outputs (indexed by training row position), under the names the reference and the
    training outputs give them: those of the prediction log's fields, renamed if the data uses those names.
    The probability is of the positive class (binary) or of the predicted class (multiclass). Read from the
    cross-validation as it comes (calibrated, when training calibrated it)."""
    prediction_column = _free_name(PREDICTION, taken)
    probability_column = _free_name(PREDICTION_PROBABILITY, taken) if config.is_classification else None
    predicted = pd.DataFrame({prediction_column: cv.oof_prediction}, index=cv.oof_index)
    if probability_column is not None:
        probability = cv.oof_probability.max(axis=1)  # multiclass: of the predicted class
        if config.problem_type == "binary":
            probability = cv.oof_probability[:, cv.classes.index(cv.positive)]
        predicted[probability_column] = probability
    info = ReferenceInfo(prediction_column=prediction_column, probability_column=probability_column)
    return predicted, info


def _reference_sample(
    training, predicted: pd.DataFrame, info: ReferenceInfo, keep: list[str], config: Config
) -> tuple[pd.DataFrame, ReferenceInfo]:
    """Rows of the training data for drift checks, with out-of-fold predictions (what live predictions look
    like; in-sample predictions of a tree model are overconfident and would fake prediction drift).
    Returns the sample and its description."""
    rows = min(len(predicted), config.model.reference_rows)
    chosen = predicted.sample(rows, random_state=config.model.random_state).sort_index()
    reference = training.frame.iloc[chosen.index][keep].reset_index(drop=True)
    return pd.concat([reference, chosen.reset_index(drop=True)], axis=1), replace(info, rows=rows)


def _training_outputs(training, predicted: pd.DataFrame, run: TrainingRun, version: str) -> bytes:
    """models/training_outputs.parquet: every training row with an out-of-fold output, fingerprinted by
    its monitored feature values, so that `drift` compares training rows by what the model says of them
    unseen (see artifacts/training_outputs.py). Rows that share feature values keep the mean probability
    or value and the first predicted class."""
    kinds = monitored_features(run.contract.input_features)
    features = training.frame.iloc[predicted.index][list(kinds)]
    prediction = predicted.columns[0]
    averaged = [name for name in predicted.columns if name != prediction or run.cv.classes is None]
    outputs = TrainingOutputs.build(features, kinds, predicted, averaged, version)
    return outputs.to_parquet()


def _free_name(name: str, taken: list[str]) -> str:
    """`name`, or `_name`, `__name`... when the data already has a column called that."""
    while name in taken:
        name = f"_{name}"
    return name


def write_artifacts(
    config: Config, run: TrainingRun, elapsed: Callable[[], dict[str, float]], as_shadow: bool = False
) -> ModelMetadata:
    """Serialise everything first, then store it as a new version in one step (`ModelStore.add_version`) and
    make it the current model, or with `as_shadow` the shadow: a failure leaves the store as it was."""
    import skops.io as sio

    from .calibration_card import reliability_figure
    from .model_card import importance_figure, render_model_card

    model_bytes = sio.dumps(run.model)
    model_types = check_model_types(model_bytes)  # what the loader will accept, checked now
    model_sha256 = _sha256(model_bytes)
    trained_at = now()
    version = f"{trained_at[:19].replace('-', '').replace(':', '')}-{model_sha256[:8]}"
    keep = [name for name in run.contract.needed_columns if name in run.training.frame]
    predicted, outputs_info = _oof_outputs(run.cv, config, keep)
    reference, reference_info = _reference_sample(run.training, predicted, outputs_info, keep, config)
    training_outputs = _training_outputs(run.training, predicted, run, version)
    buffer = io.BytesIO()
    reference.to_parquet(buffer, index=False)
    metadata = _metadata(config, run, version, trained_at, model_sha256, model_types, reference_info, elapsed)
    card = render_model_card(metadata, run.contract)
    figure = importance_figure(run.importance)
    reliability = reliability_figure(metadata)
    files = {
        MODEL_FILE: model_bytes,
        METADATA_FILE: _json_bytes(metadata.to_json()),
        REFERENCE_FILE: buffer.getvalue(),
        TRAINING_OUTPUTS_FILE: training_outputs,
        MODEL_CARD_FILE: card.encode("utf-8"),
        f"{FIGURES_DIR}/{IMPORTANCE_FIGURE}": figure,
    }
    if reliability is not None:
        files[f"{FIGURES_DIR}/{CALIBRATION_FIGURE}"] = reliability
    signature = signing.signature_for([(MODEL_FILE, model_bytes), (METADATA_FILE, files[METADATA_FILE])])
    if signature is not None:
        files[SIGNATURE_FILE] = signature
    store = ModelStore(config.models_dir)
    with store.lock():
        store.add_version(version, files)
        if as_shadow:
            store.set_shadow(version)
        else:
            store.promote(version, action="train")
            publish_model_card(store.folder(version), ReportFolder(config.reports_dir))
        removed = store.prune(config.model.keep_versions)
    if removed:
        say(f"  removed {len(removed)} old version(s) beyond model.keep_versions: {', '.join(removed)}")
    status = SHADOW if as_shadow else PROMOTED
    append_experiment(
        ReportFolder(config.reports_dir).experiments, run.entry.finished(status, version, metadata.training)
    )
    return metadata


def _json_bytes(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=artifacts.json_default) + "\n"
    return text.encode("utf-8")


def _metadata(
    config: Config,
    run: TrainingRun,
    version: str,
    trained_at: str,
    model_sha256: str,
    model_types: list[str],
    reference: ReferenceInfo,
    elapsed: Callable[[], dict[str, float]],
) -> ModelMetadata:
    training, cv = run.training, run.cv
    return ModelMetadata(
        model_version=version,
        trained_at=trained_at,
        project=config.project_name,
        client=config.client,
        problem_type=config.problem_type,
        model_family=config.model.family,
        target=config.data.target,
        classes=[plain(label) for label in cv.classes] if cv.classes is not None else None,
        positive_class=plain(cv.positive),
        features=[
            {k: v for k, v in column.items() if k not in ("role", "description", "reason")}
            for column in run.contract.features
        ],
        cv=CvInfo(cv.method, cv.folds, tuple(cv.grouped_by)),
        metrics={"model": cv.summary("model"), "baseline": cv.summary("baseline")},
        gate=run.verdict,
        warnings=run.warnings,
        feature_importance=run.importance,
        model_sha256=model_sha256,
        model_types=model_types,
        schema_hash=run.contract.schema_hash,
        data=DataInfo(
            path=config.data.path if run.source == config.data_path else str(run.source),
            sha256=run.entry.data_sha256,
            rows_read=training.rows_read,
            rows_missing_target=training.rows_missing_target,
            rows_missing_time=training.rows_missing_time,
            rows_used=training.rows_used,
            time_range=_time_range(training.frame, config),
            rows_sampled_from=training.rows_sampled_from,
        ),
        reference=reference,
        groups=group_metrics(
            training.frame, training.target, cv, config.problem_type, config.data.sensitive_columns
        ),
        versions=_versions(),
        training=elapsed(),
        calibration=cv.calibration,
        uncertainty=cv.uncertainty,
        robustness=run.robustness,
    )


def _time_range(frame: pd.DataFrame, config: Config) -> dict[str, str] | None:
    if not config.data.time_column:
        return None
    times = frame[config.data.time_column]
    return {"start": times.min().isoformat(), "end": times.max().isoformat()}


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "package": __version__}
    for name in LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
