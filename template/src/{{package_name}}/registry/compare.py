"""`models compare`: the current model and its shadow on the same live requests.

Running servers answer each request with the current model (logged to logs/predictions/) and, off the
request path, also score it with the shadow (logs/shadow/: lines of the same format, with the same
prediction_id and the shadow's model_version). Both logs are read by `monitoring.joined`'s reader and
paired by prediction_id; per (current version, shadow version) pair the report gives:

- coverage: the records paired, and those only the current model scored (the shadow's queue was full);
- agreement: classification: the share of identical labels, a confusion table current × shadow label, and
  for binary models the mean and 95th percentile of the absolute difference of the positive class's
  probability; regression: the mean absolute difference, the share within a tolerance (`TOLERANCE_SHARE`
  of the target's spread) and the correlation;
- realized performance where outcomes came back (joined as `performance` joins them): both models'
  metrics on the same labelled records and which one is better on the gate metric; below
  `monitoring.min_labelled_rows` labelled records, no verdict;
- the next step: promote the shadow, keep watching, or retire it.

Written to reports/compare/compare.json and a self-contained compare.html (`compare_html`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts import files as artifacts
from ..artifacts.log_line import LogLine
from ..artifacts.metadata import ModelMetadata
from ..artifacts.model_store import ModelStore
from ..artifacts.paths import ReportFolder
from ..core import metrics
from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import say, step
from ..core.wording import count
from ..drift.current import window_start
from ..monitoring.joined import (
    ACTUAL,
    MODEL_VERSION,
    PREDICTION,
    PREDICTION_ID,
    TIME,
    Joined,
    join,
    read_log_window,
)
from ..monitoring.performance import Scored
from .compare_html import headline, next_step, render, shown

# Regression: two answers "agree" when they differ by at most this share of the target's spread (its
# standard deviation, which the mean-predicting baseline's cross-validated RMSE in metadata.json measures).
TOLERANCE_SHARE = 0.05
# A model is called better when it wins on at least this share of resamples of the labelled records.
RESAMPLES, CONFIDENCE = 100, 0.95
HOW_TO_START = (
    "start one with `models shadow VERSION` (a stored version, see `models list`) or `train --data NEW "
    "--shadow`, let the servers score live traffic with it, then run `models compare` again"
)


@dataclass
class CompareSummary:
    """What `models compare` found: compare.json's content and the line the CLI prints."""

    payload: dict[str, Any]
    headline: str


def run_compare(config: Config, since: str | None = None, last: str | None = None) -> CompareSummary:
    """Pair the two logs of the window, measure agreement and realized performance, write the reports."""
    from ..serving.trained_model import read_metadata

    metadata = read_metadata(config)
    start = window_start(since, last)
    window = f" since {start.isoformat(timespec='seconds')}" if start else ""
    pointer = ModelStore(config.models_dir).read_pointer()
    with step(f"reading the shadow log{window}"):
        shadow, shadow_skipped = read_log_window(config.shadow_log_dir, start)
    if not shadow:
        set_now = f" ({pointer.shadow} is set as the shadow: no server has scored traffic with it yet)"
        raise UserError(
            f"no shadow predictions in {shown(config, config.shadow_log_dir)}{window}"
            f"{set_now if pointer.shadow else ''}: {HOW_TO_START}"
        )
    with step("joining the prediction log, the shadow log and the outcomes"):
        classes = metadata.classes if config.is_classification else None
        joined = join(
            config.prediction_log_dir, config.outcomes_dir, start, config.data.id_columns, (), classes
        )
        shadow_side = _shadow_side(joined, shadow)
    if not shadow_side.current_rows.size:
        raise UserError(
            f"none of the {count(len(shadow), 'shadow prediction')}{window} shares a prediction_id with the "
            f"{count(len(joined.predictions), 'prediction')} of {shown(config, config.prediction_log_dir)}: "
            f"nothing to compare; {HOW_TO_START}"
        )
    say(f"  {count(shadow_side.current_rows.size, 'record')} scored by both models")
    payload = build_payload(config, metadata, joined, shadow_side, start)
    payload["pointer"] = {"current": pointer.current, "shadow": pointer.shadow}
    payload["counts"]["skipped_log_lines"] += shadow_skipped
    folder = ReportFolder(config.reports_dir)
    payload["outputs"] = {"json": str(folder.compare_json), "html": str(folder.compare_html)}
    payload["headline"] = headline(payload, shown(config, folder.compare_html))
    artifacts.write_json(folder.compare_json, payload)
    artifacts.write_atomic(folder.compare_html, render(payload, config.project_name))
    return CompareSummary(payload, payload["headline"])


