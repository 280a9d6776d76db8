"""Live rows that are training rows: compared by what the model says of them when it has not seen them.

The reference holds out-of-fold outputs; the final model, asked about a row it was trained on, answers it
too well (a tree model is overconfident in-sample), so the training file sent as `--current`, or training
rows replayed through the API, would show a prediction drift that is not there. `train` keeps every
training row's out-of-fold output under a fingerprint of its feature values (models/training_outputs.parquet,
see artifacts/training_outputs.py); here a live row (a row of a `--current` file or an entry of the
prediction log) whose fingerprint is known takes that output instead of the final model's. Rows of a
time-ordered backtest's first block have no out-of-fold output and keep the final model's; a models/
folder without the file (trained by an older release) compares every row by the final model's output, as
before.
"""

from __future__ import annotations

import pandas as pd

from ..artifacts.metadata import ModelMetadata
from ..artifacts.model_store import model_folder
from ..artifacts.training_outputs import TrainingOutputs
from ..core.config import Config
from ..core.progress import say
from .columns import Column, features, kinds


def read_training_outputs(config: Config, metadata: ModelMetadata) -> TrainingOutputs | None:
    """The current model's training outputs, or None (no file, or the file of another model: a training
    run cut short between that file and metadata.json)."""
    path = model_folder(config.models_dir, metadata.model_version).training_outputs
    outputs = TrainingOutputs.read(path)
    if outputs is not None and outputs.model_version != str(metadata.model_version):
        say(f"  {path.name} belongs to model {outputs.model_version or '?'}, not the current one: not used")
        return None
    return outputs


def with_out_of_fold_outputs(
    frame: pd.DataFrame, columns: list[Column], outputs: TrainingOutputs | None
) -> tuple[pd.DataFrame, int]:
    """`frame` (live rows: the feature columns and the model's output columns) with the output of every
    training row replaced by its out-of-fold output, and the number of rows replaced."""
    if outputs is None or frame.empty:
        return frame, 0
    found = outputs.lookup(frame, kinds(features(columns)))
    if found.empty:
        return frame, 0
    rows = frame.index.get_indexer(found.index)
    replaced = {}
    for name in found.columns.intersection(frame.columns):
        # As objects: a predicted class keeps its own type (an integer class stays 1, not 1.0).
        values = frame[name].astype(object).to_numpy(copy=True)
        values[rows] = found[name].astype(object).to_numpy()
        replaced[name] = values
    return frame.assign(**replaced), len(found)


def seen_line(seen: int, used: int) -> str:
    """The progress line that says how many compared rows were training rows."""
    share = f" ({seen / used:.0%})" if used else ""
    return (
        f"  {seen:,} of the {used:,} compared rows are training rows{share}: compared by their out-of-fold "
        "output (what the model says of rows it has not seen), as the reference is"
    )
