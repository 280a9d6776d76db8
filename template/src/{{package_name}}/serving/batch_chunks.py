"""One chunk of a file scored, from its rows in the file to what is written: the rows read (`batch_input`:
a CSV chunk is parsed here, by the process that scores it), missing values marked as in training, every
row checked against the data contract (`row_checks`), the good rows scored and encoded for the output file
(CSV text or an Arrow table). The same `ChunkScorer` runs in the command's own process and in each worker
process of `batch_workers`, so the output does not depend on the number of workers.

This module imports scikit-learn (through the scorer): the command imports it only when it scores in its
own process, so that with workers it starts them without that wait.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Config
from ..data.tables import mark_missing
from .batch_input import ChunkJob
from .batch_output import ChunkResult
from .row_checks import check_rows
from .scoring import Coverage, Scorer
from .trained_model import TrainedModel

PREDICTION_COLUMN = "prediction"
PROBABILITY_PREFIX = "probability_"
# With uncertainty on: the conformal interval's bounds (regression) or the set of classes, as JSON text.
INTERVAL_COLUMNS = ("interval_low", "interval_high")
SET_COLUMN = "set"
# Per row, its input warnings as JSON text (`input_warnings`; "[]" when none): what the API answers.
WARNINGS_COLUMN = "warnings"
OUTPUT_COLUMNS = (PREDICTION_COLUMN, *INTERVAL_COLUMNS, SET_COLUMN, WARNINGS_COLUMN)


class ChunkScorer:
    """Checks and scores chunks with one loaded model; `parquet` says how the output is encoded."""

    def __init__(self, config: Config, trained: TrainedModel, parquet: bool) -> None:
        self.config, self.parquet = config, parquet
        self.scorer = Scorer(trained, fast=False)
        self.coverage = batch_coverage(config, self.scorer)
        self.features = trained.input_features
        self.numeric = [feature["name"] for feature in self.features if feature["kind"] == "numeric"]

    def __call__(self, job: ChunkJob) -> ChunkResult:
        raw = job.piece.frame()[job.columns]
        # Missing values as in training: configured markers everywhere, common ones in numeric columns.
        chunk = mark_missing(raw.copy(deep=False), self.config.data.missing_values, numeric=self.numeric)
        checked = check_rows(chunk, raw, self.features)
        good = checked.frame if checked.valid.all() else checked.frame[checked.valid]
        if not job.score or not len(good):
            return ChunkResult(len(chunk), checked.problems)
        out = scored(good, self.scorer, self.config, self.coverage)
        return ChunkResult(len(chunk), checked.problems, len(good), self.encode(out))

    def encode(self, frame: pd.DataFrame) -> Any:
        """What the writer appends: encoded here, where the work is spread over the workers."""
        if not self.parquet:
            return frame.head(0).to_csv(index=False), frame.to_csv(index=False, header=False)
        import pyarrow as pa

        # IDs as text: a chunk whose IDs are all missing must not change the file's column types.
        ids = [c for c in frame.columns if c not in OUTPUT_COLUMNS and not c.startswith(PROBABILITY_PREFIX)]
        return pa.Table.from_pandas(frame.astype(dict.fromkeys(ids, "string")), preserve_index=False)


def batch_coverage(config: Config, scorer: Scorer) -> Coverage | None:
    """The coverage of the output's intervals or sets: uncertainty.coverage (which `predict --coverage`
    sets for the run); None when uncertainty is off or the model has no conformal scores. A level the model
    cannot answer is an error (the command checks it before reading the file, `check_coverage`)."""
    if not (config.uncertainty.enabled and scorer.has_uncertainty):
        return None
    return scorer.coverage(config.uncertainty.coverage)


def scored(
    chunk: pd.DataFrame, scorer: Scorer, config: Config, coverage: Coverage | None = None
) -> pd.DataFrame:
    """The output rows of checked rows: the ID columns present, the prediction, for classifiers one
    probability column per class, with `coverage` the interval's bounds or the set (JSON text), and the
    input warnings (JSON text)."""
    predictions = scorer.predict_frame(chunk)
    ids = [name for name in config.data.id_columns if name in chunk.columns]
    out = chunk[ids].reset_index(drop=True).copy()
    out[PREDICTION_COLUMN] = predictions.labels
    if predictions.probabilities is not None:
        for index, label in enumerate(scorer.trained.classes):
            out[f"{PROBABILITY_PREFIX}{label}"] = predictions.probabilities[:, index]
    if coverage is not None:
        answers = scorer.uncertainty(predictions.labels, predictions.probabilities, coverage)
        if predictions.probabilities is not None:
            out[SET_COLUMN] = [json.dumps(classes, ensure_ascii=False, default=str) for classes in answers]
        else:
            bounds = np.asarray(answers, dtype=float).reshape(-1, 2)
            out[INTERVAL_COLUMNS[0]], out[INTERVAL_COLUMNS[1]] = bounds[:, 0], bounds[:, 1]
    warnings = scorer.judge.from_frame(chunk)
    out[WARNINGS_COLUMN] = [json.dumps(row, ensure_ascii=False) if row else "[]" for row in warnings]
    return out
