"""The model: one scikit-learn Pipeline from raw records to predictions.

    coerce (contract types, dates in the contract's format) → ColumnTransformer (numeric: impute + scale;
    categorical: impute + one-hot, an unseen category encoded as the training mix of categories; dates:
    calendar features) → estimator

Because the whole preparation lives in the Pipeline, the saved model takes the same raw columns as the
data file and the API. Client-specific feature engineering goes in `features.py`, which this module calls.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..core.config import Config
from ..data.contract import Contract
from ..data.dates import to_datetime
from ..features import add_features

CALENDAR_PARTS = ("year", "month", "dayofweek")


class ContractCoercer(TransformerMixin, BaseEstimator):
    """Select the feature columns and give each the type the contract says, whatever the input's dtypes.
    Dates are read with the format the contract recorded for their column (`formats`: name → format), so
    that "02/01/2012" means the same day in training, in a file to score and in a request."""

    def __init__(self, numeric=(), categorical=(), datetime=(), formats=None):
        self.numeric = numeric
        self.categorical = categorical
        self.datetime = datetime
        self.formats = formats

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = add_features(X)
        wanted = [*self.numeric, *self.categorical, *self.datetime]
        missing = [name for name in wanted if name not in X.columns]
        if missing:
            raise ValueError(f"input lacks feature column(s): {', '.join(missing)}")
        out = {}
        for name in self.numeric:
            out[name] = pd.to_numeric(X[name], errors="coerce").astype("float64")
        for name in self.categorical:
            out[name] = as_categories(X[name])
        formats = getattr(self, "formats", None) or {}  # models saved before formats were recorded
        for name in self.datetime:
            out[name] = to_datetime(X[name], formats.get(name))
        return pd.DataFrame(out, index=X.index)[wanted]


def _as_category(value: Any) -> str:
    # 3.0 from a float column and "3" from a request must land in the same category.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Column contents (pandas' `infer_dtype`) whose equal values always share a category text: `factorize`
# may merge equal values (1 == 1.0 == True), which is safe here except when a bool meets a number.
_FACTORIZABLE = frozenset({"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"})


def as_categories(column: pd.Series) -> pd.Series:
    """The category text of each value (`_as_category`; missing stays NaN), computed once per distinct
    value rather than once per cell: on a million rows this is milliseconds instead of seconds. Columns
    mixing bools with numbers, or holding other objects, take the cell-by-cell path."""
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in _FACTORIZABLE:
        values = column.astype(object).where(column.notna(), np.nan)
        return values.map(_as_category, na_action="ignore").astype(object)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    # Python scalars, as the cell-by-cell path saw them (a float32 3.0 is "3", not "3.0").
    texts = [_as_category(value) for value in np.asarray(uniques, dtype=object).tolist()]
    # Plain objects: inferring pandas' string dtype would cost more than the rest (the encoder takes both).
    table = np.array([*texts, np.nan], dtype=object)
    return pd.Series(table[codes], index=column.index, name=column.name, dtype=object)


class OneHotUnseenAsMix(OneHotEncoder):
    """One-hot encoding in which a category never seen in training (a missing value too, where training
    had none) is encoded as the mix of the training categories: each column of the feature holds its
    category's share of the training rows, instead of all zeros.

    This is what "an unseen category is ignored" means: the model takes that feature as unknown. A linear
    model then predicts what it predicts for the feature's average (all zeros would be a point the model
    never saw, whose prediction depends on how the regularisation spread the weights) and its explanation
    gives the feature no contribution; a tree follows the branches of the categories that cover more than
    half of the training rows, if one does, and of "none of them" otherwise.
    Takes the parameters of OneHotEncoder; needs handle_unknown="ignore", no drop and dense output."""

    def fit(self, X, y=None):
        return self._fit_encoded(X, y)[0]

    def fit_transform(self, X, y=None):
        # Encoded once: the training rows hold no unseen category, so their encoding is also the output.
        return self._fit_encoded(X, y)[1]

    def _fit_encoded(self, X, y=None) -> tuple[OneHotUnseenAsMix, np.ndarray]:
        super().fit(X, y)
        encoded, _ = self._encode(X)
        self.category_shares_ = encoded.mean(axis=0)
        return self, encoded

    def transform(self, X):
        encoded, unseen = self._encode(X)
        start = 0
        for column, categories in enumerate(self.categories_):
            block = slice(start, start + len(categories))
            encoded[unseen[:, column], block] = self.category_shares_[block]
            start += len(categories)
        return encoded

    def _encode(self, X) -> tuple[np.ndarray, np.ndarray]:
        """The plain one-hot encoding and, per row and feature, whether its category is unseen. Categories
        are looked up by hashing (pandas) rather than OneHotEncoder's Python dictionary per cell; the
        settings this class requires (no drop, no infrequent grouping) make both the same encoding."""
        check_is_fitted(self, "categories_")
        if not all(_all_text(categories) for categories in self.categories_):
            return self._encode_by_dictionary(X)
        values = X.to_numpy(dtype=object) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=object)
        if values.ndim != 2 or values.shape[1] != len(self.categories_):
            raise ValueError(f"expected {len(self.categories_)} categorical column(s), got {values.shape}")
        widths = [len(categories) for categories in self.categories_]
        encoded = np.zeros((len(values), sum(widths)), dtype=np.float64)
        unseen = np.zeros((len(values), len(widths)), dtype=bool)
        rows = np.arange(len(values))
        start = 0
        for column, categories in enumerate(self.categories_):
            codes = pd.Index(categories).get_indexer(values[:, column])  # -1: unseen
            known = codes >= 0
            encoded[rows[known], start + codes[known]] = 1.0
            unseen[:, column] = ~known
            start += widths[column]
        return encoded, unseen

    def _encode_by_dictionary(self, X) -> tuple[np.ndarray, np.ndarray]:
        """OneHotEncoder's own encoding, for categories that are not all text (missing values never imputed,
        numbers): an all-zero block of a feature is its unseen category."""
        with warnings.catch_warnings():  # sklearn's "encoded as all zeros": the mix replaces them
            warnings.simplefilter("ignore", UserWarning)
            encoded = np.asarray(super().transform(X), dtype=np.float64)
        unseen, start = [], 0
        for categories in self.categories_:
            unseen.append(~encoded[:, start : start + len(categories)].any(axis=1))
            start += len(categories)
        return encoded, np.column_stack(unseen)


def _all_text(categories: np.ndarray) -> bool:
    return all(isinstance(category, str) for category in categories)


class CalendarFeatures(TransformerMixin, BaseEstimator):
    """Year, month and day of week of each date column (the raw timestamp is never a feature)."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        return self

    def transform(self, X):
        parts = {}
        for name in X.columns:
            dates = to_datetime(X[name])
            for part in CALENDAR_PARTS:
                parts[f"{name}_{part}"] = getattr(dates.dt, part).astype("float64")
        return pd.DataFrame(parts, index=X.index)

    def get_feature_names_out(self, input_features=None):
        names = self.feature_names_in_ if input_features is None else input_features
        return np.asarray([f"{name}_{part}" for name in names for part in CALENDAR_PARTS], dtype=object)


