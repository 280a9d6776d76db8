"""The findings as decisions and tables: the columns left out of the features (with their reasons), the
verdict, and the tables of findings and columns that the notebook, the report and the dictionary show."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..data import contract as contract_mod
from .findings import EXCLUDING_CHECKS


def exclusions(findings: dict[str, Any]) -> dict[str, str]:
    """Columns to leave out of the features, with the reasons in plain words: leakage suspects, personal
    data, identifier-like and constant columns. Configured target/ID/time columns have their own roles."""
    roles = {profile["name"]: profile["role"] for profile in findings["columns"]}
    for name in findings.get("kept_columns", []):  # data.keep_columns: the client decided to keep them
        roles.pop(name, None)
    reasons: dict[str, list[str]] = {}
    for check in EXCLUDING_CHECKS:
        for issue in findings["issues"]:
            name = issue["column"]
            if issue["check"] == check and roles.get(name) in ("feature", "dropped"):
                reasons.setdefault(name, []).append(issue["summary"])
    return {name: "; ".join(parts) for name, parts in reasons.items()}


def verdict(findings: dict[str, Any]) -> dict[str, Any]:
    """The headline: how many findings need attention before modelling."""
    warnings_ = sum(issue["severity"] == "warning" for issue in findings["issues"])
    notes = len(findings["issues"]) - warnings_
    if warnings_:
        noun, verb = ("issue", "needs") if warnings_ == 1 else ("issues", "need")
        message = f"{warnings_} {noun} {verb} attention before modelling"
    else:
        message = "No issues block modelling"
    return {
        "issues": warnings_,
        "notes": notes,
        "level": "warning" if warnings_ else "ok",
        "message": message,
    }


def findings_table(findings: dict[str, Any]) -> pd.DataFrame:
    """The findings as a table: severity, check, column, message (warnings first)."""
    rows = [
        {key: issue[key] for key in ("severity", "check", "column", "message")}
        for issue in findings["issues"]
    ]
    return pd.DataFrame(rows, columns=["severity", "check", "column", "message"])


def column_table(findings: dict[str, Any], contract: contract_mod.Contract | None = None) -> pd.DataFrame:
    """One row per column: role, kind, dtype, missing share, distinct values and what the audit found.
    With a contract, its roles are shown (free text, dropped columns); otherwise the audit's own."""
    excluded = exclusions(findings)
    notes = column_notes(findings)
    in_contract = contract.by_name if contract else {}
    rows = []
    for profile in findings["columns"]:
        name = profile["name"]
        role = in_contract.get(name, {}).get("role") or ("excluded" if name in excluded else profile["role"])
        rows.append(
            {
                "column": name,
                "role": role,
                "kind": profile["kind"],
                "dtype": profile["dtype"],
                "missing %": round(100 * profile["missing_share"], 1),
                "distinct": profile["distinct"],
                "notes": "; ".join(notes.get(name, [])) or in_contract.get(name, {}).get("reason", ""),
            }
        )
    return pd.DataFrame(rows)


def column_notes(findings: dict[str, Any]) -> dict[str, list[str]]:
    """Per column, the summaries of the findings about it, in the order of the findings."""
    names = {profile["name"] for profile in findings["columns"]}
    notes: dict[str, list[str]] = {}
    for issue in findings["issues"]:
        if issue["column"] in names:
            notes.setdefault(issue["column"], []).append(issue["summary"])
    return notes
