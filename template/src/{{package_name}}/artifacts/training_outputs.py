"""models/training_outputs.parquet: what the model says of each training row when it has not seen it.

A model answers the rows it was trained on too well (a tree model is overconfident in-sample), while the
training reference holds out-of-fold outputs: live rows that are training rows (the training file sent to
`drift --current`, or training rows replayed through the API) would show a prediction drift that is not
there. `train` writes, for every training row that has an out-of-fold output, a 64-bit fingerprint of its
monitored feature values and that output, under the reference's column names; `drift` compares a live row
whose fingerprint is known by that output instead of the final model's answer.

Both sides fingerprint the same form of the values, the one `drift` compares them in (`canonical`):
numbers as float64, categories as text, missing as missing; so a row read back from a CSV file, a Parquet
file or a JSON log line gets the same fingerprint. Rows without an out-of-fold output (the first block of
a time-ordered backtest, which no fold validates) are not in the file: live copies of them keep the final
model's answer. The file names the model version it was written with; `drift` ignores a file of another
model (a run cut short between this file and metadata.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import UserError

NUMERIC, CATEGORICAL = "numeric", "categorical"
FINGERPRINT = "fingerprint"
_VERSION_KEY = b"model_version"


def monitored_features(features: list[dict[str, Any]]) -> dict[str, str]:
    """Name and kind of each feature `drift` compares: the numeric and categorical ones a caller sends
    (derived features are computed from them; dates move forward by nature and are not compared)."""
    return {
        feature["name"]: feature["kind"]
        for feature in features
        if not feature.get("derived") and feature["kind"] in (NUMERIC, CATEGORICAL)
    }


def canonical(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """The columns named in `kinds` with one dtype per kind, so that values equal in meaning are equal:
    numbers as float64 (text that is no number becomes missing; -0.0 becomes 0.0), categories as text
    (JSON `1` and Parquet `1` both become "1"), missing values as missing (None for categories)."""
    out = {}
    for name, kind in kinds.items():
        series = frame[name]
        if kind == NUMERIC:
            out[name] = pd.to_numeric(series, errors="coerce").astype("float64") + 0.0
        else:
            out[name] = series.astype(str).astype(object).where(series.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def fingerprints(features: pd.DataFrame) -> np.ndarray:
    """One 64-bit fingerprint per row of a `canonical` frame (columns in the order given)."""
    if features.shape[1] == 0:
        return np.zeros(len(features), dtype=np.uint64)
    return pd.util.hash_pandas_object(features, index=False).to_numpy(dtype=np.uint64)


@dataclass(frozen=True)
class TrainingOutputs:
    """Out-of-fold outputs of training rows, one row per distinct fingerprint (the index)."""

    model_version: str
    table: pd.DataFrame

    @classmethod
    def build(
        cls,
        features: pd.DataFrame,
        kinds: Mapping[str, str],
        outputs: pd.DataFrame,
        averaged: list[str],
        model_version: str,
    ) -> TrainingOutputs:
        """`features`: the training rows that have out-of-fold `outputs` (same row order). Rows with the same
        feature values keep the mean of the `averaged` columns (probabilities, predicted values) and the
        first value of the others (predicted classes: a mean of classes means nothing)."""
        keys = fingerprints(canonical(features, kinds))
        frame = outputs.reset_index(drop=True).assign(**{FINGERPRINT: keys})
        grouped = frame.groupby(FINGERPRINT, sort=True)
        rules = {name: ("mean" if name in averaged else "first") for name in outputs.columns}
        return cls(model_version, grouped.agg(rules))

    def to_parquet(self) -> bytes:
        """The file's bytes: the table with its fingerprint column, and the model version in its metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.table.reset_index(), preserve_index=False)
        metadata = {**(table.schema.metadata or {}), _VERSION_KEY: self.model_version.encode()}
        sink = pa.BufferOutputStream()
        pq.write_table(table.replace_schema_metadata(metadata), sink)
        return sink.getvalue().to_pybytes()

    @classmethod
    def read(cls, path: Path) -> TrainingOutputs | None:
        """The file, or None when there is none (a model trained by an older release)."""
        import pyarrow.parquet as pq

        if not path.is_file():
            return None
        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as exc:
            raise UserError(f"{path} is not a readable Parquet file ({exc}); run `train` again") from None
        if FINGERPRINT not in table.column_names:
            raise UserError(f"{path} lacks the column {FINGERPRINT!r}; run `train` again")
        version = (table.schema.metadata or {}).get(_VERSION_KEY, b"").decode()
        return cls(version, table.to_pandas().set_index(FINGERPRINT))

    def lookup(self, features: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
        """The out-of-fold outputs of the rows of `features` that are training rows, indexed like those
        rows (the other rows are left out)."""
        positions = self.table.index.get_indexer(fingerprints(canonical(features, kinds)))
        known = positions >= 0
        return self.table.iloc[positions[known]].set_axis(features.index[known])
