"""One chunk of a file to score, from the rows as read to what is written: missing values marked as in
training, every row checked against the data contract (`row_checks`), the good rows scored and encoded for
the output file (CSV text or an Arrow table). The same `ChunkScorer` runs in the command's own process and
in each worker process of `batch_workers`, so the output does not depend on the number of workers.

`ChunkWriter` appends the encoded chunks, in the input's order, to a hidden `.partial` file beside the
target, renamed into place only when the whole file is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.config import Config
from ..core.errors import UserError
from ..data.tables import mark_missing
from .row_checks import check_rows
from .scoring import Scorer
from .trained_model import TrainedModel

PREDICTION_COLUMN = "prediction"
PROBABILITY_PREFIX = "probability_"


@dataclass
class ChunkJob:
    """Rows as read (the feature and ID columns only), and the number of the first in the file."""

    raw: pd.DataFrame
    first_row: int
    score: bool = True  # False: count the bad rows only (nothing will be written: on_error "fail")


@dataclass
class ChunkResult:
    """A chunk done: its rows, its bad values (row, column, value, reason) and the encoded scored rows."""

    rows: int
    problems: pd.DataFrame
    scored: int = 0
    payload: Any = None  # CSV: (header line, body text); Parquet: a pyarrow Table; None: nothing to write


class ChunkScorer:
    """Checks and scores chunks with one loaded model; `parquet` says how the output is encoded."""

    def __init__(self, config: Config, trained: TrainedModel, parquet: bool) -> None:
        self.config, self.parquet = config, parquet
        self.scorer = Scorer(trained, fast=False)
        self.features = trained.input_features
        self.numeric = [feature["name"] for feature in self.features if feature["kind"] == "numeric"]

    def __call__(self, job: ChunkJob) -> ChunkResult:
        # Missing values as in training: configured markers everywhere, common ones in numeric columns.
        chunk = mark_missing(job.raw.copy(deep=False), self.config.data.missing_values, numeric=self.numeric)
        checked = check_rows(chunk, job.raw, self.features, first_row=job.first_row)
        good = checked.frame if checked.valid.all() else checked.frame[checked.valid]
        if not job.score or not len(good):
            return ChunkResult(len(chunk), checked.problems)
        out = scored(good, self.scorer, self.config)
        return ChunkResult(len(chunk), checked.problems, len(good), self.encode(out))

    def encode(self, frame: pd.DataFrame) -> Any:
        """What the writer appends: encoded here, where the work is spread over the workers."""
        if not self.parquet:
            return frame.head(0).to_csv(index=False), frame.to_csv(index=False, header=False)
        import pyarrow as pa

        # IDs as text: a chunk whose IDs are all missing must not change the file's column types.
        ids = [c for c in frame.columns if c != PREDICTION_COLUMN and not c.startswith(PROBABILITY_PREFIX)]
        return pa.Table.from_pandas(frame.astype(dict.fromkeys(ids, "string")), preserve_index=False)


def scored(chunk: pd.DataFrame, scorer: Scorer, config: Config) -> pd.DataFrame:
    """The output rows of checked rows: the ID columns present, the prediction and, for classifiers, one
    probability column per class."""
    predictions = scorer.predict_frame(chunk)
    ids = [name for name in config.data.id_columns if name in chunk.columns]
    out = chunk[ids].reset_index(drop=True).copy()
    out[PREDICTION_COLUMN] = predictions.labels
    if predictions.probabilities is not None:
        for index, label in enumerate(scorer.trained.classes):
            out[f"{PROBABILITY_PREFIX}{label}"] = predictions.probabilities[:, index]
    return out


class ChunkWriter:
    """Appends chunks to a hidden temporary file beside the target; renames it into place on success.
    Any failure to write is a UserError naming the path."""

    def __init__(self, target: Path, parquet: bool) -> None:
        self.target, self.parquet = target, parquet
        self.temp = target.with_name(f".{target.name}.partial")
        self.writer: Any = None  # a ParquetWriter, or the open CSV file
        self.header: str | None = None

    def __enter__(self) -> ChunkWriter:
        with self._writing():  # fail now, before any scoring, when the place cannot be written
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.temp.touch()
        return self

    def write_frame(self, frame: pd.DataFrame) -> None:
        """A frame as it is (the rejects file): the columns of the first one written are the header."""
        self.write((frame.head(0).to_csv(index=False), frame.to_csv(index=False, header=False)))

    def write(self, payload: Any) -> None:
        with self._writing():
            self._write(payload)

    def _write(self, payload: Any) -> None:
        if self.parquet:
            import pyarrow.parquet as pq

            if self.writer is None:
                self.writer = pq.ParquetWriter(self.temp, payload.schema)
            self.writer.write_table(payload.cast(self.writer.schema))
            return
        header, body = payload
        if self.writer is None:
            self.writer = self.temp.open("w", encoding="utf-8", newline="")
            self.writer.write(header)
            self.header = header
        self.writer.write(body)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            where = exc.filename or self.target
            if isinstance(exc, FileExistsError | NotADirectoryError):
                reason = f"{where} is a file, not a folder"  # a file on the way to the target
            else:
                reason = f"{exc.strerror or exc} ({where})"
            raise UserError(
                f"cannot write {self.target}: {reason}; choose a path in a folder you can write to"
            ) from None

    def __exit__(self, kind, error, traceback) -> None:
        if self.writer is not None:
            self.writer.close()
        if error is None and self.writer is not None:
            with self._writing():
                self.temp.replace(self.target)
        else:
            self.temp.unlink(missing_ok=True)
