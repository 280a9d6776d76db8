"""`train`: baseline and model cross-validated on the same folds, the quality gate, the final fit, the
artifacts (model, metadata, reference sample, model card) and a line in the experiment log.

Nothing under models/ or reports/model_card.md changes unless the gate passes; everything that is
written is replaced atomically, so a failed run leaves the previous good model in place.

Retraining (`train --data NEW`): the model trained on new labelled data is a challenger. The current model
(the champion) is scored on the same validation rows of the same folds; the challenger replaces it only
when it passes the gate and beats it on the gate metric. Both are logged in reports/experiments.jsonl.
"""

from __future__ import annotations

import hashlib
import io
import platform
import resource
import time
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from .. import __version__
from ..artifacts import files as artifacts
from ..artifacts import signing
from ..artifacts.model_file import check_model_types
from ..core.config import Config
from ..core.errors import GateFailed, UserError
from ..core.progress import say, step
from ..core.wording import number, plain
from ..data import contract as contract_mod
from ..data.tables import file_sha256, load_table, prepare_training_data
from ..serving.scoring import METADATA_FILE
from .evaluate import CVResult, cautions, cross_validate, gate, is_better, score_fitted_on_folds
from .groups import group_metrics
from .pipeline import build_pipeline

LIBRARIES = ("numpy", "pandas", "scikit-learn", "skops", "scipy")
PREDICTION_COLUMN = "prediction"
PROBABILITY_COLUMN = "prediction_probability"
IMPORTANCE_SCORERS = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}


class _Clock:
    """Wall time and CPU time (this process and its workers) since creation."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = self._cpu()

    @staticmethod
    def _cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def elapsed(self) -> dict[str, float]:
        return {
            "wall_seconds": round(time.perf_counter() - self.wall, 3),
            "cpu_seconds": round(self._cpu() - self.cpu, 3),
        }


def run_train(config: Config, data_path: Path | None = None) -> dict[str, Any]:
    """Train, gate and (when the gate passes) write the artifacts. Returns the metadata.

    With `data_path` (new labelled data), the result is a challenger of the current model: promoted only
    when it is better on the same validation rows (see the module docstring)."""
    clock = _Clock()
    source = data_path or config.data_path
    champion = _load_champion(config) if data_path is not None else None
    with step(f"loading {source}"):
        frame = load_table(source, config.data.missing_values)
        training = prepare_training_data(frame, config, source)
    say(f"  {training.rows_read:,} rows read, {training.rows_used:,} used")
    if training.rows_missing_target:
        say(f"  dropped {training.rows_missing_target:,} rows with no value in target {config.data.target!r}")
    if training.rows_missing_time:
        say(f"  dropped {training.rows_missing_time:,} rows with no date in {config.data.time_column!r}")
    contract = _contract_for(frame, config)
    contract_mod.check_matches(training.frame, contract, config)
    X, y = training.frame, training.target
    cv = cross_validate(
        lambda rows: build_pipeline(contract, config, rows=rows),
        lambda rows: build_pipeline(contract, config, baseline=True),
        X,
        y,
        config,
    )
    verdict = gate(cv, config)
    data_sha256 = file_sha256(source)
    schema_hash = contract_mod.schema_hash(contract)
    record = {
        "timestamp": _now(),
        "problem_type": config.problem_type,
        "model_family": config.model.family,
        "cv_method": cv.method,
        "metrics": {name: value["mean"] for name, value in cv.summary("model").items()},
        "baseline": {name: value["mean"] for name, value in cv.summary("baseline").items()},
        "gate": verdict,
        "data_sha256": data_sha256,
        "schema_hash": schema_hash,
        "rows_used": training.rows_used,
        "settings": {"cv_folds": config.model.cv_folds, "random_state": config.model.random_state},
    }
    if data_path is not None:
        record["data_path"] = str(data_path)
    if champion is not None:
        record["challenge"] = _challenge(champion, X, y, cv, config, record)
    if not verdict["passed"]:
        _reject(
            record,
            clock,
            config,
            f"quality gate failed: {verdict['reason']}; the previous model is kept"
            + (f"; {verdict['advice']}" if verdict["advice"] else ""),
        )
    if champion is not None and not record["challenge"]["promoted"]:
        challenge = record["challenge"]
        _reject(
            record,
            clock,
            config,
            f"the challenger is not better than the current model {challenge['champion_version']} on the "
            f"same validation: {challenge['metric']} {number(challenge['challenger'])} vs "
            f"{number(challenge['champion'])}; the current model is kept",
        )
    with step(f"final fit on all {training.rows_used:,} rows"):
        model = build_pipeline(contract, config, rows=len(X)).fit(X, y)
    with step("feature importance (permutation, on the last validation fold)"):
        importance = feature_importance(cv, contract, config)
    warnings = cautions(cv, verdict, importance)
    for warning in warnings:
        say(f"  warning: {warning['message']}")
    with step("writing artifacts"):
        metadata = _write_artifacts(
            config, model, contract, training, cv, verdict, importance, warnings, clock, record, source
        )
    say(f"model {metadata['model_version']} written to {config.models_dir}")
    return metadata


def _load_champion(config: Config):
    """The current model and its metadata, which a challenger must beat."""
    from ..serving.scoring import load_trained

    try:
        return load_trained(config)
    except UserError as exc:
        raise UserError(f"{exc} (`train --data` challenges the current model: train one first)") from None


def _reject(record: dict[str, Any], clock: _Clock, config: Config, reason: str) -> NoReturn:
    """Log a run that may not replace the current model, then stop with exit code 1 (models/ untouched)."""
    record.update(status="rejected", model_version=None, **clock.elapsed())
    artifacts.append_jsonl(config.reports_dir / "experiments.jsonl", record)
    raise GateFailed(reason)


def _challenge(
    champion, X: pd.DataFrame, y: pd.Series, cv: CVResult, config: Config, record
) -> dict[str, Any]:
    """Score the current model on the challenger's validation rows, log it, and compare on the gate
    metric. The champion's line in the experiment log has status "champion"."""
    needed = _raw_features(champion)
    missing = [name for name in needed if name not in X.columns]
    if missing:
        raise UserError(
            f"the new data lacks column(s) {', '.join(map(repr, missing))} that the current model needs; "
            "it cannot be compared with a challenger on that data"
        )
    with step(f"scoring the current model {champion.version} on the same validation folds"):
        champion_scores = score_fitted_on_folds(champion.pipeline, X[needed], y, cv, config)
    if record["data_sha256"] == (champion.metadata.get("data") or {}).get("sha256"):
        say("  note: the current model was trained on this file: its scores on it are in-sample, flattering")
    metric = config.gate_metric
    champion_value = champion_scores[metric]["mean"]
    challenger_value = record["metrics"][metric]
    artifacts.append_jsonl(
        config.reports_dir / "experiments.jsonl",
        {
            "timestamp": _now(),
            "status": "champion",
            "model_version": champion.version,
            "problem_type": config.problem_type,
            "model_family": champion.metadata.get("model_family"),
            "cv_method": cv.method,
            "metrics": {name: value["mean"] for name, value in champion_scores.items()},
            "data_sha256": record["data_sha256"],
            "data_path": record.get("data_path"),
            "rows_used": record["rows_used"],
            "note": "current model scored on the validation folds of a challenger trained on new data",
        },
    )
    promoted = bool(np.isfinite(challenger_value) and is_better(metric, challenger_value, champion_value))
    say(
        f"  {metric}: challenger {number(challenger_value)}, current model {number(champion_value)} "
        f"({'challenger is better' if promoted else 'current model stays'})"
    )
    return {
        "champion_version": champion.version,
        "metric": metric,
        "champion": champion_value,
        "challenger": challenger_value,
        "promoted": promoted,
    }


