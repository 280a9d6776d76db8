"""Scoring with the trained model: shared by the API and by batch scoring of files (`predict`).

The model file is loaded once and only after its sha256 matches `models/metadata.json`. Predictions come
from the saved Pipeline, so a file, a request and the training data go through the same preparation.

Speed for the API: the fitted preparation (impute, scale, one-hot, calendar parts) costs milliseconds per
call in pandas whatever the number of rows. For records the API has already validated, `FastEncoder` does
the same arithmetic with NumPy from the fitted parameters in microseconds. It is checked against the
Pipeline at start-up on records built from the data contract and used only when both agree; otherwise (a
customised Pipeline, derived features) the API calls the Pipeline itself: slower, same answers.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts import files as artifacts
from ..artifacts import signing
from ..core.config import Config
from ..core.errors import UserError
from ..data.contract import FEATURE_KINDS

METADATA_FILE = "metadata.json"


@dataclass
class TrainedModel:
    """The fitted Pipeline and the metadata `train` wrote beside it."""

    pipeline: Any
    metadata: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.metadata.get("model_version", "unknown"))

    @property
    def problem_type(self) -> str:
        return self.metadata["problem_type"]

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
        return [feature for feature in self.metadata.get("features", []) if not feature.get("derived")]


def read_metadata(config: Config) -> dict[str, Any]:
    path = config.models_dir / METADATA_FILE
    if not path.exists():
        raise UserError(f"no trained model: {path} is missing; run `train` first")
    artifacts.require_regular_file(path, "model metadata")
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not readable JSON ({exc}); run `train` again") from None
    if not isinstance(metadata, dict) or not metadata.get("model_sha256") or not metadata.get("features"):
        raise UserError(f"{path} lacks model_sha256 or features; run `train` again")
    _check_features(metadata["features"], path)
    return metadata


def _check_features(features: Any, path: Path) -> None:
    """Every command builds its inputs from these entries: a hand-edited or foreign one is named here,
    not met later as a failure deep in the scorer."""
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


def load_trained(config: Config, metadata: dict[str, Any] | None = None) -> TrainedModel:
    """Load the model after checking its sha256 and the types it holds (`artifacts.load_model`)."""
    metadata = metadata or read_metadata(config)
    name = metadata.get("model_file", "model.skops")
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        raise UserError(
            f"models/metadata.json names the model file {name!r}; expected a file name inside models/"
        )
    path = config.models_dir / name
    artifacts.require_regular_file(path, "model file")
    signing.verify(config.models_dir, [path, config.models_dir / METADATA_FILE])
    pipeline = artifacts.load_model(path, metadata["model_sha256"])
    estimator = pipeline.steps[-1][1]
    if getattr(estimator, "n_jobs", None) not in (None, 1):
        # Forests fan out over all cores per call, which costs more than it gains on small batches; a
        # server already runs requests in parallel. Predictions do not change.
        estimator.n_jobs = 1
    return TrainedModel(pipeline, metadata)


@dataclass
class Predictions:
    labels: list[Any]  # class labels, or numbers for regression
    probabilities: np.ndarray | None  # rows × classes (classification only)


class Scorer:
    """Predictions for validated records (API) or raw frames (files)."""

    def __init__(self, trained: TrainedModel, fast: bool = True) -> None:
        self.trained = trained
        self.names = [feature["name"] for feature in trained.input_features]
        self.categories = {
            feature["name"]: frozenset(feature.get("categories", ()))
            for feature in trained.input_features
            if feature["kind"] == "categorical"
        }
        self.encoder: FastEncoder | None = None
        self.encoder_note = "disabled"
        if fast:
            self.encoder, self.encoder_note = _checked_encoder(trained, self.names)

    def frame(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        return pd.DataFrame.from_records(records, columns=self.names)

    def predict_frame(self, frame: pd.DataFrame) -> Predictions:
        pipeline = self.trained.pipeline
        if not self.trained.is_classification:
            return Predictions(pipeline.predict(frame).tolist(), None)
        return self._from_probabilities(pipeline.predict_proba(frame))

    def predict_records(self, records: list[dict[str, Any]]) -> Predictions:
        """Records as the API validated them (numbers, strings, datetimes or None per feature)."""
        if self.encoder is None:
            return self.predict_frame(self.frame(records))
        X = self.encoder.transform(records)
        estimator = self.trained.pipeline.steps[-1][1]
        if not self.trained.is_classification:
            return Predictions(estimator.predict(X).tolist(), None)
        return self._from_probabilities(estimator.predict_proba(X))

    def _from_probabilities(self, probabilities: np.ndarray) -> Predictions:
        # The most probable class is what `predict` answers for every classifier of the model families.
        labels = self.trained.pipeline.classes_[probabilities.argmax(axis=1)].tolist()
        return Predictions(labels, probabilities)

    def unseen_categories(self, records: list[dict[str, Any]]) -> Counter[str]:
        """Per categorical feature, how many records carry a category the model never saw in training."""
        counts: Counter[str] = Counter()
        for name, known in self.categories.items():
            unseen = sum(1 for record in records if record[name] is not None and record[name] not in known)
            if unseen:
                counts[name] = unseen
        return counts


# ---------------------------------------------------------------------------------------------------------
# Fast encoding of validated records


class NotCompilable(Exception):
    """The fitted Pipeline holds a step the fast encoder does not reproduce."""


class FastEncoder:
    """The fitted `coerce` and `prepare` steps of the Pipeline as NumPy operations on a list of records."""

    def __init__(self, branches: list[Callable[[list[dict[str, Any]]], np.ndarray]]) -> None:
        self.branches = branches

    def transform(self, records: list[dict[str, Any]]) -> np.ndarray:
        return np.hstack([branch(records) for branch in self.branches])


def _checked_encoder(trained: TrainedModel, names: list[str]) -> tuple[FastEncoder | None, str]:
    try:
        encoder = compile_encoder(trained.pipeline, names)
    except NotCompilable as exc:
        return None, f"pipeline used as is ({exc})"
    records = contract_examples(trained.input_features)
    expected = trained.pipeline[:-1].transform(pd.DataFrame.from_records(records, columns=names))
    got = encoder.transform(records)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True):
        return None, "pipeline used as is (the fast encoder disagreed with it on the check records)"
    return encoder, "fast encoder (checked against the pipeline)"


def compile_encoder(pipeline: Any, names: list[str]) -> FastEncoder:
    """Re-express the fitted coerce + ColumnTransformer steps; NotCompilable when anything is unfamiliar."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from ..training.pipeline import ContractCoercer

    if len(pipeline.steps) != 3:
        raise NotCompilable("the Pipeline does not have the steps coerce, prepare, model")
    (_, coercer), (_, prepare), (_, estimator) = pipeline.steps
    if type(coercer) is not ContractCoercer or type(prepare) is not ColumnTransformer:
        raise NotCompilable("unfamiliar coerce or prepare step")
    if hasattr(estimator, "feature_names_in_"):
        raise NotCompilable("the estimator expects named columns")
    kinds = {name: "numeric" for name in coercer.numeric}
    kinds |= {name: "categorical" for name in coercer.categorical}
    kinds |= {name: "datetime" for name in coercer.datetime}
    derived = sorted(set(kinds) - set(names))
    if derived:
        raise NotCompilable(f"derived features {', '.join(derived)} are computed in pandas")
    branches = []
    for _, transformer, columns in prepare.transformers_:
        if isinstance(transformer, str) or len(columns) == 0:
            if transformer == "drop" or len(columns) == 0:
                continue
            raise NotCompilable(f"a {transformer!r} branch")
        steps = transformer.steps if isinstance(transformer, Pipeline) else [("", transformer)]
        columns = list(columns)
        branch_kinds = {kinds.get(name) for name in columns}
        if len(branch_kinds) != 1:
            raise NotCompilable(f"branch over columns of mixed kinds {sorted(map(str, branch_kinds))}")
        branches.append(_compile_branch(branch_kinds.pop(), columns, [step for _, step in steps]))
    return FastEncoder(branches)


