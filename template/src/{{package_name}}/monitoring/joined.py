"""Outcomes (ground truth, logs/outcomes/) joined to the prediction log (logs/predictions/).

An outcome names its prediction by `prediction_id`, or by the values of the configured ID columns: then it
belongs to the latest logged prediction with those values at or before the moment the outcome was received
(a customer scored twice is judged on the score that was live when the outcome came). An outcome sent twice
is kept twice by the store; here the last received counts. Outcomes that match no prediction of the window
are counted, by source, never silently dropped. Beside each prediction, the conformal interval or set
logged with it (`answers`), for the realized coverage.

Only what is needed is read: the log lines of the window (their timestamp is looked at before a line is
decoded; a file last written before the window is not opened) and every outcome (they are few).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts import prediction_index
from ..artifacts.log_line import LINE_PREFIX, STAMP_FORMAT, STAMP_LENGTH, LogLine, stamp
from ..artifacts.outcome_line import OutcomeLine
from ..artifacts.paths import OUTCOMES_SUFFIX, PREDICTION_LOG_SUFFIX

# Columns of `Joined.predictions` (the group columns come after them, under their own names).
TIME, PREDICTION_ID, MODEL_VERSION, PREDICTION, ACTUAL, RECEIVED_AT = (
    "timestamp", "prediction_id", "model_version", "prediction", "actual", "received_at",
)  # fmt: skip
# Columns of `Joined.answers`: the level of the interval or set, the interval's bounds, the set's classes.
LEVEL, LOW, HIGH, SET = ANSWER_COLUMNS = ("level", "low", "high", "set")


@dataclass
class Joined:
    """The window's predictions and the outcomes that came back for them.

    `predictions`: one row per logged prediction (time, id, model version, prediction, group columns);
    `probabilities`: for classifiers, one row per prediction, one column per class of `classes`;
    `labelled`: the positions (into both) of the predictions that have an outcome, and `actual` beside them;
    `answers`: one row per prediction, the conformal answer given with it (`ANSWER_COLUMNS`: its coverage
    level, the interval's bounds or the set; missing on lines logged without one).
    """

    predictions: pd.DataFrame
    probabilities: np.ndarray | None
    classes: list[str]
    labelled: np.ndarray
    actual: list[Any]
    outcomes_read: int = 0
    duplicates: int = 0  # outcomes replaced by a later one for the same prediction
    unknown: int = 0
    unknown_by_source: dict[str, int] = field(default_factory=dict)
    skipped_lines: int = 0  # log lines that are not entries (cut off, written by hand)
    answers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ANSWER_COLUMNS))

    @property
    def labelled_rows(self) -> pd.DataFrame:
        """The labelled predictions with their `actual` value."""
        rows = self.predictions.iloc[self.labelled].reset_index(drop=True)
        return rows.assign(**{ACTUAL: self.actual})


def id_key(ids: dict[str, Any] | None, columns: tuple[str, ...]) -> str | None:
    """The ID values as one comparable key; None unless every ID column has a value. 123, 123.0 and "123"
    are the same customer whether they came back through JSON, a CSV file or a Parquet file."""
    if not ids or not columns:
        return None
    return prediction_index.id_key([ids.get(column) for column in columns])


def join(
    log_dir: Path,
    outcomes_dir: Path,
    since: datetime | None,
    id_columns: tuple[str, ...],
    group_columns: tuple[str, ...],
    classes: list[Any] | None,
) -> Joined:
    """The window's predictions (all: the estimate needs the unlabelled ones too) and their outcomes."""
    entries, skipped = read_log_window(log_dir, since)
    class_names = [str(label) for label in classes] if classes else []
    predictions = _prediction_frame(entries, id_columns, group_columns)
    probabilities = _probabilities(entries, class_names) if class_names else None
    outcomes = read_outcomes(outcomes_dir, since)
    matched, unknown = _match(entries, outcomes, id_columns)
    duplicates = sum(len(found) - 1 for found in matched.values())
    positions = np.array(sorted(matched), dtype=np.int64)
    last = [max(matched[row], key=lambda item: item[0])[1] for row in positions.tolist()]
    return Joined(
        predictions=predictions,
        probabilities=probabilities,
        classes=class_names,
        labelled=positions,
        actual=[outcome.actual for outcome in last],
        outcomes_read=len(outcomes),
        duplicates=duplicates,
        unknown=sum(unknown.values()),
        unknown_by_source=dict(unknown),
        skipped_lines=skipped,
        answers=_answers(entries),
    )


def read_log_window(directory: Path, since: datetime | None) -> tuple[list[LogLine], int]:
    """Every log entry at or after `since`, and how many lines in the window were not entries."""
    files = sorted(directory.glob(f"*{PREDICTION_LOG_SUFFIX}")) if directory.is_dir() else []
    if since is not None:  # a file last written before the window holds no entry of it
        files = [path for path in files if path.stat().st_mtime >= since.timestamp()]
    since_key = stamp(since).encode() if since is not None else None
    entries: list[LogLine] = []
    skipped = 0
    for path in files:
        with path.open("rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    continue  # still being written
                if since_key is not None and line.startswith(LINE_PREFIX):
                    at = len(LINE_PREFIX)
                    if line[at : at + STAMP_LENGTH] < since_key:
                        continue
                entry = LogLine.decode(line)
                if entry is None or not isinstance(entry.timestamp, str):
                    skipped += 1
                else:
                    entries.append(entry)
    return entries, skipped


def read_outcomes(directory: Path, since: datetime | None) -> list[OutcomeLine]:
    """Every stored outcome received at or after `since` (an outcome cannot precede its prediction), in the
    order received; unreadable lines are left out."""
    files = sorted(directory.glob(f"*{OUTCOMES_SUFFIX}")) if directory.is_dir() else []
    found = []
    for path in files:
        with path.open("rb") as handle:
            for line in handle:
                outcome = OutcomeLine.decode(line) if line.endswith(b"\n") else None
                moment = _stamp_of(outcome.received_at) if outcome is not None else None
                if moment is None:
                    continue
                if since is None or moment >= stamp(since):
                    found.append(OutcomeLine(moment, *_fields(outcome)))
    found.sort(key=lambda outcome: outcome.received_at)  # stable: a file's own order breaks ties
    return found


def _fields(outcome: OutcomeLine) -> tuple[Any, Any, Any, str]:
    return outcome.actual, outcome.prediction_id, outcome.ids, outcome.source


def _stamp_of(text: str) -> str | None:
    """A received_at time in the log's fixed-width stamp format (so times compare as text), or None."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp(moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment)


def _match(
    entries: list[LogLine], outcomes: list[OutcomeLine], id_columns: tuple[str, ...]
) -> tuple[dict[int, list[tuple[int, OutcomeLine]]], Counter[str]]:
    """{prediction position: [(order received, outcome), ...]} and the unmatched outcomes by source."""
    by_id = {entry.prediction_id: row for row, entry in enumerate(entries) if entry.prediction_id}
    by_key: dict[str, list[tuple[str, int]]] = {}
    for row, entry in enumerate(entries):
        key = id_key(entry.ids, id_columns)
        if key is not None:
            by_key.setdefault(key, []).append((entry.timestamp, row))
    for history in by_key.values():
        history.sort()
    matched: dict[int, list[tuple[int, OutcomeLine]]] = {}
    unknown: Counter[str] = Counter()
    for order, outcome in enumerate(outcomes):
        row = by_id.get(outcome.prediction_id) if outcome.prediction_id else None
        if row is None:
            row = _latest_before(by_key.get(id_key(outcome.ids, id_columns) or ""), outcome.received_at)
        if row is None:
            unknown[outcome.source or "unknown source"] += 1
        else:
            matched.setdefault(row, []).append((order, outcome))
    return matched, unknown


def _latest_before(history: list[tuple[str, int]] | None, moment: str) -> int | None:
    """The position of the latest prediction logged at or before `moment` (stamps compare as text)."""
    if not history:
        return None
    at = bisect.bisect_right(history, (moment, float("inf")))
    return history[at - 1][1] if at else None


def _prediction_frame(
    entries: list[LogLine], id_columns: tuple[str, ...], group_columns: tuple[str, ...]
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            TIME: pd.to_datetime([entry.timestamp for entry in entries], format=STAMP_FORMAT, utc=True),
            PREDICTION_ID: [entry.prediction_id for entry in entries],
            MODEL_VERSION: [entry.model_version for entry in entries],
            PREDICTION: [entry.prediction for entry in entries],
        }
    )
    for column in group_columns:
        frame[column] = [_carried(entry, column) for entry in entries]
    return frame


def _carried(entry: LogLine, column: str) -> Any:
    """A column's value as the record carried it: among its features, else among its IDs."""
    if column in entry.inputs:
        return entry.inputs[column]
    return (entry.ids or {}).get(column)


def carried_columns(predictions: pd.DataFrame, columns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The columns with at least one value in the window, and those the live records never carry."""
    present = [column for column in columns if column in predictions and predictions[column].notna().any()]
    return present, [column for column in columns if column not in present]


def _probabilities(entries: list[LogLine], classes: list[str]) -> np.ndarray:
    """Rows × classes; a line without probabilities (written before they were logged) is NaN."""
    matrix = np.full((len(entries), len(classes)), np.nan)
    for row, entry in enumerate(entries):
        if entry.probabilities:
            matrix[row] = [entry.probabilities.get(name, np.nan) for name in classes]
    return matrix


def _answers(entries: list[LogLine]) -> pd.DataFrame:
    """Per line, the conformal answer it gave: level and interval bounds (NaN when absent), the set (None).
    A line whose coverage or interval is not numbers (written by hand) has no answer."""
    rows = [(_level(entry), *_bounds(entry.interval), entry.prediction_set) for entry in entries]
    frame = pd.DataFrame(rows, columns=ANSWER_COLUMNS, dtype=object)
    for column in (LEVEL, LOW, HIGH):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def _level(entry: LogLine) -> float | None:
    level = entry.coverage
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        return None
    return float(level)


def _bounds(interval: list[Any] | None) -> tuple[Any, Any]:
    if interval is None or len(interval) != 2 or any(isinstance(bound, bool) for bound in interval):
        return None, None
    return interval[0], interval[1]