def _raw_features(trained) -> list[str]:
    return [feature["name"] for feature in trained.input_features]


def _contract_for(frame: pd.DataFrame, config: Config) -> dict[str, Any]:
    """The data contract on disk, or one inferred now (and written) when `audit` has not run yet."""
    contract = contract_mod.load_contract(config.schema_path)
    if contract is not None:
        return contract
    from ..audit.checks import detect, exclusions

    with step("no configs/schema.json yet: inferring the data contract (run `audit` for the full report)"):
        contract = contract_mod.infer_contract(frame, config, exclusions(detect(frame, config)))
        artifacts.write_json(config.schema_path, contract)
    return contract


def feature_importance(cv: CVResult, contract: dict[str, Any], config: Config) -> list[dict[str, float]]:
    """Permutation importance of each original feature: how much the gate metric drops when that column is
    shuffled, measured on held-out rows so that overfitting does not inflate it."""
    from sklearn.inspection import permutation_importance

    X_valid, y_valid = cv.last_fold_validation
    raw = [c["name"] for c in contract["columns"] if c["role"] == "feature" and not c.get("derived")]
    sample = X_valid[raw].sample(min(len(X_valid), 2000), random_state=config.model.random_state)
    result = permutation_importance(
        cv.last_fold_model,
        sample,
        y_valid.loc[sample.index],
        scoring=IMPORTANCE_SCORERS[config.problem_type],
        n_repeats=5,
        random_state=config.model.random_state,
    )
    ranked = sorted(
        zip(raw, result.importances_mean, result.importances_std, strict=True), key=lambda item: -item[1]
    )
    return [{"feature": name, "importance": float(mean), "std": float(std)} for name, mean, std in ranked]


