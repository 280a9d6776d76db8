"""Per-prediction explanations: SHAP contributions of each original feature to one model output.

The explainer is built once from the fitted Pipeline and answers for any batch of raw records. Each
transformed column's contribution is summed back onto the input column it was made from (a one-hot column
onto its categorical, the calendar parts onto their date), so a reader sees the columns of their own data.
For every record `base_value + sum(contributions)` equals the explained model output (SHAP's additivity).

What is explained, per model family and problem type (`scale` in every answer):

| problem type | gradient_boosting | random_forest | linear |
| --- | --- | --- | --- |
| regression | `raw`: the predicted value | `raw` | `raw` |
| binary | `log-odds` of the positive class | `probability` of the positive class | `log-odds` |
| multiclass | `raw`: the predicted class's softmax score | `probability` of the predicted class | `raw` |

Tree families use SHAP's exact TreeExplainer on the final estimator; it explains gradient boosting on its
decision function (log-odds) and random forests on their averaged probabilities, which is why the scales
differ. The linear family uses the closed form of SHAP's interventional linear explainer,
`coef_j * (x_j - mean_j)`, with the means of the training sample (`models/reference.parquet`) as the
baseline. A binary model always explains the positive class, so contributions keep one direction across
records; a multiclass model explains the class it predicts for each record.

Calibration: the explained output is the model's own, before the calibration map that `/v1/predict`
applies to its probabilities (`training.calibration`). A map is monotone, so a feature that raises the
explained score raises the served probability too, but the `probability` scale of a random forest is its
uncalibrated probability. `prediction` is the label `/v1/predict` answers, the one the calibrated
probabilities imply (near 50% the model's own label can differ), and a multiclass model explains that
class. The model card's Calibration section says the same.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts.metadata import ModelMetadata

SCALES = ("raw", "log-odds", "probability")
# Largest tolerated gap between base_value + sum(contributions) and the model output, relative to the
# output's magnitude when that is above 1 (a sale price in the hundred thousands carries rounding noise).
TOLERANCE = 1e-6


@dataclass
class Explainer:
    """Explanations for one fitted Pipeline. Build it with `build_explainer`; `explain` is thread-safe."""

    prepare: Any  # the Pipeline without its final estimator: raw records → model matrix
    estimator: Any
    problem_type: str
    scale: str
    feature_names: list[str]
    fold: np.ndarray  # (transformed columns, original features) 0/1: which feature a column came from
    positive_index: int | None  # binary: the column of classes_ that is explained
    # model matrix → SHAP values (records, columns, outputs) and base values (outputs,)
    attribute: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    calibration: Any = None  # the map the served probabilities went through (metadata.json), if any

    def explain(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        """Per record: prediction, base value, contributions per original feature, scale (and the class
        explained, for classification)."""
        return self.explain_matrix(self._matrix(frame))

    def explain_matrix(self, X: np.ndarray) -> list[dict[str, Any]]:
        """`explain` for records already encoded into the model matrix (the API's fast encoder makes it
        without pandas: for a few records, encoding through the Pipeline costs more than SHAP itself)."""
        X = np.ascontiguousarray(X, dtype="float64")
        predictions = self._labels(X)
        values, base = self.attribute(X)
        output, sign = self._explained_output(predictions, values.shape[2])
        rows = np.arange(len(X))
        contributions = sign * values[rows, :, output] @ self.fold
        base_values = sign * base[output]
        classification = self.problem_type != "regression"
        answers = []
        for index, prediction in enumerate(predictions):
            answer = {
                "prediction": _plain(prediction),
                "base_value": float(base_values[index]),
                "contributions": dict(zip(self.feature_names, contributions[index].tolist(), strict=True)),
                "scale": self.scale,
            }
            if classification:
                answer["explained_class"] = _plain(self._explained_class(prediction))
            answers.append(answer)
        return answers

    def model_output(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's own output on the explained scale, computed without SHAP (for checking)."""
        X = self._matrix(frame)
        predictions = self._labels(X)
        if self.scale == "raw" and self.problem_type == "regression":
            return np.asarray(predictions, dtype="float64")
        if self.scale == "probability":
            scores = self.estimator.predict_proba(X)
        else:
            scores = self.estimator.decision_function(X)
        scores = np.asarray(scores, dtype="float64").reshape(len(X), -1)
        output, sign = self._explained_output(predictions, scores.shape[1])
        return sign * scores[np.arange(len(X)), output]

    def check(self, frame: pd.DataFrame) -> float:
        """Largest additivity gap over `frame`'s records; raises when it exceeds the tolerance."""
        answers = self.explain(frame)
        explained = np.array([a["base_value"] + sum(a["contributions"].values()) for a in answers])
        expected = self.model_output(frame)
        gaps = np.abs(explained - expected) / np.maximum(1.0, np.abs(expected))
        worst = float(gaps.max(initial=0.0))
        if worst > TOLERANCE:
            raise RuntimeError(
                f"explanations do not add up to the model output on the {self.scale} scale "
                f"(largest relative gap {worst:.2e}); the installed shap may not support this model"
            )
        return worst

    def _labels(self, X: np.ndarray) -> np.ndarray:
        """The labels `/v1/predict` answers for these rows: the model's own, or with a calibration map the
        ones its calibrated probabilities imply."""
        calibration = self.calibration
        if self.problem_type == "regression" or calibration is None or calibration.method == "none":
            return self.estimator.predict(X)
        from ..training.calibration import apply_calibration, predicted_columns

        classes = list(self.estimator.classes_)
        proba = apply_calibration(calibration, self.estimator.predict_proba(X), classes)
        return self.estimator.classes_[predicted_columns(calibration, proba, classes)]

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return np.ascontiguousarray(self.prepare.transform(frame), dtype="float64")

    def _explained_output(self, predictions: np.ndarray, outputs: int) -> tuple[np.ndarray, float]:
        """Per record, which model output is explained, and the sign that turns it into the stated scale.

        One output: the regression value, or the log-odds of classes_[1] (negated when the positive class
        is classes_[0]). Several outputs: one per class, the positive class's or the predicted class's.
        """
        count = len(predictions)
        if outputs == 1:
            flip = self.positive_index == 0
            return np.zeros(count, dtype=int), -1.0 if flip else 1.0
        if self.positive_index is not None:
            return np.full(count, self.positive_index), 1.0
        return np.searchsorted(self.estimator.classes_, predictions), 1.0

    def _explained_class(self, prediction: Any) -> Any:
        if self.positive_index is not None:
            return self.estimator.classes_[self.positive_index]
        return prediction