@dataclass
class ShadowSide:
    """The shadow's answers to the current model's logged predictions, position by position: `current_rows`
    are positions into `joined.predictions`, `joined` is the current model's window restricted to them and
    `shadow` the same with the shadow's answers; `unmatched` counts shadow lines with no current line."""

    current_rows: np.ndarray
    current: Joined
    shadow: Joined
    unmatched: int

    def paired(self, records: int) -> np.ndarray:
        """Which of the window's `records` predictions the shadow scored too."""
        mask = np.zeros(records, dtype=bool)
        mask[self.current_rows] = True
        return mask


def _shadow_side(joined: Joined, entries: list[LogLine]) -> ShadowSide:
    by_id = {entry.prediction_id: entry for entry in entries if entry.prediction_id}
    ids = joined.predictions[PREDICTION_ID].tolist()
    rows = np.array([row for row, found in enumerate(ids) if found in by_id], dtype=np.int64)
    mine = [by_id[ids[row]] for row in rows.tolist()]
    labelled = {int(row): position for position, row in enumerate(joined.labelled.tolist())}
    kept = [(at, labelled[row]) for at, row in enumerate(rows.tolist()) if row in labelled]
    current = Joined(
        predictions=joined.predictions.iloc[rows].reset_index(drop=True),
        probabilities=None if joined.probabilities is None else joined.probabilities[rows],
        classes=joined.classes,
        labelled=np.array([at for at, _ in kept], dtype=np.int64),
        actual=[joined.actual[position] for _, position in kept],
    )
    answers = current.predictions.assign(
        **{MODEL_VERSION: [entry.model_version for entry in mine], PREDICTION: [e.prediction for e in mine]}
    )
    probabilities = None
    if joined.probabilities is not None:
        probabilities = np.array(
            [[(entry.probabilities or {}).get(name, np.nan) for name in joined.classes] for entry in mine],
            dtype=float,
        ).reshape(len(mine), len(joined.classes))
    shadow = replace(current, predictions=answers, probabilities=probabilities)
    return ShadowSide(rows, current, shadow, len(by_id) - len(mine))


def build_payload(
    config: Config, metadata: ModelMetadata, joined: Joined, side: ShadowSide, start: datetime | None
) -> dict[str, Any]:
    """compare.json: counts over the window, then one entry per (current, shadow) pair of versions."""
    current, shadow = side.current.predictions, side.shadow.predictions
    keys = list(zip(current[MODEL_VERSION], shadow[MODEL_VERSION], strict=True))
    paired = side.paired(len(joined.predictions))
    times = joined.predictions[TIME]
    pairs = []
    masks = {key: np.array([item == key for item in keys]) for key in dict.fromkeys(keys)}
    starts = {key: current[TIME][mask].min() for key, mask in masks.items()}
    for key, mask in masks.items():  # a pair's time ends where the next shadow of its current model begins
        later = [start for other, start in starts.items() if other[0] == key[0] and start > starts[key]]
        pairs.append(_pair(config, metadata, joined, side, mask, min(later, default=None)))
    pairs.sort(key=lambda pair: pair["last"], reverse=True)
    return _strict(
        {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "problem_type": config.problem_type,
            "gate_metric": metrics.gate_metric(config.problem_type).name,
            "metrics": [metric.name for metric in metrics.reported(config.problem_type)],
            "window": {
                "start": start.isoformat() if start else (times.min().isoformat() if len(times) else None),
                "end": times.max().isoformat() if len(times) else None,
            },
            "counts": {
                "current_records": len(joined.predictions),
                "shadow_records": int(side.current_rows.size) + side.unmatched,
                "paired": int(side.current_rows.size),
                "only_current": int((~paired).sum()),
                "only_shadow": side.unmatched,
                "skipped_log_lines": joined.skipped_lines,
            },
            "min_labelled_rows": config.monitoring.min_labelled_rows,
            "pairs": pairs,
        }
    )


