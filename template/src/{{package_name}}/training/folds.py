"""The cross-validation folds: which rows train and which validate, fold by fold.

Stratified K-fold for classification, K-fold for regression, group K-fold when rows share an ID (all rows
of one ID stay on one side, so the model is not scored on entities it has already seen), and time-ordered
backtesting (each fold trains on the past and is scored on the periods that follow) when a time column is
configured. Data too small for the folds is a clear error that says which setting to lower.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.config import Config
from ..core.errors import UserError
from ..core.wording import count, plain


def make_splits(
    config: Config, frame: pd.DataFrame, target: pd.Series
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]], tuple[str, ...]]:
    """The method in words, the folds (train rows, validation rows), and the ID columns the folds keep
    together (empty unless rows share an ID); a clear error when the data is too small for them."""
    if config.data.time_column:
        method, splits = _time_splits(config, frame[config.data.time_column], target)
        return method, splits, ()
    groups = id_groups(frame, config.data.id_columns)
    if groups is not None:
        method, splits = _group_splits(config, groups, target)
        return method, splits, tuple(config.data.id_columns)
    return (*_row_splits(config, target), ())


def id_groups(frame: pd.DataFrame, id_columns: tuple[str, ...]) -> np.ndarray | None:
    """A group number per row when rows share a value of the ID columns (panel data, repeat customers),
    else None. A row without an ID is a group of its own."""
    columns = [name for name in id_columns if name in frame.columns]
    if not columns:
        return None
    ids = frame[columns]
    codes = ids.groupby(columns, dropna=False, sort=False).ngroup().to_numpy().copy()
    missing = ids.isna().any(axis=1).to_numpy()
    codes[missing] = codes.max() + 1 + np.arange(missing.sum())
    return codes if len(np.unique(codes)) < len(codes) else None


def _row_splits(config: Config, target: pd.Series) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    k, n = config.model.cv_folds, len(target)
    if config.is_classification:
        counts = target.value_counts()
        if counts.min() < k:
            raise UserError(
                f"class {plain(counts.index[-1])!r} of the target has {count(int(counts.min()), 'row')}, "
                f"fewer than model.cv_folds={k} stratified folds need; lower model.cv_folds "
                f"(e.g. {max(2, int(counts.min()))}) or add data"
            )
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
        return f"stratified {k}-fold cross-validation", list(splitter.split(np.zeros(n), target))
    if n < 2 * k:
        raise UserError(
            f"{n} rows are fewer than {k}-fold cross-validation needs ({2 * k}); lower model.cv_folds"
        )
    splitter = KFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
    return f"{k}-fold cross-validation", list(splitter.split(np.zeros(n)))


def _group_splits(
    config: Config, groups: np.ndarray, target: pd.Series
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Folds that keep all rows of one ID together: scored on rows of IDs it never saw, as in use."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    k, columns = config.model.cv_folds, ", ".join(config.data.id_columns)
    distinct = len(np.unique(groups))
    if distinct < k:
        raise UserError(
            f"rows share IDs in data.id_columns ({columns}), so folds keep each ID together, but there are "
            f"only {distinct} distinct IDs for model.cv_folds={k}; lower model.cv_folds "
            f"(e.g. {max(2, distinct)})"
        )
    what = f"{distinct:,} distinct IDs of {columns} for {len(groups):,} rows; each ID's rows in one fold"
    if config.is_classification:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=config.model.random_state)
        splits = list(splitter.split(np.zeros(len(groups)), target, groups))
        return f"stratified group {k}-fold cross-validation ({what})", splits
    splits = list(GroupKFold(n_splits=k).split(np.zeros(len(groups)), target, groups))
    return f"group {k}-fold cross-validation ({what})", splits


def _time_splits(
    config: Config, times: pd.Series, target: pd.Series
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Backtest folds cut only between distinct time values: rows of one period (a year, a day) are never
    split between training and validation, which would let the model see the period it is scored on."""
    from sklearn.model_selection import TimeSeriesSplit

    k, name, n = config.model.cv_folds, config.data.time_column, len(target)
    if n < 2 * (k + 1):
        raise UserError(
            f"{n} rows are fewer than a {k}-fold backtest needs ({2 * (k + 1)}); lower model.cv_folds"
        )
    periods, period_of_row = np.unique(times.to_numpy(), return_inverse=True)
    if len(periods) < k + 1:
        raise UserError(
            f"time column {name!r} has {count(len(periods), 'distinct value')}, fewer than a {k}-fold "
            f"backtest needs ({k + 1}); lower model.cv_folds (e.g. {max(2, len(periods) - 1)})"
        )
    splits = []
    for train_periods, test_periods in TimeSeriesSplit(n_splits=k).split(periods):
        train = np.flatnonzero(period_of_row <= train_periods[-1])
        test = np.flatnonzero((period_of_row >= test_periods[0]) & (period_of_row <= test_periods[-1]))
        splits.append((train, test))
    if config.is_classification and target.iloc[splits[0][0]].nunique() < 2:
        raise UserError(
            "the earliest backtest fold holds a single class; lower model.cv_folds or add older data"
        )
    method = (
        f"time-ordered backtest, {k} folds on {name} ({count(len(periods), 'distinct value')}, each "
        "wholly in training or in validation)"
    )
    return method, splits
