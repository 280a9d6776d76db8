"""The outcome store (logs/outcomes/): ground truth sent back after predictions, checked against the model,
matched to logged predictions and appended. Shared by the feedback endpoint (`POST /v1/feedback`) and
`outcomes --input FILE`, so both take the same outcomes and write the same lines (`OutcomeLine`).

An outcome names its prediction by `prediction_id`, or by the values of all the ID columns
(`data.id_columns`): then it belongs to the latest logged prediction with those values, whose prediction_id
is stored with it. `matched` counts outcomes whose prediction is in the prediction index
(`artifacts.prediction_index`); `unknown` the others (a prediction that was never logged, or one whose log
files were deleted): they are stored all the same, `performance` finds no prediction to join them to.

`actual` is checked against the model: a class it knows (classification) or a finite number (regression).
JSON carries types, so the API wants the label's JSON type (1 for a class 1, not "1"); a table does not (a
CSV cell is text, a column of integers with a gap is read as floats), so a file's cell is also taken when
its text is the text of one class.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..artifacts.files import write_atomic
from ..artifacts.log_line import stamp
from ..artifacts.metadata import ModelMetadata
from ..artifacts.model_store import model_folder
from ..artifacts.outcome_line import OutcomeLine, file_source
from ..artifacts.paths import OUTCOMES_SUFFIX
from ..artifacts.prediction_index import PredictionIndex, id_key, index_path
from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import step

PREDICTION_ID = "prediction_id"  # the key column of an outcomes file, and the field of the API
SHOWN_PROBLEMS = 5
SHOWN_CLASSES = 20


# What `actual` may be ------------------------------------------------------------------------------------


def json_kind(value: Any) -> str:
    """The JSON type of a plain value, as a reader says it."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "text" if isinstance(value, str) else type(value).__name__


@dataclass(frozen=True)
class Labels:
    """What an actual outcome may be for the model: one of its classes, or a finite number."""

    problem_type: str
    classes: tuple[Any, ...] = ()

    @classmethod
    def of(cls, metadata: ModelMetadata | None, problem_type: str) -> Labels:
        if metadata is None:
            return cls(problem_type)
        return cls(metadata.problem_type or problem_type, tuple(metadata.classes or ()))

    @property
    def is_classification(self) -> bool:
        return self.problem_type != "regression"

    def allowed(self) -> str:
        """What is allowed, for error messages."""
        if not self.is_classification:
            return "a finite number"
        if not self.classes:
            return "one of the model's classes"
        shown = ", ".join(map(repr, self.classes[:SHOWN_CLASSES]))
        more = " …" if len(self.classes) > SHOWN_CLASSES else ""
        return f"one of the model's classes ({json_kind(self.classes[0])}): {shown}{more}"

    def check(self, value: Any) -> str | None:
        """Why a JSON value is refused, or None: a class of the label's JSON type, or a finite number."""
        if not self.is_classification:
            finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            return None if finite else f"expected {self.allowed()}; got {value!r} ({json_kind(value)})"
        if any(json_kind(value) == json_kind(label) and value == label for label in self.classes):
            return None
        if not self.classes:  # no model to ask: any plain label
            return None if isinstance(value, str | int | float | bool) else f"expected {self.allowed()}"
        return f"expected {self.allowed()}; got {value!r} ({json_kind(value)})"

    def from_cell(self, value: Any) -> tuple[Any, str | None]:
        """A table cell as the label it stands for (a plain JSON value), or the reason it cannot be one."""
        value = value.item() if hasattr(value, "item") else value
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            return None, "empty: every row needs its actual outcome"
        if not self.is_classification:
            try:
                number = float(value) if not isinstance(value, bool) else math.nan
            except (TypeError, ValueError):
                number = math.nan
            if math.isfinite(number):
                return number, None
            return None, f"not {self.allowed()}"
        if self.check(value) is None:
            return value, None
        text = cell_text(value)
        same = [label for label in self.classes if cell_text(label) == text]
        if len(same) == 1:
            return same[0], None
        return None, f"not {self.allowed()}"