def _reference_sample(
    training, cv: CVResult, contract: dict[str, Any], config: Config
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rows of the training data for drift checks, with out-of-fold predictions (what live predictions look
    like; in-sample predictions of a tree model are overconfident and would fake prediction drift).
    Returns the sample and the names of its prediction columns (renamed if the data uses those names)."""
    keep = [
        c["name"]
        for c in contract["columns"]
        if c["role"] in ("feature", "target", "time") and not c.get("derived") and c["name"] in training.frame
    ]
    names = {"prediction_column": _free_name(PREDICTION_COLUMN, keep)}
    predicted = pd.DataFrame({names["prediction_column"]: cv.oof_prediction}, index=cv.oof_index)
    if config.is_classification:
        names["probability_column"] = _free_name(PROBABILITY_COLUMN, keep)
        probability = cv.oof_probability.max(axis=1)  # multiclass: of the predicted class
        if config.problem_type == "binary":
            probability = cv.oof_probability[:, cv.classes.index(cv.positive)]
        predicted[names["probability_column"]] = probability
    rows = min(len(predicted), config.model.reference_rows)
    chosen = predicted.sample(rows, random_state=config.model.random_state).sort_index()
    reference = training.frame.iloc[chosen.index][keep].reset_index(drop=True)
    return pd.concat([reference, chosen.reset_index(drop=True)], axis=1), names


def _free_name(name: str, taken: list[str]) -> str:
    """`name`, or `_name`, `__name`... when the data already has a column called that."""
    while name in taken:
        name = f"_{name}"
    return name


def _write_artifacts(
    config, model, contract, training, cv, verdict, importance, warnings, clock, record, source
) -> dict[str, Any]:
    """Serialise everything first, then replace the files: a failure leaves the previous set intact."""
    import skops.io as sio

    from .model_card import importance_figure, render_model_card

    model_bytes = sio.dumps(model)
    model_types = check_model_types(model_bytes)  # what the loader will accept, checked now
    model_sha256 = _sha256(model_bytes)
    trained_at = _now()
    version = f"{trained_at[:19].replace('-', '').replace(':', '')}-{model_sha256[:8]}"
    reference, reference_columns = _reference_sample(training, cv, contract, config)
    buffer = io.BytesIO()
    reference.to_parquet(buffer, index=False)
    metadata = {
        "model_version": version,
        "trained_at": trained_at,
        "project": config.project_name,
        "client": config.client,
        "problem_type": config.problem_type,
        "model_family": config.model.family,
        "target": config.data.target,
        "classes": [plain(label) for label in cv.classes] if cv.classes is not None else None,
        "positive_class": plain(cv.positive),
        "features": [
            {k: v for k, v in column.items() if k not in ("role", "description", "reason")}
            for column in contract["columns"]
            if column["role"] == "feature"
        ],
        "cv": {"method": cv.method, "folds": cv.folds, "grouped_by": list(cv.grouped_by)},
        "metrics": {"model": cv.summary("model"), "baseline": cv.summary("baseline")},
        "gate": verdict,
        "warnings": warnings,
        "feature_importance": importance,
        "model_file": "model.skops",
        "model_sha256": model_sha256,
        "model_types": model_types,
        "schema_hash": contract_mod.schema_hash(contract),
        "data": {
            "path": config.data.path if source == config.data_path else str(source),
            "sha256": record["data_sha256"],
            "rows_read": training.rows_read,
            "rows_missing_target": training.rows_missing_target,
            "rows_missing_time": training.rows_missing_time,
            "rows_used": training.rows_used,
            "time_range": _time_range(training.frame, config),
        },
        "reference": {"file": "reference.parquet", "rows": len(reference), **reference_columns},
        "groups": group_metrics(
            training.frame, training.target, cv, config.problem_type, config.data.sensitive_columns
        ),
        "versions": _versions(),
        "training": clock.elapsed(),
    }
    card = render_model_card(metadata, contract)
    figure = importance_figure(importance)
    models = config.models_dir
    artifacts.write_atomic(models / "model.skops", model_bytes)
    artifacts.write_atomic(models / "reference.parquet", buffer.getvalue())
    artifacts.write_atomic(config.reports_dir / "figures" / "feature_importance.png", figure)
    artifacts.write_atomic(config.reports_dir / "model_card.md", card)
    artifacts.write_json(models / METADATA_FILE, metadata)
    signing.sign(models, [models / "model.skops", models / METADATA_FILE])
    record.update(status="promoted", model_version=version, **metadata["training"])
    artifacts.append_jsonl(config.reports_dir / "experiments.jsonl", record)
    return metadata


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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
