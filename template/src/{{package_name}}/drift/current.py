"""Reading what is compared: the training reference, and the live rows (the prediction log or a file).

Big traffic stays fast and small in memory: the log is indexed file by file with NumPy (where each line
starts; the API writes the timestamp first on every line, which finds the time window), then a seeded
uniform sample of the lines in the window is parsed; the other lines are never decoded. Drift distances
(Wasserstein, Jensen-Shannon) estimate a property of the two distributions, and with a reference of a few
thousand rows, the reference's own sampling error dominates long before the live sample reaches tens of
thousands of rows: such a sample gives the verdicts of millions, which the benchmark (`make bench-drift`)
checks against an unsampled run.

Live rows that are training rows take their out-of-fold output (see `training_rows`), as the reference has.
"""

from __future__ import annotations

import bisect
import mmap
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ..artifacts.files import require_regular_file
from ..artifacts.log_line import LINE_PREFIX, STAMP_LENGTH, LogLine, stamp
from ..artifacts.metadata import ModelMetadata
from ..artifacts.model_store import model_folder
from ..artifacts.paths import PREDICTION_LOG_SUFFIX
from ..artifacts.training_outputs import TrainingOutputs
from ..core.config import Config
from ..core.errors import UserError
from ..data.dates import to_datetime
from ..data.tables import load_table, mark_missing, read_table, table_kind
from .columns import PREDICTION, Column, comparable
from .parquet_sample import sample_parquet, sample_positions
from .training_rows import with_out_of_fold_outputs

# Every line of the prediction log begins with its timestamp, in a fixed format (artifacts/log_line.py).
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass
class Current:
    """The live rows compared (monitored columns only) and where they came from."""

    frame: pd.DataFrame
    rows: int  # rows available in the window, before sampling
    source: str
    window_start: str | None = None
    window_end: str | None = None
    model_versions: dict[str, int] = field(default_factory=dict)  # of the sampled log entries
    skipped_lines: int = 0  # sampled log lines that are not entries (cut off, written by hand)
    # Compared rows that are training rows, compared by their out-of-fold output (see `training_rows`);
    # None when models/ has no training outputs (a model trained by an older release).
    seen_in_training: int | None = None

    @property
    def used(self) -> int:
        return len(self.frame)


def read_reference(config: Config, metadata: ModelMetadata, columns: list[Column]) -> pd.DataFrame:
    path = model_folder(config.models_dir, metadata.model_version).root / metadata.reference.file
    require_regular_file(path, "training reference")
    unreadable = "{path} is not a readable Parquet file ({reason}); run `train` again"
    [reference] = read_table(path, unreadable=unreadable)
    missing = [column.name for column in columns if column.name not in reference.columns]
    if missing:
        raise UserError(f"{path} lacks column(s) {', '.join(map(repr, missing))}; run `train` again")
    return comparable(reference, columns)


def window_start(since: str | None, last: str | None, now: datetime | None = None) -> datetime | None:
    """`--since 2025-05-01` (ISO 8601 date or time; UTC unless it says otherwise) or `--last 7d`."""
    if since and last:
        raise UserError("give --since or --last, not both")
    if last:
        match = _DURATION.match(last)
        if not match or int(match.group(1)) == 0:
            raise UserError(
                f"--last is {last!r}; expected a number and a unit, e.g. 36h, 7d or 2w (s, m, h, d, w)"
            )
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if since:
        try:
            moment = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UserError(
                f"--since is {since!r}; expected an ISO 8601 date or time, e.g. 2025-05-01"
            ) from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return None


def _stamp_key(moment: datetime) -> bytes:
    return stamp(moment).encode()


@dataclass
class _LogFile:
    """The complete lines of one log file that fall in the window: where they start and end."""

    path: Path
    starts: np.ndarray
    ends: np.ndarray
    first: bytes | None  # timestamps of the first and last of those lines
    last: bytes | None