# Below this many training rows a 10% early-stopping split holds too few rows to judge by: the boosting
# runs a fixed, modest number of iterations instead.
EARLY_STOPPING_MIN_ROWS = 1000
# From this many rows in the training table the boosting learns at the library's default rate, 0.1, for at
# most 100 trees: on large tables early stopping rarely ends the slower schedule (0.05, up to 300 trees)
# early, which then costs 2.5 times as long for a small lift (docs/decisions/0007-training-at-scale.md).
LARGE_TABLE_ROWS = 100_000


def leaf_rows(rows: int | None) -> int:
    """Minimum rows per leaf of a boosted tree: the usual 20, fewer on small tables, where 20 rows per leaf
    leave no split at all (a 32-row table learns nothing: every fold scores like the baseline)."""
    return 20 if rows is None else int(np.clip(rows // 10, 2, 20))


def make_estimator(
    config: Config, baseline: bool = False, rows: int | None = None, table_rows: int | None = None
) -> Any:
    """The configured model family for the problem type, or the dummy baseline it must beat. `rows`, the
    number of rows this fit trains on when known, sizes the gradient boosting for small tables;
    `table_rows`, the rows of the whole training table, chooses its schedule for large ones (the same for
    every fold and the final fit, so that the cross-validation scores describe the model shipped)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge

    seed = config.model.random_state
    classification = config.is_classification
    if baseline:
        return DummyClassifier(strategy="prior") if classification else DummyRegressor(strategy="mean")
    family = config.model.family
    if family == "gradient_boosting":
        cls = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        settings = {"learning_rate": 0.05, "l2_regularization": 1.0, "min_samples_leaf": leaf_rows(rows)}
        if rows is not None and rows < EARLY_STOPPING_MIN_ROWS:
            return cls(max_iter=100, early_stopping=False, random_state=seed, **settings)
        if table_rows is not None and table_rows >= LARGE_TABLE_ROWS:
            settings["learning_rate"] = 0.1
            return cls(max_iter=100, early_stopping=True, random_state=seed, **settings)
        # Early stopping on an internal 10% validation split: fewer trees, less overfitting, faster fits.
        return cls(max_iter=300, early_stopping=True, random_state=seed, **settings)
    if family == "random_forest":
        cls = RandomForestClassifier if classification else RandomForestRegressor
        # Depth 12: scores as well as unlimited depth on the samples, and trees small enough that an exact
        # per-prediction explanation takes milliseconds rather than tens of them. Leaves of 3 rows still
        # split a 30-row table (it needs no adapting to small data, unlike the boosting's 20).
        return cls(n_estimators=200, max_depth=12, min_samples_leaf=3, n_jobs=-1, random_state=seed)
    if classification:
        return LogisticRegression(C=1.0, max_iter=2000)
    return Ridge(alpha=1.0)


def build_pipeline(
    contract: Contract,
    config: Config,
    baseline: bool = False,
    rows: int | None = None,
    table_rows: int | None = None,
) -> Pipeline:
    """The full Pipeline for the contract's feature columns; `rows` (this fit's training rows) and
    `table_rows` (the whole training table's) size the estimator (`make_estimator`)."""
    numeric = contract.feature_names("numeric")
    categorical = contract.feature_names("categorical")
    dates = contract.feature_names("datetime")
    if not (numeric or categorical or dates):
        raise ValueError("the data contract marks no column as a feature")
    branches = []
    if numeric:
        branches.append(
            (
                "numeric",
                Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
                numeric,
            )
        )
    if categorical:
        encode = OneHotUnseenAsMix(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
        impute = SimpleImputer(strategy="constant", fill_value="(missing)")
        branches.append(("categorical", Pipeline([("impute", impute), ("encode", encode)]), categorical))
    if dates:
        calendar = Pipeline(
            [
                ("calendar", CalendarFeatures()),
                ("impute", SimpleImputer(strategy="median")),
                ("scale", StandardScaler()),
            ]
        )
        branches.append(("calendar", calendar, dates))
    prepare = ColumnTransformer(branches, remainder="drop", verbose_feature_names_out=True)
    return Pipeline(
        [
            ("coerce", contract_coercer(contract)),
            ("prepare", prepare),
            ("model", make_estimator(config, baseline=baseline, rows=rows, table_rows=table_rows)),
        ]
    )


def contract_coercer(contract: Contract) -> ContractCoercer:
    """The first step of the model Pipeline: the contract's feature columns, each of its type."""
    dates = contract.feature_names("datetime")
    columns = contract.by_name
    formats = {name: columns[name]["format"] for name in dates if columns[name].get("format")}
    numeric, categorical = contract.feature_names("numeric"), contract.feature_names("categorical")
    return ContractCoercer(tuple(numeric), tuple(categorical), tuple(dates), formats)


def coerce_rows(contract: Contract, X: pd.DataFrame) -> pd.DataFrame:
    """`X` as the model Pipeline's first step turns it, once for the whole training table: the folds and
    the final fit then fit the steps after it on their rows (`after_coercion`) instead of each coercing
    its rows again (six times the table on 5 folds). The step works row by row (`features.py` must too),
    so a slice of the coerced table is the coerced slice."""
    return contract_coercer(contract).transform(X)


def after_coercion(model: Pipeline) -> Pipeline:
    """The steps of a model Pipeline after its `coerce` step, sharing their objects: fitting it on
    `coerce_rows` output fits `model`, which then takes raw records as always."""
    if model.steps[0][0] != "coerce":
        raise ValueError(f"expected a model Pipeline whose first step is 'coerce', got {model.steps[0][0]!r}")
    return model[1:]
