"""What the Spark executors run for `predict --engine spark`: the batches `mapInPandas` hands a Python worker,
checked and scored by the code local `predict` uses (`row_checks.check_rows`, `data.tables.mark_missing`,
`scoring.Scorer` through `batch`), so that a row means, passes and scores the same on both engines.

The model reaches the executors once, as the bytes of its version folder's files (`ModelFiles`, broadcast
by the driver), and each Python worker loads it once: Spark reuses its workers across tasks, and the loaded
scorer is kept per model version and file hash in this module.

A CSV file is read by Spark with every column as text; each batch is then parsed by pandas' CSV reader with
the options of local `predict` (`data.tables.CSV_MISSING`), so "12", "" and "NA" mean what they mean there.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..artifacts.paths import ModelFolder
from ..core.config import Config
from ..data.tables import CSV_MISSING, mark_missing
from .batch_chunks import batch_coverage, scored
from .row_checks import REJECTS_COLUMNS, check_rows
from .scoring import Scorer
from .trained_model import TrainedModel, load_trained

# In the text of the error that stops a Spark job when a row breaks the contract (on_error "fail"): the
# driver recognises its own stop by it, and then counts the bad rows.
CONTRACT_STOP = "row breaks the model's data contract"

_SCORERS: dict[tuple[str, str], Scorer] = {}  # per Python worker: (model version, sha256) -> loaded scorer


@dataclass(frozen=True)
class ModelFiles:
    """The files of one model version (model file, metadata.json, signature.json when signed), by name."""

    version: str
    sha256: str
    files: dict[str, bytes]

    @classmethod
    def of(cls, trained: TrainedModel) -> ModelFiles:
        """The files of the version the driver loaded (and checked): the version is fixed from here on."""
        assert trained.folder is not None  # load_trained always says where the model came from
        folder = trained.folder
        names = [trained.metadata.model_file, folder.metadata.name]
        if folder.signature.is_file():
            names.append(folder.signature.name)
        files = {name: (folder.root / name).read_bytes() for name in names}
        return cls(trained.version, str(trained.metadata.model_sha256), files)


@dataclass(frozen=True)
class Job:
    """Everything a batch needs, pickled once into the Spark plan (the model files travel by broadcast)."""

    config: Config
    model: Any  # a Spark Broadcast of ModelFiles, or anything with `.value` (Spark Connect)
    csv: bool  # the input was read as text: parse each batch as pandas reads a CSV file
    ids: list[str] = field(default_factory=list)  # ID columns present in the input
    output: list[str] = field(default_factory=list)  # scored columns, in the order of the Spark schema
    row_offsets: dict[int, int] = field(default_factory=dict)  # partition -> rows before it (problems pass)


def scorer_for(model: ModelFiles, config: Config) -> Scorer:
    """The scorer of `model`, loaded once per Python worker by the loader of local `predict` (sha256,
    signature and allowed types checked again here, where the bytes arrived)."""
    key = (model.version, model.sha256)
    if key not in _SCORERS:
        with tempfile.TemporaryDirectory(prefix="model-") as folder:
            for name, content in model.files.items():
                (Path(folder) / name).write_bytes(content)
            trained = load_trained(config, folder=ModelFolder(Path(folder)))
        _SCORERS[key] = Scorer(trained, fast=False)
    return _SCORERS[key]


def as_read_locally(batch: pd.DataFrame, csv: bool) -> pd.DataFrame:
    """A batch as local `predict` would have read it: text parsed by pandas' CSV reader when the input was
    a CSV file (Spark read it as text), typed columns (Parquet, tables) as they come."""
    if not csv:
        return batch
    return pd.read_csv(io.StringIO(batch.to_csv(index=False)), **CSV_MISSING)


def _checked(batch: pd.DataFrame, job: Job, scorer: Scorer, first_row: int):
    """The row checks of local `predict` on one batch: missing markers, then the contract."""
    features = scorer.trained.input_features
    numeric = [feature["name"] for feature in features if feature["kind"] == "numeric"]
    raw = as_read_locally(batch, job.csv)
    chunk = mark_missing(raw.copy(deep=False), job.config.data.missing_values, numeric=numeric)
    return raw, check_rows(chunk, raw, features, first_row=first_row)


def score_batches(batches: Iterator[pd.DataFrame], job: Job, fail: bool) -> Iterator[pd.DataFrame]:
    """`mapInPandas` of the scoring pass: the good rows of every batch scored (ID columns, prediction,
    probabilities). With `fail`, the first bad row stops the job (the driver then counts them all)."""
    scorer = scorer_for(job.model.value, job.config)
    coverage = batch_coverage(job.config, scorer)
    for batch in batches:
        if batch.empty:
            continue
        _, checked = _checked(batch, job, scorer, first_row=1)
        if fail and not checked.valid.all():
            raise ValueError(f"a {CONTRACT_STOP}; nothing is written")
        good = checked.frame if checked.valid.all() else checked.frame[checked.valid]
        if len(good):
            out = scored(good, scorer, job.config, coverage)
            yield out.astype(dict.fromkeys(job.ids, "string"))[job.output]


def problem_batches(batches: Iterator[pd.DataFrame], job: Job) -> Iterator[pd.DataFrame]:
    """`mapInPandas` of the problems pass: one line per bad value (ID columns, row, column, value, reason),
    rows numbered from 1 in Spark's reading order, which is the file's order for a single file."""
    from pyspark import TaskContext

    scorer = scorer_for(job.model.value, job.config)
    row = job.row_offsets.get(TaskContext.get().partitionId(), 0) + 1
    for batch in batches:
        if batch.empty:
            continue
        raw, checked = _checked(batch, job, scorer, first_row=row)
        problems = checked.problems
        if len(problems):
            ids = raw[job.ids].iloc[problems["row"].to_numpy() - row].reset_index(drop=True)
            yield pd.concat([ids.astype("string"), problems.astype({"row": "int64"})], axis=1)[
                job.ids + REJECTS_COLUMNS
            ]
        row += len(batch)