def _compile_branch(kind: str, columns: list[str], steps: list[Any]) -> Callable[[list[dict]], np.ndarray]:
    from sklearn.preprocessing import OneHotEncoder

    from ..training.pipeline import CALENDAR_PARTS, CalendarFeatures

    if kind == "categorical" and steps and isinstance(steps[-1], OneHotEncoder):
        return _one_hot(columns, steps)
    calendar = CALENDAR_PARTS == ("year", "month", "dayofweek")
    if kind == "datetime" and calendar and steps and type(steps[0]) is CalendarFeatures:
        finish = _numeric_steps(steps[1:])
        return lambda records: finish(_calendar_matrix(records, columns))
    if kind == "numeric":
        finish = _numeric_steps(steps)
        return lambda records: finish(_numeric_matrix(records, columns))
    raise NotCompilable(f"unfamiliar {kind} branch: {[type(step).__name__ for step in steps]}")


def _numeric_matrix(records: list[dict[str, Any]], columns: list[str]) -> np.ndarray:
    nan = math.nan
    rows = [[nan if (value := record[name]) is None else value for name in columns] for record in records]
    return np.array(rows, dtype=np.float64).reshape(len(records), len(columns))


def _calendar_matrix(records: list[dict[str, Any]], columns: list[str]) -> np.ndarray:
    rows = []
    for record in records:
        row: list[float] = []
        for name in columns:
            value = record[name]
            if value is None:
                row += (math.nan, math.nan, math.nan)
                continue
            if value.tzinfo is not None:  # like the Pipeline: to UTC, then time-zone-free
                value = value.astimezone(UTC).replace(tzinfo=None)
            row += (value.year, value.month, value.weekday())
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(records), 3 * len(columns))


