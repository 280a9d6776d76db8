"""The findings of a sampled audit with the exact counts in place of the sample's, and the record of what
is exact and what is sampled (`findings["scope"]`), which the report and the data dictionary state."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.config import Config
from .columns import constant_columns, id_like_columns
from .common import json_ready
from .findings import list_issues

# What a sampled audit counts over every row, and what it takes from the sample, in the report's words.
EXACT = ("rows", "missing values", "distinct values", "duplicate rows and IDs", "the target's balance",
         "time coverage", "missing-value markers")  # fmt: skip
SAMPLED = ("column types and the data contract", "the leakage scan", "personal data",
           "identifier-like values", "the figures")  # fmt: skip


def with_exact_counts(
    findings: dict[str, Any], exact: dict[str, Any], sample: pd.DataFrame, config: Config
) -> dict[str, Any]:
    """The sample's findings with every count replaced by the exact one, the checks that depend on counts
    (constant and identifier-like columns) run again on them, and the findings worded again."""
    counts = exact["counts"]
    rows = counts.rows
    profiles = [_exact_profile(profile, counts, rows) for profile in findings["columns"]]
    missing_cells = sum(counts.missing.values())
    updated = {
        **findings,
        "dataset": {
            **findings["dataset"],
            "rows": rows,
            "missing_cells": missing_cells,
            "missing_share": missing_cells / max(rows * len(profiles), 1),
            "memory_mb": None,  # the table was never loaded whole
        },
        "columns": profiles,
        "duplicates": counts.duplicates,
        "constant_columns": constant_columns(sample, profiles),
        "id_like_columns": id_like_columns(sample, profiles, config),
        "target_distribution": exact["target"],
        "time_coverage": _coverage(findings["time_coverage"], exact["time_coverage"]),
        "missing_markers": counts.missing_markers,
        "kept_markers": counts.kept_markers,
    }
    updated["scope"] = {
        "rows": rows,
        "sample_rows": len(sample),
        "seed": config.model.random_state,
        "counted_by": exact["counted_by"],
        "exact": list(EXACT),
        "sampled": list(SAMPLED),
        "sampled_time_coverage": [
            item["column"]
            for item in findings["time_coverage"]
            if item["column"] not in exact["time_coverage"]
        ],
    }
    updated["issues"] = list_issues(updated, config)
    return json_ready(updated)


def _exact_profile(profile: dict[str, Any], counts: Any, rows: int) -> dict[str, Any]:
    name = profile["name"]
    missing, distinct = counts.missing[name], counts.distinct[name]
    present = rows - missing
    return {
        **profile,
        "missing": missing,
        "missing_share": missing / max(rows, 1),
        "distinct": distinct,
        "distinct_ratio": distinct / present if present else 0.0,
    }


def _coverage(sampled: list[dict[str, Any]], exact: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each date column's coverage over every row (with the format it was read with), else the sample's."""
    return [
        {**exact[item["column"]], "format": item.get("format")} if item["column"] in exact else item
        for item in sampled
    ]


def scope_sentence(findings: dict[str, Any]) -> str:
    """Which numbers are exact over every row and which come from the sample, in one sentence; empty when
    the whole table was audited."""
    scope = findings.get("scope")
    if not scope:
        return ""
    sentence = (
        f"Exact over all {scope['rows']:,} rows (counted by streaming the file): "
        f"{', '.join(scope['exact'])}. From a seeded sample of {scope['sample_rows']:,} rows (seed "
        f"{scope['seed']}, audit.sample_rows): {', '.join(scope['sampled'])}."
    )
    if scope.get("sampled_time_coverage"):
        names = ", ".join(scope["sampled_time_coverage"])
        sentence += f" The time coverage of {names} (too many distinct values to count) is the sample's."
    return sentence
