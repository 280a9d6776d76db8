"""The data contract (`configs/schema.json`): per column its type, role, nullability and allowed values.

`audit` infers it from the data; `train` fits on the columns it marks as features; the API validates
requests and the drift monitor types its columns from it. One source of truth for what the data is.
`Contract` is the file as a record (`to_json`/`from_json`); every question of which columns are features,
inputs, IDs or left out is asked of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.config import Config
from ..core.errors import UserError
from ..features import add_features
from .dates import column_date_format, to_datetime

CONTRACT_VERSION = 1
KINDS = ("numeric", "categorical", "datetime", "text")
FEATURE_KINDS = ("numeric", "categorical", "datetime")  # text columns are never model inputs
ROLES = ("target", "id", "time", "feature", "excluded")


def input_features(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a request or a file to score must send: the features, minus the derived ones (the Pipeline
    computes those). Shared by the contract and the model's metadata, which carries the same entries."""
    return [column for column in features if not column.get("derived")]


@dataclass(frozen=True)
class Contract:
    """configs/schema.json as a record. Each column stays the JSON entry the contract writes (name, dtype,
    kind, role, nullable, and per kind its format, range or categories), the form the model's metadata and
    the API take features in; which columns play which role is answered here, and only here."""

    columns: list[dict[str, Any]]
    problem_type: str | None = None
    target: str | None = None  # the target column's name
    classes: list[str] | None = None  # classification: the target's classes, as text
    contract_version: int | None = CONTRACT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # keys a hand-edited file adds, kept as they are

    def with_role(self, *roles: str) -> list[dict[str, Any]]:
        return [column for column in self.columns if column["role"] in roles]

    @property
    def features(self) -> list[dict[str, Any]]:
        """The model's features in data order, derived ones (`features.py`) included."""
        return self.with_role("feature")

    @property
    def input_features(self) -> list[dict[str, Any]]:
        return input_features(self.features)

    def feature_names(self, kind: str | None = None) -> list[str]:
        """Names of the features, optionally only of one kind, in data order."""
        return [column["name"] for column in self.features if kind is None or column["kind"] == kind]

    @property
    def id_columns(self) -> list[str]:
        return [column["name"] for column in self.with_role("id")]

    @property
    def needed_columns(self) -> list[str]:
        """What the data must hold to train: the features the data brings, the target and the time column."""
        return [
            column["name"]
            for column in self.with_role("feature", "target", "time")
            if not column.get("derived")
        ]

    @property
    def left_out(self) -> list[dict[str, Any]]:
        """The columns the model never sees: excluded ones, IDs and the time column."""
        return self.with_role("excluded", "id", "time")

    @property
    def by_name(self) -> dict[str, dict[str, Any]]:
        return {column["name"]: column for column in self.columns}

    @property
    def schema_hash(self) -> str:
        """Hash of everything that matters to the model (descriptions left out)."""
        stripped = {
            **self.to_json(),
            "columns": [{k: v for k, v in column.items() if k != "description"} for column in self.columns],
        }
        return hashlib.sha256(json.dumps(stripped, sort_keys=True, default=str).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The JSON written to configs/schema.json (keys in this order; absent ones left out)."""
        raw = {
            "contract_version": self.contract_version,
            "problem_type": self.problem_type,
            "target": self.target,
            "columns": self.columns,
            "classes": self.classes,
        }
        return {key: value for key, value in raw.items() if value is not None} | self.extra

    @classmethod
    def from_json(cls, raw: Any, path: Path) -> Contract:
        """A contract read from `path`; a UserError that names the column when an entry is not one."""
        if not isinstance(raw, dict) or not isinstance(raw.get("columns"), list):
            raise UserError(f"{path} is not a data contract (no 'columns' list); delete it and rerun `audit`")
        for column in raw["columns"]:
            entry = column if isinstance(column, dict) else {}
            if entry.get("role") not in ROLES or entry.get("kind") not in KINDS:
                raise UserError(
                    f"{path}: column {entry.get('name')!r} has role {entry.get('role')!r} / kind "
                    f"{entry.get('kind')!r}; "
                    f"roles: {', '.join(ROLES)}; kinds: {', '.join(KINDS)}"
                )
        known = ("contract_version", "problem_type", "target", "columns", "classes")
        return cls(
            columns=raw["columns"],
            problem_type=raw.get("problem_type"),
            target=raw.get("target"),
            classes=raw.get("classes"),
            contract_version=raw.get("contract_version"),
            extra={key: value for key, value in raw.items() if key not in known},
        )


def infer_kind(series: pd.Series, max_categories: int, date_format: str | None = None) -> str:
    """numeric, categorical, datetime or text, from the values (never from Evidently-style guessing).
    Dates: (nearly) all values written in one format (`data.column_date_format`), or the configured one."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    values = series.dropna().astype(str)
    if values.empty:
        return "categorical"
    if column_date_format(series, date_format):
        return "datetime"
    return "categorical" if values.nunique() <= max_categories else "text"


def infer_contract(
    frame: pd.DataFrame,
    config: Config,
    exclusions: dict[str, str] | None = None,
    previous: Contract | None = None,
) -> Contract:
    """Build the contract for `frame`. `exclusions` maps a column to the audit's reason to leave it out;
    descriptions written into a previous contract are kept."""
    exclusions = dict(exclusions or {})
    raw_columns = set(frame.columns)
    frame = add_features(frame)
    descriptions = (
        {column["name"]: column.get("description", "") for column in previous.columns} if previous else {}
    )
    data = config.data
    columns = []
    for name in frame.columns:
        series = frame[name]
        date_format = column_date_format(series, data.date_formats.get(name))
        kind = "datetime" if date_format else infer_kind(series, data.max_categories)
        role, reason = "feature", ""
        if name == data.target:
            role = "target"
        elif name in data.id_columns:
            role, reason = "id", "identifier (configured)"
        elif name == data.time_column:
            role, reason = "time", "time column (configured): orders the backtest, never a raw feature"
        elif name in data.drop_columns:
            role, reason = "excluded", "dropped in configs/project.yaml"
        elif name in exclusions and name not in data.keep_columns:
            role, reason = "excluded", exclusions[name]
        elif kind == "text":
            role, reason = "excluded", f"free text ({series.nunique()} distinct values)"
        entry: dict[str, Any] = {
            "name": name,
            "dtype": str(series.dtype),
            "kind": kind,
            "role": role,
            "nullable": bool(series.isna().any()),
        }
        if kind == "datetime":
            entry["format"] = date_format  # how its dates are read, in training, batch scoring and the API
        if name not in raw_columns:
            entry["derived"] = True
        if reason:
            entry["reason"] = reason
        entry.update(_value_domain(series, kind, date_format))
        entry["description"] = descriptions.get(name, "")
        columns.append(entry)
    classes = None
    if config.is_classification and data.target in frame.columns:
        classes = sorted(frame[data.target].dropna().astype(str).unique().tolist())
    return Contract(columns, config.problem_type, data.target, classes)


def _value_domain(series: pd.Series, kind: str, date_format: str | None = None) -> dict[str, Any]:
    values = series.dropna()
    if values.empty:
        return {}
    if kind == "numeric":
        numbers = values.astype("float64")
        return {"min": _plain(numbers.min()), "max": _plain(numbers.max())}
    if kind == "categorical":
        return {"categories": sorted(values.astype(str).unique().tolist())}
    if kind == "datetime":
        parsed = to_datetime(values, date_format).dropna()
        if not parsed.empty:
            return {"min": parsed.min().isoformat(), "max": parsed.max().isoformat()}
    return {}


def _plain(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 6)


def load_contract(path: Path) -> Contract | None:
    """The contract on disk, or None when there is none yet."""
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); fix it or delete it and rerun `audit`") from None
    return Contract.from_json(raw, path)


def check_matches(frame: pd.DataFrame, contract: Contract, config: Config) -> None:
    """The data must hold every column the contract needs, and the contract must fit the config."""
    if contract.target != config.data.target or contract.problem_type != config.problem_type:
        raise UserError(
            "configs/schema.json was made for another target or problem type than configs/project.yaml; "
            "rerun `audit` to refresh the data contract"
        )
    missing = [name for name in contract.needed_columns if name not in frame.columns]
    if missing:
        raise UserError(
            f"the data lacks column(s) {', '.join(map(repr, missing))} that configs/schema.json needs; "
            "rerun `audit` to refresh the data contract"
        )
