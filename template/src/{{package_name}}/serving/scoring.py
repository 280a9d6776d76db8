"""Scoring with the trained model: shared by the API and by batch scoring of files (`predict`).

Predictions come from the saved Pipeline (`trained_model.load_trained`), so a file, a request and the
training data go through the same preparation.

Speed for the API: the fitted preparation (impute, scale, one-hot, calendar parts) costs milliseconds per
call in pandas whatever the number of rows. For records the API has already validated, the fast encoder
(`encoder.py`) does the same arithmetic with NumPy from the fitted parameters in microseconds. It is
checked against the Pipeline at start-up on records built from the data contract and used only when both
agree; otherwise (a customised Pipeline, derived features) the API calls the Pipeline itself: slower, same
answers.

Uncertainty: both paths give each prediction its conformal interval or set at the coverage asked
(`training.conformal`) from the same numbers through the same functions, so they give identical answers.

Probabilities: both paths pass the model's probabilities through the calibration map that `train` fitted
(metadata.json, `training.calibration.apply_calibration`), and the labels follow the calibrated
probabilities, so the API, batch files and drift give the same answers as the reference sample.

Input warnings (`input_warnings`: out of the training range, an unseen category, a value missing where
training had none) come from `Scorer.judge` on both paths, beside the predictions, which they never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..training.calibration import apply_calibration, predicted_columns
from ..training.conformal import Levels, intervals, prediction_sets
from .encoder import FastEncoder, checked_encoder
from .input_warnings import InputJudge
from .trained_model import TrainedModel


@dataclass
class Predictions:
    labels: list[Any]  # class labels, or numbers for regression
    probabilities: np.ndarray | None  # rows × classes (classification only)


@dataclass(frozen=True)
class Coverage:
    """A coverage level asked for and the conformal threshold that gives it (`Scorer.coverage`)."""

    level: float
    limit: float


class Scorer:
    """Predictions for validated records (API) or raw frames (files)."""

    def __init__(self, trained: TrainedModel, fast: bool = True) -> None:
        self.trained = trained
        self.names = [feature["name"] for feature in trained.input_features]
        self.judge = InputJudge(trained.input_features)  # the warnings beside each prediction
        self.levels = Levels(trained.metadata.uncertainty)
        self.encoder: FastEncoder | None = None
        self.encoder_note = "disabled"
        if fast:
            self.encoder, self.encoder_note = checked_encoder(trained.pipeline, trained.input_features)

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

    @property
    def has_uncertainty(self) -> bool:
        """Whether the model was trained with conformal scores (uncertainty on, enough rows)."""
        return self.levels.uncertainty.enabled

    def coverage(self, level: float) -> Coverage:
        """The threshold for `level`; `conformal.CoverageError` (with the reason) when the model cannot
        answer it."""
        return Coverage(level, self.levels.limit(level))

    def uncertainty(self, labels: list[Any], probabilities: np.ndarray | None, coverage: Coverage) -> list:
        """Per prediction, its interval [low, high] (regression) or its set of classes (classification)."""
        if probabilities is not None:
            return prediction_sets(probabilities, self.trained.classes, coverage.limit)
        low, high = intervals(np.asarray(labels, dtype=float), coverage.limit)
        return np.column_stack([low, high]).tolist()

    def _from_probabilities(self, probabilities: np.ndarray) -> Predictions:
        """Calibrated probabilities and the labels they imply (without a map: the most probable class, what
        `predict` answers for every classifier of the model families)."""
        calibration, classes = self.trained.metadata.calibration, self.trained.classes
        calibrated = apply_calibration(calibration, probabilities, classes)
        labels = self.trained.pipeline.classes_[predicted_columns(calibration, calibrated, classes)].tolist()
        return Predictions(labels, calibrated)