def build_explainer(model: Any, metadata: ModelMetadata, background: pd.DataFrame | None = None) -> Explainer:
    """The explainer of a fitted Pipeline (coerce → prepare → estimator), built once at start-up.

    `background`: raw training rows (`models/reference.parquet`). The linear family needs it for its
    baseline (the average training record); for every family, when given, a few of its rows are
    explained once as a self-check so that a wrong explanation stops the start-up rather than reaching
    a client.
    """
    estimator = _without_thread_pool(model[-1])
    prepare = model[:-1]
    problem_type = metadata.problem_type
    sources = transformed_sources(model.named_steps["prepare"])
    names = _feature_order(sources, metadata)
    fold = (np.asarray(sources)[:, None] == np.asarray(names)[None, :]).astype("float64")
    positive_index = _positive_index(estimator, metadata) if problem_type == "binary" else None
    if hasattr(estimator, "coef_"):
        if background is None:
            raise ValueError(
                "explaining a linear model needs background rows (models/reference.parquet) for its baseline"
            )
        matrix = np.asarray(prepare.transform(background), dtype="float64")
        attribute = _linear_attribution(estimator, matrix.mean(axis=0))
        scale = "raw" if problem_type != "binary" else "log-odds"
    else:
        attribute = _tree_attribution(model[-1])
        scale = _tree_scale(estimator, problem_type)
    explainer = Explainer(
        prepare, estimator, problem_type, scale, names, fold, positive_index, attribute, metadata.calibration
    )
    if background is not None and len(background):
        explainer.check(background.head(16))
    return explainer