def _numeric_steps(steps: list[Any]) -> Callable[[np.ndarray], np.ndarray]:
    """SimpleImputer and StandardScaler steps as in-place array operations, in the same order."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    operations: list[Callable[[np.ndarray], None]] = []
    for step in steps:
        if type(step) is SimpleImputer:
            fill = _imputer_fill(step).astype(np.float64)
            if np.isnan(fill).any():
                raise NotCompilable("an imputer without a value for a column (it drops that column)")
            operations.append(lambda X, fill=fill: np.copyto(X, fill, where=np.isnan(X)))
        elif type(step) is StandardScaler:
            if step.with_mean:
                operations.append(lambda X, mean=step.mean_: np.subtract(X, mean, out=X))
            if step.with_std:
                operations.append(lambda X, scale=step.scale_: np.divide(X, scale, out=X))
        else:
            raise NotCompilable(f"unfamiliar step {type(step).__name__}")

    def run(X: np.ndarray) -> np.ndarray:
        for operation in operations:
            operation(X)
        return X

    return run


def _imputer_fill(imputer: Any) -> np.ndarray:
    if imputer.add_indicator or not (
        isinstance(imputer.missing_values, float) and math.isnan(imputer.missing_values)
    ):
        raise NotCompilable("an imputer with an indicator or a custom missing value")
    return np.asarray(imputer.statistics_)


def _one_hot(columns: list[str], steps: list[Any]) -> Callable[[list[dict]], np.ndarray]:
    from sklearn.impute import SimpleImputer

    *before, encoder = steps
    fills: list[Any] = [None] * len(columns)
    if len(before) == 1 and type(before[0]) is SimpleImputer:
        fills = _imputer_fill(before[0]).tolist()
    elif before:
        raise NotCompilable(f"unfamiliar steps before the one-hot encoder: {before}")
    if (
        encoder.handle_unknown != "ignore"
        or encoder.drop_idx_ is not None
        or getattr(encoder, "_infrequent_enabled", False)
        or encoder.sparse_output
    ):
        raise NotCompilable("a one-hot encoder that drops, groups or rejects categories")
    # An unseen category: the training mix of categories (OneHotUnseenAsMix), or all zeros (a plain
    # OneHotEncoder with handle_unknown="ignore", in models saved before the mix).
    shares = getattr(encoder, "category_shares_", None)
    lookups, offset = [], 0
    for name, fill, categories in zip(columns, fills, encoder.categories_, strict=True):
        if any(not isinstance(category, str) for category in categories):
            raise NotCompilable(f"non-text categories in {name}")
        block = slice(offset, offset + len(categories))
        unseen = None if shares is None else np.asarray(shares[block], dtype=np.float64)
        lookups.append(
            (name, fill, {category: offset + i for i, category in enumerate(categories)}, block, unseen)
        )
        offset += len(categories)
    width = offset

    def encode(records: list[dict[str, Any]]) -> np.ndarray:
        out = np.zeros((len(records), width), dtype=np.float64)
        for row, record in enumerate(records):
            for name, fill, lookup, block, unseen in lookups:
                value = record[name]
                index = lookup.get(fill if value is None else value)
                if index is not None:
                    out[row, index] = 1.0
                elif unseen is not None:
                    out[row, block] = unseen
        return out

    return encode


def contract_examples(features: list[dict[str, Any]], rows: int = 12) -> list[dict[str, Any]]:
    """Records spread over each feature's range and categories, with missing values where allowed, an
    unseen category and a time zone: what the fast encoder must get right."""
    records = []
    for i in range(rows):
        share = i / (rows - 1)
        record: dict[str, Any] = {}
        for position, feature in enumerate(features):
            missing = feature.get("nullable") and (i + position) % 4 == 3
            record[feature["name"]] = None if missing else _example_value(feature, i, share)
        records.append(record)
    return records


def _example_value(feature: dict[str, Any], i: int, share: float) -> Any:
    kind = feature["kind"]
    if kind == "categorical":
        categories = feature.get("categories") or ["a"]
        return "(a category never seen)" if i == 5 else categories[i % len(categories)]
    if kind == "datetime":
        start = _parse_time(feature.get("min"), datetime(2020, 1, 1))
        end = _parse_time(feature.get("max"), datetime(2024, 12, 31))
        value = start + (end - start) * share
        return value.replace(tzinfo=UTC) + timedelta(hours=5) if i == 7 else value
    low, high = float(feature.get("min", 0.0)), float(feature.get("max", 1.0))
    return low + (high - low) * share


def _parse_time(value: Any, default: datetime) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return default
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
