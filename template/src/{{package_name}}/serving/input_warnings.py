"""Input warnings: where a record lies outside what training gave the model evidence for, judged per record
and per feature from the data contract the model was trained on (the input features of models/metadata.json).

    out_of_range     a numeric value below the training `min` or above the training `max` (dates are not
                     judged: live dates after the training period are normal);
    unseen_category  a categorical value (not missing) whose category text is not among the training
                     `categories` (the model takes that feature as unknown: the training mix);
    missing          a missing value in a feature that had no missing values in training (`nullable` false):
                     scored all the same, the Pipeline imputes it.

A record's warnings are a list of `{"feature": name, "kind": kind}` in the order of the model's input
features, empty when none. They are computed beside the prediction and never change it. The API
(`from_records`), batch files and Spark (`from_frame`, on the rows `row_checks` converted) judge with the
same `InputJudge`, so they give the same warnings for the same row. It runs on every API batch and every
file chunk: the numeric features are judged at once as one NumPy matrix against the training bounds; the
categorical features column by column (a set lookup per value of its category text, missing being None
or NaN), the dates by whether they are missing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

OUT_OF_RANGE, UNSEEN_CATEGORY, MISSING = "out_of_range", "unseen_category", "missing"
KINDS = (OUT_OF_RANGE, UNSEEN_CATEGORY, MISSING)
_OUT, _UNSEEN, _MISSING = 1, 2, 3  # codes in the matrix of a batch: 0 none, else 1 + position in KINDS

InputWarning = dict[str, str]  # {"feature": name, "kind": one of KINDS}


class InputJudge:
    """The warnings of records (API) or of a checked frame (files), from the model's input features."""

    def __init__(self, features: list[dict[str, Any]]) -> None:
        self.names = [feature["name"] for feature in features]
        numeric = [(i, f) for i, f in enumerate(features) if f["kind"] == "numeric"]
        self.numeric = [f["name"] for _, f in numeric]
        self.numeric_positions = [i for i, _ in numeric]
        self.low = np.array([_bound(f.get("min"), -np.inf) for _, f in numeric], dtype=np.float64)
        self.high = np.array([_bound(f.get("max"), np.inf) for _, f in numeric], dtype=np.float64)
        self.numeric_required = np.array([not f.get("nullable") for _, f in numeric], dtype=bool)
        # Categorical and date features that can warn: (position, name, categories or None, required).
        self.others = [
            (i, f["name"], _categories(f), not f.get("nullable"))
            for i, f in enumerate(features)
            if f["kind"] != "numeric" and (_categories(f) or not f.get("nullable"))
        ]

    def from_records(self, records: Sequence[dict[str, Any]]) -> list[list[InputWarning]]:
        """Records as the API validated them: numbers, category texts (the API takes text only, so each
        value is its own category text), datetimes or None per feature."""
        names, nan = self.numeric, math.nan
        numbers = np.fromiter(
            (nan if (value := record[name]) is None else value for record in records for name in names),
            dtype=np.float64,
            count=len(records) * len(names),
        ).reshape(len(records), len(names))
        columns: dict[str, Any] = {}
        for _, name, known, _ in self.others:
            values = [record[name] for record in records]
            columns[name] = values if known else np.array([value is None for value in values], dtype=bool)
        return self._judge(numbers, columns)

    def from_frame(self, frame: pd.DataFrame) -> list[list[InputWarning]]:
        """Rows of a file after `row_checks.check_rows`: numbers as floats, dates parsed, missing as NaN;
        categories compared by their text, as the model's `as_categories` makes it (3.0 is "3")."""
        from ..training.pipeline import as_categories  # (scikit-learn: the metrics module imports this one)

        numbers = frame[self.numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        columns = {
            name: as_categories(frame[name]).tolist() if known else frame[name].isna().to_numpy()
            for _, name, known, _ in self.others
        }
        return self._judge(numbers, columns)

    def _judge(self, numbers: np.ndarray, columns: dict[str, Any]) -> list[list[InputWarning]]:
        """`numbers`: the numeric features (rows x features, NaN where missing); `columns`: per other
        feature, the category texts (categorical) or whether each value is missing (dates)."""
        rows = len(numbers)
        codes = np.zeros((rows, len(self.names)), dtype=np.int8)
        if self.numeric:
            with np.errstate(invalid="ignore"):  # NaN compares false: a missing value is not out of range
                outside = (numbers < self.low) | (numbers > self.high)
            missing = np.isnan(numbers) & self.numeric_required
            codes[:, self.numeric_positions] = np.where(outside, _OUT, np.where(missing, _MISSING, 0))
        for position, name, known, required in self.others:
            missing = _MISSING if required else 0
            if known is None:
                codes[:, position] = np.where(columns[name], missing, 0)
            else:
                codes[:, position] = _category_codes(columns[name], known, missing)
        warnings: list[list[InputWarning]] = [[] for _ in range(rows)]
        # Row by row, and in each row in the order of the features.
        for row, position in zip(*np.nonzero(codes), strict=True):
            warnings[row].append({"feature": self.names[position], "kind": KINDS[codes[row, position] - 1]})
        return warnings


def _category_codes(values: list[Any], known: frozenset[str], missing: int) -> list[int]:
    """The codes of one categorical column: 0 for a training category's text, else `missing` for None or
    NaN (the one value not equal to itself), else unseen."""
    return [
        0 if value in known else (missing if value is None or value != value else _UNSEEN) for value in values
    ]


def _categories(feature: dict[str, Any]) -> frozenset[str] | None:
    """The training categories of a categorical feature (their text); None for other kinds or none known."""
    if feature["kind"] != "categorical" or not feature.get("categories"):
        return None
    return frozenset(map(str, feature["categories"]))


def _bound(value: Any, default: float) -> float:
    return default if value is None else float(value)


def tally(warnings: Sequence[Sequence[InputWarning]]) -> Counter[tuple[str, str]]:
    """How many warnings of each (feature, kind) the records carry."""
    return Counter((warning["feature"], warning["kind"]) for record in warnings for warning in record)