def transformed_sources(prepare: Any) -> list[str]:
    """For each column the fitted ColumnTransformer outputs, the input column it was made from.

    Read from the fitted branches (their column lists and output slices, one-hot widths from the encoder's
    categories), never from the generated names, which a custom branch may spell any way.
    """
    width = sum(s.stop - s.start for s in prepare.output_indices_.values())
    sources: list[str | None] = [None] * width
    for name, transformer, columns in prepare.transformers_:
        block = prepare.output_indices_[name]
        if transformer == "drop" or block.stop == block.start:
            continue
        columns = list(columns)
        widths = _branch_widths(name, transformer, columns, block.stop - block.start)
        position = block.start
        for column, count in zip(columns, widths, strict=True):
            sources[position : position + count] = [column] * count
            position += count
    if any(source is None for source in sources):
        raise ValueError("could not trace every transformed column back to an input column")
    return sources  # type: ignore[return-value]


def _branch_widths(name: str, transformer: Any, columns: list[str], width: int) -> list[int]:
    """Output columns per input column of one branch: the encoder's categories for a one-hot branch, an
    even split otherwise (1 per numeric column, 3 calendar parts per date)."""
    last = transformer[-1] if hasattr(transformer, "steps") else transformer
    categories = getattr(last, "categories_", None)
    if categories is not None and getattr(last, "drop_idx_", None) is None:
        widths = [len(values) for values in categories]
    elif width % len(columns) == 0:
        widths = [width // len(columns)] * len(columns)
    else:
        widths = []
    if len(widths) != len(columns) or sum(widths) != width:
        raise ValueError(
            f"cannot tell which of the {width} outputs of branch {name!r} come from which of its columns "
            f"{columns}; explanations support one-hot encoders and branches with the same number of outputs "
            "per column"
        )
    return widths


def _feature_order(sources: list[str], metadata: ModelMetadata) -> list[str]:
    """The original feature names in the order of the metadata (data order), else in pipeline order."""
    present = list(dict.fromkeys(sources))
    ordered = [f["name"] for f in metadata.features if f["name"] in present]
    return ordered + [name for name in present if name not in ordered]


def _without_thread_pool(estimator: Any) -> Any:
    """The estimator predicting in the calling thread: for the few records of a request, dispatching a
    forest's trees to a thread pool costs more than it saves (about 30 ms against 9 ms for 200 trees)."""
    if getattr(estimator, "n_jobs", None) in (None, 1):
        return estimator
    single = copy.copy(estimator)  # shares the fitted trees; the served model keeps its own setting
    single.n_jobs = 1
    return single


def _positive_index(estimator: Any, metadata: ModelMetadata) -> int:
    classes = [str(label) for label in estimator.classes_]
    positive = metadata.positive_class
    return classes.index(str(positive)) if positive is not None and str(positive) in classes else 1


def _linear_attribution(estimator: Any, mean: np.ndarray):
    """SHAP values of a linear model against the mean record: exact, and what shap.LinearExplainer
    computes with interventional perturbation, without its import cost."""
    coef = np.atleast_2d(np.asarray(estimator.coef_, dtype="float64"))  # (outputs, columns)
    base = coef @ mean + np.atleast_1d(np.asarray(estimator.intercept_, dtype="float64"))

    def attribute(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (X - mean)[:, :, None] * coef.T[None, :, :], base

    return attribute


def _tree_attribution(estimator: Any):
    """SHAP's TreeExplainer (path-dependent: exact, needs no background data) on the final estimator."""
    import shap

    explainer = shap.TreeExplainer(estimator)
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype="float64")).ravel()

    def attribute(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _as_3d(explainer.shap_values(X, check_additivity=False)), base

    return attribute


def _as_3d(values: Any) -> np.ndarray:
    """SHAP values as (records, columns, outputs), whichever shape the installed shap returns (older
    versions give a list with one array per class, newer ones a 3-D array, single outputs a 2-D one)."""
    if isinstance(values, list):
        return np.stack([np.asarray(v, dtype="float64") for v in values], axis=-1)
    values = np.asarray(values, dtype="float64")
    return values[:, :, None] if values.ndim == 2 else values


def _tree_scale(estimator: Any, problem_type: str) -> str:
    from sklearn.ensemble import HistGradientBoostingClassifier

    if problem_type == "regression":
        return "raw"
    if isinstance(estimator, HistGradientBoostingClassifier):
        return "log-odds" if problem_type == "binary" else "raw"
    return "probability"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
