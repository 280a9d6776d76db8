"""Batch scoring of files (`predict --input FILE --output FILE`): chunk by chunk, so memory stays flat
whatever the size of the file, through the same Pipeline as the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .config import Config
from .data import CSV_MISSING, READERS, mark_missing
from .errors import UserError
from .scoring import Scorer, load_trained

PREDICTION_COLUMN = "prediction"
PROBABILITY_PREFIX = "probability_"


def score_file(config: Config, source: Path, target: Path, chunk_rows: int = 50_000) -> dict[str, Any]:
    """Score a CSV or Parquet file chunk by chunk (memory stays flat) into a CSV or Parquet file: the ID
    columns that are present, the prediction and, for classifiers, one probability column per class.
    The output appears only when complete."""
    for path in (source, target):
        if path.suffix.lower() not in READERS:
            raise UserError(
                f"{path}: unknown file type {path.suffix or '(none)'!r}; use .csv, .parquet or .pq"
            )
    if not source.is_file():
        raise UserError(f"input file {source} does not exist")
    if any(READERS[path.suffix.lower()] == "parquet" for path in (source, target)):
        _require_pyarrow()
    started = time.perf_counter()
    trained = load_trained(config)
    scorer = Scorer(trained, fast=False)
    needed = [feature["name"] for feature in trained.input_features]
    # Missing values as in training: configured markers everywhere, common ones in numeric columns.
    numeric = [feature["name"] for feature in trained.input_features if feature["kind"] == "numeric"]
    rows = 0
    with _ChunkWriter(target) as writer:
        for chunk in _read_chunks(source, chunk_rows):
            chunk = mark_missing(chunk, config.data.missing_values, numeric=numeric)
            missing = [name for name in needed if name not in chunk.columns]
            if missing:
                raise UserError(f"{source} lacks the feature column(s) {', '.join(map(repr, missing))}")
            writer.write(_scored(chunk, scorer, config))
            rows += len(chunk)
        if rows == 0:
            raise UserError(f"{source} has no rows to score")
    return {"rows": rows, "output": str(target), "seconds": round(time.perf_counter() - started, 2)}


def _scored(chunk: pd.DataFrame, scorer: Scorer, config: Config) -> pd.DataFrame:
    predictions = scorer.predict_frame(chunk)
    ids = [name for name in config.data.id_columns if name in chunk.columns]
    out = chunk[ids].reset_index(drop=True).copy()
    out[PREDICTION_COLUMN] = predictions.labels
    if predictions.probabilities is not None:
        for index, label in enumerate(scorer.trained.classes):
            out[f"{PROBABILITY_PREFIX}{label}"] = predictions.probabilities[:, index]
    return out


def _require_pyarrow() -> None:
    """Streaming Parquet needs pyarrow, which the serving set leaves out (the Docker image): say so."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UserError(
            "Parquet files need pyarrow, which this environment lacks (it is in the `training` dependency "
            "group: `uv sync --group training`); CSV input and output work without it"
        ) from None


def _read_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    try:
        if READERS[path.suffix.lower()] == "csv":
            yield from pd.read_csv(path, chunksize=chunk_rows, **CSV_MISSING)
        else:
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise UserError(f"{path} could not be read: {str(exc).strip().splitlines()[0]}") from None


class _ChunkWriter:
    """Appends scored chunks to a temporary file beside the target; renames it into place on success."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.parquet = READERS[target.suffix.lower()] == "parquet"
        self.temp = target.with_name(f".{target.name}.partial")
        self.writer: Any = None
        self.columns: list[str] | None = None

    def __enter__(self) -> _ChunkWriter:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            # IDs as text: a chunk whose IDs are all missing must not change the file's column types.
            ids = [
                c for c in frame.columns if c != PREDICTION_COLUMN and not c.startswith(PROBABILITY_PREFIX)
            ]
            table = pa.Table.from_pandas(frame.astype(dict.fromkeys(ids, "string")), preserve_index=False)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.temp, table.schema)
            self.writer.write_table(table.cast(self.writer.schema))
        else:
            frame.to_csv(self.temp, mode="a" if self.columns else "w", header=not self.columns, index=False)
            self.columns = list(frame.columns)

    def __exit__(self, kind, error, traceback) -> None:
        if self.writer is not None:
            self.writer.close()
        if error is None and self.temp.exists():
            self.temp.replace(self.target)
        else:
            self.temp.unlink(missing_ok=True)
