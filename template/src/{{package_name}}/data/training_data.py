"""The table as training takes it: the configured columns present, rows without a target dropped (and
counted), rows ordered by the time column when one is set, at most model.max_train_rows of them (a seeded
sample beyond), and a target a model of the problem type can learn.

A table of more rows than model.max_train_rows is never loaded whole (`load_training_data`): a first pass
reads only the target and the time column, the rows are chosen from them, and a second pass keeps only
those rows. The rows are chosen by one function (`choose_rows`) either way, so a file trained on gives the
same rows, and the same model, whether it fits in memory or not.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.config import Config
from ..core.errors import UserError
from ..core.wording import plain
from .dates import parse_time
from .scan import coded_columns, column_names, kept_rows, row_bound
from .tables import load_table, table_kind

CHUNK_ROWS = 50_000  # rows read at a time when the table is streamed


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


def load_training_data(
    source: Path, config: Config, chunk_rows: int = CHUNK_ROWS
) -> tuple[pd.DataFrame, TrainingData]:
    """The table as read (the data contract is inferred from it when there is none) and the rows to train
    on. Up to model.max_train_rows rows the table is loaded whole; beyond, only the sample is ever held."""
    cap = config.model.max_train_rows
    if cap is None or not _more_rows_than(source, cap):
        frame = load_table(source, config.data.missing_values)
        return frame, prepare_training_data(frame, config, source)
    return _streamed(source, config, cap, chunk_rows)


def _more_rows_than(source: Path, cap: int) -> bool:
    """Whether the file may hold more rows than `cap` (its line breaks or Parquet metadata say so); False
    when it cannot be opened, for `load_table` to word why."""
    table_kind(source)
    try:
        return source.is_file() and row_bound(source, cap) > cap
    except OSError:
        return False


def _check_header(source: Path) -> list[str]:
    """The column names, refused as `load_table` refuses them."""
    names = column_names(source)
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise UserError(f"data file {source} has duplicate column names: {', '.join(duplicated)}")
    return names


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
    frame = sample_rows(frame, config)
    counts = TrainingData(frame, frame[target_name], rows_read, int(missing_target.sum()), rows_missing_time)
    return _checked(counts, usable, config)


def _checked(data: TrainingData, usable: int, config: Config) -> TrainingData:
    """The sample (in training order) with its target checked for the problem type."""
    frame = data.frame.reset_index(drop=True)
    target_name = config.data.target
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
    sampled_from = usable if len(frame) < usable else None
    return TrainingData(
        frame, target, data.rows_read, data.rows_missing_target, data.rows_missing_time, sampled_from
    )


def sample_rows(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
    """At most model.max_train_rows rows: a seeded sample (model.random_state) beyond it, stratified by
    the target's classes for classification, in the rows' own order (time order when a time column is
    set). More rows than a million barely move the scores of these models, but the time and memory grow
    with every row."""
    cap = config.model.max_train_rows
    if cap is None or len(frame) <= cap:
        return frame
    labels = None
    if config.is_classification:
        labels, _ = pd.factorize(frame[config.data.target].astype(str), sort=True)
    return frame.iloc[choose_rows(labels, len(frame), cap, config.model.random_state)]


def choose_rows(labels: np.ndarray | None, rows: int, cap: int, seed: int) -> np.ndarray:
    """The positions (sorted) of the `cap` of `rows` rows to train on: per class (`labels`: the class
    code of each row, codes in the order of the classes' text), a seeded draw of its share of `cap`; a
    plain seeded draw without labels, or when a class has one row (it cannot be split by class). Only the
    class of each row and the seed decide, so a table read whole and one streamed give the same rows."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels) if labels is not None else np.empty(0, np.int64)
    if labels is None or counts[counts > 0].min() < 2:
        return np.sort(rng.choice(rows, size=cap, replace=False))
    quotas = _quotas(counts, cap)
    by_class = np.argsort(labels, kind="stable")  # each class's rows, in order
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    picks = [
        by_class[start + rng.choice(count, size=quota, replace=False)]
        for start, count, quota in zip(starts, counts, quotas, strict=True)
        if quota
    ]
    return np.sort(np.concatenate(picks))


def _quotas(counts: np.ndarray, cap: int) -> np.ndarray:
    """Each class's share of `cap` rows, rounded down, the rows left over going to the largest remainders
    (the first class on a tie): the classes keep their proportions to within a row."""
    exact = counts * cap / counts.sum()
    quotas = np.floor(exact).astype(np.int64)
    left = cap - int(quotas.sum())
    quotas[np.argsort(-(exact - quotas), kind="stable")[:left]] += 1
    return quotas


def _streamed(source: Path, config: Config, cap: int, chunk_rows: int) -> tuple[pd.DataFrame, TrainingData]:
    """Two passes over a table too large to load: the first reads the target (and the time column) of
    every row and chooses the rows as `prepare_training_data` would on the whole table; the second keeps
    them. The kept rows, as read, are returned for the data contract."""
    names = _check_header(source)
    check_configured_columns(pd.DataFrame(columns=names), config, source)
    data, missing = config.data, tuple(config.data.missing_values)
    wanted = [names.index(data.target)] + ([names.index(data.time_column)] if data.time_column else [])
    coded = coded_columns(source, wanted, missing, chunk_rows, "reading the target and time of every row")
    target = coded[0]
    present = target.values.notna().to_numpy()
    has_target = np.append(present, False)[target.codes]
    rows_read, usable = len(target.codes), np.flatnonzero(has_target)
    if not len(usable):
        raise UserError(f"no rows with a value in target column {data.target!r}")
    time, rows_missing_time = None, 0
    if data.time_column:
        column = coded[1].column().iloc[usable].reset_index(drop=True)
        time = parse_time(column, data.time_column, data.date_formats.get(data.time_column))
        rows_missing_time = int(time.isna().sum())
        order = np.argsort(time.to_numpy(), kind="stable")[: len(time) - rows_missing_time]  # NaT last
        usable, time = usable[order], time.iloc[order].reset_index(drop=True)
        if not len(usable):
            raise UserError(f"no rows with a value in target column {data.target!r}")
    chosen = np.arange(len(usable))
    if len(usable) > cap:
        labels = None
        if config.is_classification:
            texts = target.values.astype(str).where(target.values.notna())
            classes, _ = pd.factorize(texts, sort=True)
            # Codes of the classes the usable rows hold, in the order of their text.
            _, labels = np.unique(np.append(classes, -1)[target.codes[usable]], return_inverse=True)
        chosen = choose_rows(labels, len(usable), cap, config.model.random_state)
    positions = usable[chosen]
    with tempfile.TemporaryDirectory(prefix="train-sample-") as folder:
        frame = kept_rows(source, np.sort(positions), missing, chunk_rows, Path(folder))
    check_configured_columns(frame, config, source)
    sample = frame.iloc[np.argsort(np.argsort(positions))] if time is not None else frame
    if time is not None:
        sample = sample.assign(**{data.time_column: time.iloc[chosen].to_numpy()})
    counts = TrainingData(
        sample, sample[data.target], rows_read, rows_read - int(has_target.sum()), rows_missing_time
    )
    return frame, _checked(counts, len(usable), config)


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
