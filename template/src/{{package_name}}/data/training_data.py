"""The table as training takes it: the configured columns present, rows without a target dropped (and
counted), rows ordered by the time column when one is set, at most model.max_train_rows of them (a seeded
sample beyond), and a target a model of the problem type can learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.config import Config
from ..core.errors import UserError
from ..core.wording import plain
from .dates import parse_time


def check_configured_columns(frame: pd.DataFrame, config: Config, source: Path | None = None) -> None:
    """The target, ID, time, sensitive and date-format columns named in the config must exist in the data
    (`source`, the file read; the configured one by default).

    It also keeps data.date_formats in `frame.attrs["date_formats"]`, where every date parse of the
    frame's columns finds them."""
    columns = set(frame.columns)
    data = config.data
    file_name = (source or config.data_path).name
    if data.target not in columns:
        raise UserError(
            f"target column {data.target!r} is not in {file_name} "
            f"(columns: {_preview(frame.columns)}); set data.target in configs/project.yaml"
        )
    checks = [
        ("id column(s)", data.id_columns, "fix data.id_columns in configs/project.yaml"),
        ("time column", [data.time_column] if data.time_column else [], "fix data.time_column in "
         "configs/project.yaml (or set it to null)"),
        ("sensitive column(s)", data.sensitive_columns, "fix data.sensitive_columns in configs/project.yaml"),
        ("date format column(s)", list(data.date_formats), "fix data.date_formats in configs/project.yaml"),
    ]  # fmt: skip
    for what, names, fix in checks:
        missing = [name for name in names if name not in columns]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise UserError(f"{what} {', '.join(map(repr, missing))} {verb} not in {file_name}; {fix}")
    frame.attrs["date_formats"] = dict(data.date_formats)


@dataclass
class TrainingData:
    """The rows that can be trained on, and what was dropped on the way."""

    frame: pd.DataFrame
    target: pd.Series
    rows_read: int
    rows_missing_target: int
    rows_missing_time: int = 0
    # Usable rows (target, and time when set, present) before the sample of model.max_train_rows; None
    # when every usable row is trained on.
    rows_sampled_from: int | None = None

    @property
    def rows_used(self) -> int:
        return len(self.frame)


def prepare_training_data(frame: pd.DataFrame, config: Config, source: Path | None = None) -> TrainingData:
    """Check the target and the time order; drop rows without a target (and say how many). `source` is
    the file read (errors name it); the configured data.path by default."""
    check_configured_columns(frame, config, source)
    rows_read = len(frame)
    target_name = config.data.target
    missing_target = frame[target_name].isna()
    frame = frame.loc[~missing_target]
    rows_missing_time = 0
    if config.data.time_column:
        name = config.data.time_column
        time = parse_time(frame[name], name, config.data.date_formats.get(name))
        missing_time = time.isna()
        rows_missing_time = int(missing_time.sum())
        frame = frame.assign(**{config.data.time_column: time}).loc[~missing_time]
        frame = frame.sort_values(config.data.time_column, kind="stable")
    if frame.empty:
        raise UserError(f"no rows with a value in target column {target_name!r}")
    usable = len(frame)
    frame = sample_rows(frame, config).reset_index(drop=True)
    target = frame[target_name]
    if config.problem_type == "regression":
        target = _numeric_target(target, target_name)
    else:
        classes = target.astype(str).nunique()
        if classes < 2:
            raise UserError(
                f"target column {target_name!r} has a single class ({plain(target.iloc[0])!r}); "
                "a classifier needs at least two"
            )
        if config.problem_type == "binary" and classes > 2:
            raise UserError(
                f"target column {target_name!r} has {classes} classes but problem_type is binary; "
                "set problem_type: multiclass in configs/project.yaml"
            )
    return TrainingData(
        frame=frame,
        target=target,
        rows_read=rows_read,
        rows_missing_target=int(missing_target.sum()),
        rows_missing_time=rows_missing_time,
        rows_sampled_from=usable if len(frame) < usable else None,
    )


def sample_rows(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
    """At most model.max_train_rows rows: a seeded sample (model.random_state) beyond it, stratified by
    the target's classes for classification, in the rows' own order (time order when a time column is
    set). More rows than a million barely move the scores of these models, but the time and memory grow
    with every row."""
    cap = config.model.max_train_rows
    if cap is None or len(frame) <= cap:
        return frame
    seed = config.model.random_state
    target = frame[config.data.target]
    labels = target.astype(str) if config.is_classification else None
    if labels is not None and labels.value_counts().min() < 2:
        labels = None  # a class of one row cannot be split by class: a plain sample keeps it or not
    from sklearn.model_selection import train_test_split

    chosen, _ = train_test_split(np.arange(len(frame)), train_size=cap, random_state=seed, stratify=labels)
    return frame.iloc[np.sort(chosen)]


def _numeric_target(target: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
        converted = pd.to_numeric(target, errors="coerce")
        bad = target[converted.isna()]
        if len(bad):
            raise UserError(
                f"target column {name!r} must be numeric for regression, but holds text such as "
                f"{plain(bad.iloc[0])!r}; "
                "use problem_type binary or multiclass for labels"
            )
        target = converted
    return target.astype("float64")


def _preview(columns: pd.Index, limit: int = 8) -> str:
    names = [str(column) for column in columns[:limit]]
    return ", ".join(names) + (", …" if len(columns) > limit else "")
