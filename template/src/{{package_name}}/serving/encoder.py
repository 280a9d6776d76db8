"""The fast encoder: the fitted `coerce` and `prepare` steps of the Pipeline as NumPy operations on the
records the API has validated: microseconds per call where pandas takes milliseconds.

It mirrors `training/pipeline.py` (ContractCoercer, the numeric / categorical / calendar branches of
`build_pipeline`): it is compiled from the fitted Pipeline's own parameters, and anything it does not
recognise (another step, a derived feature, an unfamiliar encoder setting) raises `NotCompilable`, after
which the API calls the Pipeline itself. Parity is checked twice: at every start-up `checked_encoder`
compares both on records built from the data contract (`contract_examples`: ranges, categories, missing
values in every feature, an unseen category, a time zone) and keeps the encoder only when they agree to
1e-12; and the generated tests (tests/test_scoring.py) compare both predictions and explanations on
awkward records. A change to the Pipeline in `training/pipeline.py` therefore needs the same change here,
or the check turns the encoder off (slower, same answers).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..training.pipeline import CALENDAR_PARTS, CalendarFeatures, ContractCoercer


class NotCompilable(Exception):
    """The fitted Pipeline holds a step the fast encoder does not reproduce."""


class FastEncoder:
    """The fitted `coerce` and `prepare` steps of the Pipeline as NumPy operations on a list of records."""

    def __init__(self, branches: list[Callable[[list[dict[str, Any]]], np.ndarray]]) -> None:
        self.branches = branches

    def transform(self, records: list[dict[str, Any]]) -> np.ndarray:
        return np.hstack([branch(records) for branch in self.branches])


def checked_encoder(pipeline: Any, features: list[dict[str, Any]]) -> tuple[FastEncoder | None, str]:
    """The encoder for `pipeline` and the note the API reports, or None when it cannot be compiled or
    disagrees with the Pipeline on `contract_examples` (`features`: the input features, in order)."""
    names = [feature["name"] for feature in features]
    try:
        encoder = compile_encoder(pipeline, names)
    except NotCompilable as exc:
        return None, f"pipeline used as is ({exc})"
    records = contract_examples(features)
    expected = pipeline[:-1].transform(pd.DataFrame.from_records(records, columns=names))
    got = encoder.transform(records)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True):
        return None, "pipeline used as is (the fast encoder disagreed with it on the check records)"
    return encoder, "fast encoder (checked against the pipeline)"


def compile_encoder(pipeline: Any, names: list[str]) -> FastEncoder:
    """Re-express the fitted coerce + ColumnTransformer steps; NotCompilable when anything is unfamiliar."""
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
    """Records spread over each feature's range and categories, with missing values in every feature (the
    API scores a null even where training had none, with a warning), an unseen category and a time zone:
    what the fast encoder must get right."""
    records = []
    for i in range(rows):
        share = i / (rows - 1)
        record: dict[str, Any] = {}
        for position, feature in enumerate(features):
            missing = (i + position) % 4 == 3
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
