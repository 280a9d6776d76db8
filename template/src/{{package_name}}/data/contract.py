"""The data contract (`configs/schema.json`): per column its type, role, nullability and allowed values.

`audit` infers it from the data; `train` fits on the columns it marks as features; the API validates
requests and the drift monitor types its columns from it. One source of truth for what the data is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.config import Config
from ..core.errors import UserError
from ..features import add_features
from .tables import column_date_format, to_datetime

CONTRACT_VERSION = 1
KINDS = ("numeric", "categorical", "datetime", "text")
FEATURE_KINDS = ("numeric", "categorical", "datetime")  # text columns are never model inputs
ROLES = ("target", "id", "time", "feature", "excluded")


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
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the contract for `frame`. `exclusions` maps a column to the audit's reason to leave it out;
    descriptions written into a previous contract are kept."""
    exclusions = dict(exclusions or {})
    raw_columns = set(frame.columns)
    frame = add_features(frame)
    descriptions = {
        column["name"]: column.get("description", "") for column in (previous or {}).get("columns", [])
    }
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
    contract: dict[str, Any] = {
        "contract_version": CONTRACT_VERSION,
        "problem_type": config.problem_type,
        "target": data.target,
        "columns": columns,
    }
    if config.is_classification and data.target in frame.columns:
        contract["classes"] = sorted(frame[data.target].dropna().astype(str).unique().tolist())
    return contract


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


def features(contract: dict[str, Any], kind: str | None = None) -> list[str]:
    """Names of the feature columns, optionally only of one kind, in data order."""
    return [
        column["name"]
        for column in contract["columns"]
        if column["role"] == "feature" and (kind is None or column["kind"] == kind)
    ]


def columns_by_name(contract: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {column["name"]: column for column in contract["columns"]}


def schema_hash(contract: dict[str, Any]) -> str:
    """Hash of everything that matters to the model (descriptions left out)."""
    stripped = {
        **contract,
        "columns": [
            {k: v for k, v in column.items() if k != "description"} for column in contract["columns"]
        ],
    }
    return hashlib.sha256(json.dumps(stripped, sort_keys=True, default=str).encode()).hexdigest()


def load_contract(path: Path) -> dict[str, Any] | None:
    """The contract on disk, or None when there is none yet."""
    if not path.exists():
        return None
    try:
        contract = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); fix it or delete it and rerun `audit`") from None
    if not isinstance(contract, dict) or not isinstance(contract.get("columns"), list):
        raise UserError(f"{path} is not a data contract (no 'columns' list); delete it and rerun `audit`")
    for column in contract["columns"]:
        if column.get("role") not in ROLES or column.get("kind") not in KINDS:
            raise UserError(
                f"{path}: column {column.get('name')!r} has role {column.get('role')!r} / kind "
                f"{column.get('kind')!r}; "
                f"roles: {', '.join(ROLES)}; kinds: {', '.join(KINDS)}"
            )
    return contract


def check_matches(frame: pd.DataFrame, contract: dict[str, Any], config: Config) -> None:
    """The data must hold every column the contract needs, and the contract must fit the config."""
    if contract.get("target") != config.data.target or contract.get("problem_type") != config.problem_type:
        raise UserError(
            "configs/schema.json was made for another target or problem type than configs/project.yaml; "
            "rerun `audit` to refresh the data contract"
        )
    needed = [
        column["name"]
        for column in contract["columns"]
        if column["role"] in ("feature", "target", "time") and not column.get("derived")
    ]
    missing = [name for name in needed if name not in frame.columns]
    if missing:
        raise UserError(
            f"the data lacks column(s) {', '.join(map(repr, missing))} that configs/schema.json needs; "
            "rerun `audit` to refresh the data contract"
        )