def _pair(config: Config, metadata: ModelMetadata, joined: Joined, side: ShadowSide, mask, until) -> dict:
    """One (current, shadow) pair: coverage, agreement, realized performance, the next step."""
    current, shadow = side.current.predictions[mask], side.shadow.predictions[mask]
    first, last = current[TIME].min(), current[TIME].max()
    rows = joined.predictions
    span = (rows[TIME] >= first) & ((rows[TIME] < until) if until is not None else True)
    in_span = (rows[MODEL_VERSION] == current[MODEL_VERSION].iloc[0]) & span
    entry: dict[str, Any] = {
        "current": current[MODEL_VERSION].iloc[0],
        "shadow": shadow[MODEL_VERSION].iloc[0],
        "first": first.isoformat(),
        "last": last.isoformat(),
        "paired": int(mask.sum()),
        # Records of the current version the shadow did not score (queue full, or shadow off since).
        "only_current": int((in_span.to_numpy() & ~side.paired(len(rows))).sum()),
    }
    if config.is_classification:
        proba = (side.current.probabilities[mask], side.shadow.probabilities[mask])
        entry["agreement"] = class_agreement(
            current[PREDICTION], shadow[PREDICTION], proba, joined.classes, metadata
        )
    else:
        entry["agreement"] = value_agreement(current[PREDICTION], shadow[PREDICTION], metadata)
    entry["realized"] = realized(config, metadata, side, mask)
    entry["next_step"] = next_step(entry, config.problem_type, config.monitoring.min_labelled_rows)
    return entry


def class_agreement(
    current: pd.Series, shadow: pd.Series, proba: tuple[np.ndarray, np.ndarray], classes: list[str], metadata
) -> dict[str, Any]:
    """Share of identical labels, the confusion table (rows: current label, columns: shadow label) and,
    binary, how far apart the positive class's probabilities are."""
    left, right = current.astype(str).to_numpy(), shadow.astype(str).to_numpy()
    seen = set(left) | set(right)
    labels = [name for name in classes if name in seen] + sorted(seen - set(classes))
    table = pd.crosstab(pd.Categorical(left, labels), pd.Categorical(right, labels), dropna=False)
    result: dict[str, Any] = {
        "same_label": float(np.mean(left == right)),
        "labels": labels,
        "confusion": table.to_numpy().tolist(),
    }
    if metadata.problem_type == "binary" and metadata.positive_class is not None:
        column = classes.index(str(metadata.positive_class))
        gap = np.abs(proba[0][:, column] - proba[1][:, column])
        gap = gap[np.isfinite(gap)]
        result["positive_class"] = str(metadata.positive_class)
        result["probability_gap_mean"] = float(gap.mean()) if gap.size else None
        result["probability_gap_p95"] = float(np.percentile(gap, 95)) if gap.size else None
    return result