def _index_log_file(path: Path, since_key: bytes | None) -> _LogFile:
    """Index one file without decoding it: newline positions by NumPy over a memory map (the file is not
    copied into memory). A last line without its newline is still being written and is left out. Each file
    is written by one process in time order, so the window's first line is found by binary search."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            return _LogFile(path, np.empty(0, np.int64), np.empty(0, np.int64), None, None)
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            buffer = np.frombuffer(view, dtype=np.uint8)
            ends = np.flatnonzero(buffer == ord("\n"))
            starts = np.concatenate(([0], ends[:-1] + 1)) if ends.size else ends
            entries = (ends - starts > len(LINE_PREFIX) + STAMP_LENGTH) & (buffer[starts] == LINE_PREFIX[0])
            del buffer  # (the map cannot close while an array looks into it)
            starts, ends = starts[entries], ends[entries]

            def stamp(line: int) -> bytes:
                at = int(starts[line]) + len(LINE_PREFIX)
                return view[at : at + STAMP_LENGTH]

            begin = 0 if since_key is None else bisect.bisect_left(range(starts.size), since_key, key=stamp)
            starts, ends = starts[begin:], ends[begin:]
            first, last = (stamp(0), stamp(starts.size - 1)) if starts.size else (None, None)
    return _LogFile(path, starts, ends, first, last)


def read_log(
    directory: Path,
    columns: list[Column],
    metadata: ModelMetadata,
    since: datetime | None,
    sample_rows: int,
    seed: int,
    known: TrainingOutputs | None = None,
) -> Current:
    """A seeded uniform sample of at most `sample_rows` log entries in the window (all when 0); entries
    that are training rows (`known`) take their out-of-fold output."""
    files = sorted(directory.glob(f"*{PREDICTION_LOG_SUFFIX}")) if directory.is_dir() else []
    if since is not None:  # a file last written before the window holds no entry of it
        files = [path for path in files if path.stat().st_mtime >= since.timestamp()]
    since_key = _stamp_key(since) if since is not None else None
    indexed = [_index_log_file(path, since_key) for path in files]
    indexed = [log_file for log_file in indexed if log_file.starts.size]
    counts = np.array([log_file.starts.size for log_file in indexed], dtype=np.int64)
    total = int(counts.sum())
    chosen = sample_positions(total, sample_rows, seed)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    entries: list[LogLine] = []
    skipped = 0
    for number, log_file in enumerate(indexed):
        mine = chosen[(chosen >= offsets[number]) & (chosen < offsets[number + 1])] - offsets[number]
        if not mine.size:
            continue
        with (
            log_file.path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view,
        ):
            for line in mine.tolist():
                entry = LogLine.decode(view[log_file.starts[line] : log_file.ends[line]])
                if entry is not None:
                    entries.append(entry)
                else:
                    skipped += 1
    frame, seen = with_out_of_fold_outputs(_log_frame(entries, columns, metadata), columns, known)
    frame = comparable(frame, columns)
    versions = pd.Series([entry.model_version for entry in entries], dtype=object).value_counts()
    firsts = [log_file.first for log_file in indexed]
    lasts = [log_file.last for log_file in indexed]
    start = since.isoformat().replace("+00:00", "Z") if since else _text(min(firsts, default=None))
    return Current(
        frame=frame,
        rows=total - skipped,
        source=str(directory),
        window_start=start,
        window_end=_text(max(lasts, default=None)),
        model_versions={str(key): int(value) for key, value in versions.items()},
        skipped_lines=skipped,
        seen_in_training=None if known is None else seen,
    )


def _text(stamp: bytes | None) -> str | None:
    return stamp.decode() if stamp is not None else None


def _log_frame(entries: list[LogLine], columns: list[Column], metadata: ModelMetadata) -> pd.DataFrame:
    """Log entries as a table of the monitored features and the model's outputs, under the reference's
    names (as logged: `comparable` gives them their compared form)."""
    names = [column.name for column in columns if column.kind != PREDICTION]
    frame = pd.DataFrame.from_records([entry.inputs for entry in entries], columns=names)
    for name, field_name in metadata.reference.output_columns.items():
        frame[name] = pd.Series([entry.output(field_name) for entry in entries], dtype=object)
    return frame


def read_file(
    path: Path,
    columns: list[Column],
    config: Config,
    since: datetime | None,
    sample_rows: int,
    seed: int,
    known: TrainingOutputs | None = None,
) -> Current:
    """Live rows from a CSV or Parquet file or a folder of Parquet files (partitioned or not): the feature
    columns, and the model's output if present (else it is scored now, on the sampled rows only); rows that
    are training rows (`known`) take their out-of-fold output. A time window needs the configured time
    column."""
    frame, rows, start, end = _live_rows(path, config, since, sample_rows, seed)
    features = [column.name for column in columns if column.kind != PREDICTION]
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise UserError(f"{path} lacks the feature column(s) {', '.join(map(repr, missing))}")
    output = next(column for column in columns if column.kind == PREDICTION)
    if output.name not in frame.columns:
        frame = frame.assign(**{output.name: _predict(config, frame)})
    frame, seen = with_out_of_fold_outputs(frame, columns, known)
    current = Current(comparable(frame, columns), rows, str(path), start, end)
    current.seen_in_training = None if known is None else seen
    return current


def _live_rows(
    path: Path, config: Config, since: datetime | None, sample_rows: int, seed: int
) -> tuple[pd.DataFrame, int, str | None, str | None]:
    """The sampled rows of a file or folder, the rows available in the window, and the window's bounds.
    Parquet (a file, or a folder of files) is sampled without being loaded (`parquet_sample`); a CSV file
    is read whole, then sampled."""
    time = (config.data.time_column or "", config.data.date_formats.get(config.data.time_column or ""))
    if path.is_dir() or (path.is_file() and table_kind(path) == "parquet"):
        found = sample_parquet(path, sample_rows, seed, since, time)
        frame = found.frame
        frame.columns = [str(column).strip() for column in frame.columns]
        return mark_missing(frame, config.data.missing_values), found.rows, found.start, found.end
    table_kind(path)
    if not path.is_file():
        raise UserError(f"--current file {path} does not exist")
    frame = load_table(path, config.data.missing_values)
    start = end = None
    if since is not None:
        time_column = config.data.time_column
        if not time_column or time_column not in frame.columns:
            raise UserError(
                f"--since/--last on a file needs its time column (data.time_column), which {path.name} lacks"
            )
        times = to_datetime(frame[time_column], config.data.date_formats.get(time_column))
        frame = frame.loc[times >= since.replace(tzinfo=None)]
        if len(frame):
            start, end = since.isoformat(), times.loc[frame.index].max().isoformat()
    rows = len(frame)
    if sample_rows and rows > sample_rows:
        frame = frame.sample(sample_rows, random_state=seed).sort_index()
    return frame, rows, start, end


def _predict(config: Config, frame: pd.DataFrame) -> np.ndarray:
    """The current model's output on rows that came without it, in the form the reference keeps."""
    from ..core.progress import step
    from ..serving.scoring import Scorer
    from ..serving.trained_model import load_trained

    with step(f"scoring {len(frame):,} rows with the current model (the file has no predictions)"):
        trained = load_trained(config)
        predictions = Scorer(trained, fast=False).predict_frame(frame)
    if trained.problem_type == "binary":
        positive = trained.metadata.positive_class
        index = [str(label) for label in trained.classes].index(str(positive))
        return predictions.probabilities[:, index]
    return np.asarray(predictions.labels, dtype=object if trained.is_classification else float)
