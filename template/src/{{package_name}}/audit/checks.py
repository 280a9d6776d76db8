"""`audit`, phase 1 of the engagement: what is in the data, and what must be settled before modelling.

`detect` runs every check on a DataFrame (pure, no files): missing values, duplicate rows and IDs,
constant and ID-like columns, the target's balance, leakage suspects (a single column that predicts the
target almost perfectly), time coverage, and columns that look like personal data; then words each finding
for the client. `with_contract` adds what only the data contract knows (the format of each date column).
The notebook, `train` (when no data contract exists yet) and the `audit` command all call these."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.config import Config
from ..data.contract import Contract
from ..data.tables import load_table
from ..data.training_data import check_configured_columns
from .columns import (
    column_profiles,
    constant_columns,
    duplicates,
    id_like_columns,
    kept_markers,
    missing_markers,
    overview,
)
from .common import json_ready
from .dates import column_coverage, time_coverage
from .findings import list_issues
from .leakage import leakage_scan
from .personal_data import personal_data_columns
from .target import target_distribution


def load(config: Config) -> pd.DataFrame:
    """The configured data file, with the target/ID/time columns checked to exist."""
    frame = load_table(config.data_path, config.data.missing_values)
    check_configured_columns(frame, config)
    return frame


def detect(frame: pd.DataFrame, config: Config) -> dict[str, Any]:
    """All findings about `frame`: per-column profile and one block per check, plus `issues`, the list of
    plain-language findings (severity, check, column, summary, message) that the report shows."""
    profiles = column_profiles(frame, config)
    findings: dict[str, Any] = {
        "dataset": overview(frame),
        "problem_type": config.problem_type,
        "target": config.data.target,
        "columns": profiles,
        "duplicates": duplicates(frame, config),
        "constant_columns": constant_columns(frame, profiles),
        "id_like_columns": id_like_columns(frame, profiles, config),
        "personal_data": personal_data_columns(frame, profiles),
        "target_distribution": target_distribution(frame, config),
        "time_coverage": time_coverage(frame, profiles, config),
        "missing_markers": missing_markers(frame),
        "kept_markers": kept_markers(frame, config),
        "kept_columns": list(config.data.keep_columns),
    }
    constant = {item["column"] for item in findings["constant_columns"]}
    candidates = {
        p["name"]: p["kind"] for p in profiles if p["role"] == "feature" and p["name"] not in constant
    }
    findings["leakage"] = leakage_scan(frame, candidates, config)
    findings["issues"] = list_issues(findings, config)
    return json_ready(findings)


def with_contract(
    findings: dict[str, Any], contract: Contract, config: Config, frame: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The findings with what only the data contract knows: the format each date column is read with (in
    training, scoring and the API). With `frame`, the time coverage is measured again with those formats;
    the plain-language findings are written again, so that they name them."""
    formats = {
        column["name"]: column["format"]
        for column in contract.columns
        if isinstance(column, dict) and isinstance(column.get("format"), str) and column["format"]
    }
    if not formats:
        return findings
    coverage = []
    for item in findings["time_coverage"]:
        name, date_format = item["column"], formats.get(item["column"])
        if date_format and frame is not None and name in frame:
            item = json_ready(column_coverage(frame[name], name, item["configured"], date_format))
        coverage.append({**item, "format": date_format or item.get("format")})
    updated = {**findings, "time_coverage": coverage}
    updated["issues"] = list_issues(updated, config)
    return json_ready(updated)
