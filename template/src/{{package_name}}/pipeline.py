"""The model: one scikit-learn Pipeline from raw records to predictions.

    coerce (contract types) → ColumnTransformer (numeric: impute + scale; categorical: impute + one-hot,
    unknown categories ignored; dates: calendar features) → estimator

Because the whole preparation lives in the Pipeline, the saved model takes the same raw columns as the
data file and the API. Client-specific feature engineering goes in `features.py`, which this module calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from . import contract as contract_mod
from .config import Config
from .data import to_datetime
from .features import add_features

CALENDAR_PARTS = ("year", "month", "dayofweek")


class ContractCoercer(TransformerMixin, BaseEstimator):
    """Select the feature columns and give each the type the contract says, whatever the input's dtypes."""

    def __init__(self, numeric=(), categorical=(), datetime=()):
        self.numeric = numeric
        self.categorical = categorical
        self.datetime = datetime

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
            column = X[name]
            out[name] = (
                column.astype(object).where(column.notna(), np.nan).map(_as_category, na_action="ignore")
            )
        for name in self.datetime:
            out[name] = to_datetime(X[name])
        return pd.DataFrame(out, index=X.index)[wanted]


def _as_category(value: Any) -> str:
    # 3.0 from a float column and "3" from a request must land in the same category.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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


def make_estimator(config: Config, baseline: bool = False) -> Any:
    """The configured model family for the problem type, or the dummy baseline it must beat."""
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
        # Early stopping on an internal 10% validation split: fewer trees, less overfitting, faster fits.
        return cls(
            learning_rate=0.05, max_iter=300, l2_regularization=1.0, early_stopping=True, random_state=seed
        )
    if family == "random_forest":
        cls = RandomForestClassifier if classification else RandomForestRegressor
        # Depth 12: scores as well as unlimited depth on the samples, and trees small enough that an exact
        # per-prediction explanation takes milliseconds rather than tens of them.
        return cls(n_estimators=200, max_depth=12, min_samples_leaf=3, n_jobs=-1, random_state=seed)
    if classification:
        return LogisticRegression(C=1.0, max_iter=2000)
    return Ridge(alpha=1.0)


def build_pipeline(contract: dict[str, Any], config: Config, baseline: bool = False) -> Pipeline:
    """The full Pipeline for the contract's feature columns."""
    numeric = contract_mod.features(contract, "numeric")
    categorical = contract_mod.features(contract, "categorical")
    dates = contract_mod.features(contract, "datetime")
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
        encode = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
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
            ("coerce", ContractCoercer(tuple(numeric), tuple(categorical), tuple(dates))),
            ("prepare", prepare),
            ("model", make_estimator(config, baseline=baseline)),
        ]
    )