def value_agreement(current: pd.Series, shadow: pd.Series, metadata: ModelMetadata) -> dict[str, Any]:
    """Mean absolute difference, the share within the tolerance (and the tolerance, with its basis), and the
    correlation of the two models' numbers."""
    left = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float)
    right = pd.to_numeric(shadow, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(left) & np.isfinite(right)
    left, right = left[finite], right[finite]
    tolerance, basis = _tolerance(metadata, left)
    gap = np.abs(left - right)
    varies = left.size > 1 and np.std(left) > 0 and np.std(right) > 0
    return {
        "mean_abs_diff": float(gap.mean()) if gap.size else None,
        "within_tolerance": float(np.mean(gap <= tolerance)) if gap.size else None,
        "tolerance": tolerance,
        "tolerance_basis": basis,
        "correlation": float(np.corrcoef(left, right)[0, 1]) if varies else None,
    }


def _tolerance(metadata: ModelMetadata, current: np.ndarray) -> tuple[float, str]:
    spread = metadata.mean_scores("baseline").get("rmse")
    share = f"{TOLERANCE_SHARE:.0%}"
    if spread:
        return (
            TOLERANCE_SHARE * spread,
            f"{share} of the target's spread (the mean baseline's RMSE in training)",
        )
    spread = float(np.std(current)) if current.size else 0.0
    return TOLERANCE_SHARE * spread, f"{share} of the spread of the current model's answers"


def realized(config: Config, metadata: ModelMetadata, side: ShadowSide, mask: np.ndarray) -> dict[str, Any]:
    """Both models' metrics on the same labelled records (those both can be scored on); with enough of
    them, how often the shadow is better on the gate metric over resamples of those records."""
    gate = metrics.gate_metric(config.problem_type)
    scored = [Scored.of(config, metadata, _only(joined, mask)) for joined in (side.current, side.shadow)]
    common = set(scored[0].rows["row"]) & set(scored[1].rows["row"])
    rows = [item.rows[item.rows["row"].isin(common)].reset_index(drop=True) for item in scored]
    values = [item.realized(mine) for item, mine in zip(scored, rows, strict=True)]
    labelled, needed = len(common), config.monitoring.min_labelled_rows
    ours, theirs = values[0].get(gate.name), values[1].get(gate.name)
    enough = labelled >= needed and ours is not None and theirs is not None
    share = _shadow_better_share(scored, rows, gate, config.model.random_state) if enough else None
    better = None
    if share is not None:
        better = "shadow" if share >= CONFIDENCE else "current" if share <= 1 - CONFIDENCE else "unclear"
    return {
        "labelled": labelled,
        "current": values[0],
        "shadow": values[1],
        "enough": enough,
        "shadow_gain": gate.gain(theirs, ours) if enough else None,
        "shadow_better_share": share,
        "resamples": RESAMPLES,
        "confidence": CONFIDENCE,
        "better": better,
    }


def _shadow_better_share(
    scored: list[Scored], rows: list[pd.DataFrame], gate: metrics.Metric, seed: int
) -> float | None:
    """The share of resamples of the labelled records (the same records for both models, drawn with
    replacement) on which the shadow scores better on the gate metric: a difference that chance alone
    could make goes either way and gives no verdict."""
    import sklearn

    sides = [_plain(item, mine) for item, mine in zip(scored, rows, strict=True)]
    generator = np.random.default_rng(seed)
    wins = ties = counted = 0
    # The inputs were checked once already: scikit-learn's checks would cost more than the scores.
    with (
        sklearn.config_context(skip_parameter_validation=True, assume_finite=True),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        for _ in range(RESAMPLES):
            pick = generator.integers(0, len(rows[0]), len(rows[0]))
            ours, theirs = (_gate_value(side, pick, gate) for side in sides)
            if ours is None or theirs is None:
                continue  # e.g. a resample with one class only
            counted += 1
            gain = gate.gain(theirs, ours)
            wins, ties = wins + (gain > 0), ties + (gain == 0)
    return (wins + ties / 2) / counted if counted else None


def _plain(scored: Scored, rows: pd.DataFrame) -> metrics.Predictions:
    """The labelled rows as the scorers take them (as `Scored.realized` builds them), in plain NumPy, so
    that a resample is an index."""
    probabilities = scored.joined.probabilities
    positive = scored.metadata.positive_class
    return metrics.Predictions(
        y_true=rows[ACTUAL].to_numpy(dtype=object),
        prediction=rows[PREDICTION].to_numpy(),
        proba=None if probabilities is None else probabilities[rows["row"].to_numpy()],
        classes=scored.joined.classes or None,
        positive=None if positive is None else str(positive),
    )


def _gate_value(side: metrics.Predictions, pick: np.ndarray, gate: metrics.Metric) -> float | None:
    """The gate metric alone on one resample."""
    resample = replace(
        side,
        y_true=pd.Series(side.y_true[pick]),
        prediction=side.prediction[pick],
        proba=None if side.proba is None else side.proba[pick],
    )
    try:
        value = float(gate.score(resample))
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _only(joined: Joined, mask: np.ndarray) -> Joined:
    """The window's paired records restricted to one pair of versions (positions renumbered)."""
    keep = np.flatnonzero(mask)
    position = {int(row): at for at, row in enumerate(keep.tolist())}
    labelled = [
        (position[int(row)], actual)
        for row, actual in zip(joined.labelled, joined.actual, strict=True)
        if mask[row]
    ]
    return replace(
        joined,
        predictions=joined.predictions.iloc[keep].reset_index(drop=True),
        probabilities=None if joined.probabilities is None else joined.probabilities[keep],
        labelled=np.array([at for at, _ in labelled], dtype=np.int64),
        actual=[actual for _, actual in labelled],
    )


def _strict(value: Any) -> Any:
    """Strict JSON: NaN and infinities become null, NumPy scalars plain values, everywhere."""
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
