"""Which columns the monitor compares, and how: the model's raw features typed by the data contract the
model was trained on (never guessed from the values), plus the model's output.

The output monitored is what shows a change of behaviour best: the probability of the positive class
(binary), the predicted class (multiclass), the predicted value (regression).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts.metadata import ModelMetadata
from ..artifacts.training_outputs import canonical, monitored_features
from ..core.config import CATEGORICAL_DRIFT_METHODS, NUMERIC_DRIFT_METHODS, DriftConfig

NUMERIC, CATEGORICAL, PREDICTION = "numeric", "categorical", "prediction"


@dataclass(frozen=True)
class Column:
    """One monitored column: its kind in drift.json, the Evidently type its values have, the method and
    the threshold."""

    name: str
    kind: str  # numeric, categorical or prediction
    values: str  # numeric or categorical: how the values are compared
    method: str
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


def monitored_columns(metadata: ModelMetadata, settings: DriftConfig) -> tuple[list[Column], list[Skipped]]:
    """The features the caller sends (derived ones are computed from them) and the prediction column."""
    compared = monitored_features(metadata.input_features)  # the features training fingerprints, too
    columns = [_column(name, kind, kind, settings) for name, kind in compared.items()]
    # Dates move forward by nature: a date feature would always "drift" and say nothing.
    skipped = [
        Skipped(feature["name"], f"{feature['kind']} column: not compared")
        for feature in metadata.input_features
        if feature["name"] not in compared
    ]
    columns.append(prediction_column(metadata, settings))
    return columns, skipped


def prediction_column(metadata: ModelMetadata, settings: DriftConfig) -> Column:
    reference = metadata.reference
    if metadata.problem_type == "binary":
        name, values = reference.probability_column, NUMERIC
    elif metadata.problem_type == "multiclass":
        name, values = reference.prediction_column, CATEGORICAL
    else:
        name, values = reference.prediction_column, NUMERIC
    typed = _column(name, PREDICTION, values, settings)
    allowed = NUMERIC_DRIFT_METHODS if values == NUMERIC else CATEGORICAL_DRIFT_METHODS
    # A method that does not apply to the output's type (a numeric test for predicted classes) falls back to
    # the method of that type.
    method = settings.prediction_method if settings.prediction_method in allowed else typed.method
    threshold = settings.prediction_threshold
    return Column(name, PREDICTION, values, method, typed.threshold if threshold is None else threshold)


def _column(name: str, kind: str, values: str, settings: DriftConfig) -> Column:
    if values == NUMERIC:
        return Column(name, kind, values, settings.numeric_method, settings.numeric_threshold)
    return Column(name, kind, values, settings.categorical_method, settings.categorical_threshold)


def comparable(frame: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """The monitored columns with one dtype per kind, so that reference and live values compare equal:
    numbers as float64 (text that is no number becomes missing), categories as text (JSON `1` and
    Parquet `1` both become "1"), missing values kept missing. The same form training fingerprints its
    rows in (artifacts/training_outputs.py)."""
    return canonical(frame, kinds(columns))


def kinds(columns: list[Column]) -> dict[str, str]:
    """Each column's name and how its values compare (numeric or categorical)."""
    return {column.name: column.values for column in columns}


def features(columns: list[Column]) -> list[Column]:
    """The monitored features: every column but the model's output."""
    return [column for column in columns if column.kind != PREDICTION]


def compared_values(values: pd.Series, column: Column) -> pd.Series:
    """The values a drift method compares: missing ones (and infinite numbers) left out, as Evidently's
    `ValueDrift` leaves them out."""
    values = values.dropna()
    if column.values == NUMERIC:
        values = values[np.isfinite(values.to_numpy(dtype=float))]
    return values