def cell_text(value: Any) -> str:
    """A value as a table shows it: a whole float as its integer (12.0 → "12")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def plain_id(value: Any) -> Any:
    """An ID value as JSON holds it: text, or an integer (a whole float from a table included)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Matching ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One outcome as received: the prediction it names (by id, or by the ID columns' values) and the
    actual value, already checked."""

    actual: Any
    prediction_id: str | None = None
    ids: dict[str, Any] | None = None


@dataclass(frozen=True)
class Stored:
    """What became of a set of outcomes: the lines written, how many matched a logged prediction."""

    rows: int  # outcomes received and stored
    matched: int
    unknown: int
    output: Path | None = None  # the file written to


def resolve(
    index: PredictionIndex, outcomes: Sequence[Outcome], id_columns: Sequence[str]
) -> list[str | None]:
    """Per outcome, the prediction_id of the logged prediction it belongs to, or None (unknown): its own
    prediction_id when that was logged, else the latest logged prediction with its ID values."""
    known = index.known(outcome.prediction_id for outcome in outcomes if outcome.prediction_id)
    keys = [id_key([(outcome.ids or {}).get(name) for name in id_columns]) for outcome in outcomes]
    latest = index.latest(key for key, outcome in zip(keys, outcomes, strict=True) if key is not None)
    found: list[str | None] = []
    for outcome, key in zip(outcomes, keys, strict=True):
        if outcome.prediction_id in known:
            found.append(outcome.prediction_id)
        else:
            found.append(latest.get(key) if key is not None else None)
    return found


def lines_of(outcomes: Sequence[Outcome], matches: Sequence[str | None], source: str) -> list[OutcomeLine]:
    """The store's lines: a match by ID columns is stored with the prediction_id it matched."""
    received = stamp(datetime.now(UTC))
    return [
        OutcomeLine(received, outcome.actual, match or outcome.prediction_id, outcome.ids or None, source)
        for outcome, match in zip(outcomes, matches, strict=True)
    ]


# Writing -------------------------------------------------------------------------------------------------


def new_file_name() -> str:
    """A new store file: the UTC time it was begun (sorted by name is oldest first) and the process."""
    return f"{datetime.now(UTC).strftime('%Y-%m-%dT%H%M%S.%fZ')}-{os.getpid()}{OUTCOMES_SUFFIX}"


class OutcomeStore:
    """Appends to one file of this process under logs/outcomes/: whole lines, written and synced to disk
    before the call returns, or an OSError and nothing (a write that failed part way is cut back)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()  # the API appends from several threads
        self._path: Path | None = None

    def append(self, lines: Sequence[OutcomeLine]) -> Path:
        data = "".join(line.encode() for line in lines).encode("utf-8")
        with self._lock:
            if self._path is None or not self._path.exists():  # first write, or deleted by hand
                self.directory.mkdir(parents=True, exist_ok=True)
                self._path = self.directory / new_file_name()
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
            try:
                start = os.fstat(fd).st_size
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                except OSError:
                    os.ftruncate(fd, start)
                    raise
            finally:
                os.close(fd)
            return self._path


# `outcomes --input FILE` -----------------------------------------------------------------------------------


def load_outcomes_file(config: Config, path: Path) -> Stored:
    """Check the whole file, then store it as one new file under logs/outcomes/ (nothing on any problem:
    a UserError with the count and the first few as `row N, column C: value 'v': reason`)."""
    from ..data.tables import load_table, table_kind

    table_kind(path)
    if not path.is_file():
        raise UserError(f"input file {path} does not exist" if not path.exists() else f"{path} is not a file")
    labels = Labels.of(ModelMetadata.read(model_folder(config.models_dir).metadata), config.problem_type)
    with step(f"checking the outcomes in {path.name}"):
        frame = load_table(path, config.data.missing_values)
        outcomes = _outcomes_of(frame, config, labels, path.name)
    with step(f"matching {len(outcomes):,} outcomes to the prediction log and storing them"):
        index = PredictionIndex(index_path(config.prediction_log_dir.parent), create=False)
        try:
            matches = resolve(index, outcomes, config.data.id_columns)
        finally:
            index.close()
        output = config.outcomes_dir / new_file_name()
        lines = lines_of(outcomes, matches, file_source(path.name))
        write_atomic(output, "".join(line.encode() for line in lines))
    matched = sum(match is not None for match in matches)
    return Stored(len(outcomes), matched, len(outcomes) - matched, output)


def _outcomes_of(frame: Any, config: Config, labels: Labels, name: str) -> list[Outcome]:
    target, id_columns = config.data.target, list(config.data.id_columns)
    by_id = PREDICTION_ID in frame.columns
    by_columns = bool(id_columns) and all(column in frame.columns for column in id_columns)
    if not by_id and not by_columns:
        keys = (
            f"or all the ID columns ({', '.join(id_columns)})" if id_columns else "(no data.id_columns set)"
        )
        raise UserError(
            f"{name} has no {PREDICTION_ID!r} column {keys}: one of them names the prediction each outcome "
            f"belongs to; columns: {', '.join(map(str, frame.columns[:20]))}"
        )
    if target not in frame.columns:
        raise UserError(f"{name} has no column {target!r} (data.target): the actual outcome of each row")
    problems: list[str] = []
    count = 0
    outcomes = []
    key_columns = [PREDICTION_ID] * by_id + id_columns * by_columns
    for row, record in enumerate(frame[[*key_columns, target]].to_dict("records"), start=1):
        outcome, key_problem = _key_of(record, by_id, id_columns if by_columns else [])
        if key_problem is not None:
            problems.append(_problem(row, *key_problem))
        actual, reason = labels.from_cell(record[target])
        if reason is not None:
            problems.append(_problem(row, target, record[target], reason))
        if key_problem is None and reason is None:
            outcomes.append(Outcome(actual, outcome.prediction_id, outcome.ids))
        else:
            count += 1
    if problems:
        counted = "rows are counted from 1, the row under the header"
        raise UserError(
            f"{count:,} of {len(frame):,} rows of {name} cannot be stored, so nothing was written "
            f"({counted}): "
            + "; ".join(problems[:SHOWN_PROBLEMS])
            + (f"; … ({len(problems):,} problems in all)" if len(problems) > SHOWN_PROBLEMS else "")
        )
    return outcomes


def _key_of(record: dict, by_id: bool, id_columns: list[str]) -> tuple[Outcome, tuple | None]:
    """The row's prediction_id and ID values, or (column, value, reason) when it names no prediction."""
    prediction_id = _text(record[PREDICTION_ID]) if by_id else None
    ids = {name: plain_id(record[name]) for name in id_columns if _text(record[name]) is not None}
    if prediction_id is None and (not id_columns or len(ids) < len(id_columns)):
        column = PREDICTION_ID if by_id else next(name for name in id_columns if name not in ids)
        needs = f"{PREDICTION_ID} or all the ID columns" if by_id and id_columns else "a value"
        return Outcome(None), (column, record[column], f"empty: every row needs {needs}")
    return Outcome(None, prediction_id, ids if len(ids) == len(id_columns) and ids else None), None


def _text(value: Any) -> str | None:
    """A key cell as text; None when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = cell_text(plain_id(value)).strip()
    return text or None


def _problem(row: int, column: str, value: Any, reason: str) -> str:
    shown = "" if value is None or (isinstance(value, float) and math.isnan(value)) else value
    return f"row {row}, column {column!r}: value {str(plain_id(shown))!r}: {reason}"
