"""`audit`, phase 1 of the engagement: what is in the data, and what must be settled before modelling.

The checks: missing values, duplicate rows and IDs, constant and ID-like columns, the target's balance,
leakage suspects (a single column that predicts the target almost perfectly), time coverage, and columns
that look like personal data. `detect` computes the findings (pure, no files); `exclusions` turns them into
the columns the data contract leaves out of the features; `run_audit` writes the report, the findings as
JSON, the data contract and the data dictionary. The notebook calls the same functions.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import contract as contract_mod
from . import html_report as h
from . import plots
from .config import Config
from .data import check_configured_columns, file_sha256, load_table
from .progress import say, step

AUDIT_VERSION = 1
LEAKAGE_SAMPLE_ROWS = 20_000
LEAKAGE_FOLDS = 3
PII_SAMPLE_VALUES = 500
MIN_ROWS_FOR_RATIOS = 20  # distinct-value ratios of fewer values say nothing
IMBALANCE_SHARE = 0.10  # a minority class below this share of rows is flagged
MOSTLY_MISSING_SHARE = 0.5
SKEW_LIMIT = 1.0
SEVERITIES = ("warning", "info")
WIDE = 8.6  # inches: single charts fill the report's width
# Checks whose findings take a column out of the features, in the order their reasons are listed.
EXCLUDING_CHECKS = ("leakage", "personal_data", "id_like", "constant")
METRICS = {
    "binary": ("roc_auc", "ROC AUC", 0.5),
    "multiclass": ("balanced_accuracy", "balanced accuracy", None),  # chance level: 1 / number of classes
    "regression": ("r2", "R²", 0.0),
}

# Column names that suggest personal data, checked in this order on the snake_case name.
_PII_NAMES = (
    ("email addresses", r"(^|_)e_?mails?(_|$)|(^|_)email"),
    ("IP addresses", r"(^|_)ip(_?addr(ess)?)?(_|$)"),
    (
        "phone numbers",
        r"(^|_)(tele)?phone|(^|_)(tel|fax|msisdn)(_|$)|(^|_)(mobile|cell)(_?(no|nr|number|phone))?$",
    ),
    (
        "person names",
        r"(^|_)(first|last|full|given|family|middle|maiden|sur|fore)_?name(_|$)|^name$"
        r"|^(customer|contact|client|person|user|patient|employee|holder|owner)_?name$",
    ),
    ("postal addresses", r"address|(^|_)street|(^|_)addr(_|$)|(^|_)house_?(number|no|nr)(_|$)"),
    ("postcodes", r"(^|_)(zip|zipcode|zip_code|post_?code|postal(_?code)?)(_|$)"),
    (
        "national ID numbers",
        r"(^|_)(ssn|social_security(_number)?|national_id|national_insurance(_number)?|nino|tax_id|bsn)(_|$)",
    ),
    ("passport or licence numbers", r"passport|driv(er|ing)_?licen[cs]e"),
    ("dates of birth", r"birth|(^|_)dob(_|$)|(^|_)born(_|$)"),
    ("bank or card numbers", r"(^|_)iban(_|$)|bank_?account|account_?(number|no)|credit_?card|card_?number"),
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"^(\+|00)?[\d\s().\-/]{7,22}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_IPV4 = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$")
_DATE_VALUE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key|nr|number|ref)$")


# ----------------------------------------------------------------------------------------------------------
# Loading


def load(config: Config) -> pd.DataFrame:
    """The configured data file, with the target/ID/time columns checked to exist."""
    frame = load_table(config.data_path)
    check_configured_columns(frame, config)
    return frame


# ----------------------------------------------------------------------------------------------------------
# Detection: pure computation on a DataFrame, JSON-ready results


def detect(frame: pd.DataFrame, config: Config) -> dict[str, Any]:
    """All findings about `frame`: per-column profile and one block per check, plus `issues`, the list of
    plain-language findings (severity, check, column, summary, message) that the report shows."""
    profiles = _column_profiles(frame, config)
    findings: dict[str, Any] = {
        "dataset": _overview(frame),
        "problem_type": config.problem_type,
        "target": config.data.target,
        "columns": profiles,
        "duplicates": _duplicates(frame, config),
        "constant_columns": _constant_columns(frame, profiles),
        "id_like_columns": _id_like_columns(frame, profiles, config),
        "personal_data": _personal_data(frame, profiles),
        "target_distribution": _target_distribution(frame, config),
        "time_coverage": _time_coverage(frame, profiles, config),
    }
    constant = {item["column"] for item in findings["constant_columns"]}
    candidates = [p["name"] for p in profiles if p["role"] == "feature" and p["name"] not in constant]
    findings["leakage"] = _leakage_scan(frame, candidates, config)
    findings["issues"] = _issues(findings, config)
    return _json_ready(findings)


def _column_profiles(frame: pd.DataFrame, config: Config) -> list[dict[str, Any]]:
    rows = max(len(frame), 1)
    profiles = []
    for name in frame.columns:
        series = frame[name]
        missing = int(series.isna().sum())
        distinct = int(series.nunique(dropna=True))
        present = len(series) - missing
        profiles.append(
            {
                "name": name,
                "role": _configured_role(name, config),
                "dtype": str(series.dtype),
                "kind": contract_mod.infer_kind(series, config.audit.max_categories),
                "missing": missing,
                "missing_share": missing / rows,
                "distinct": distinct,
                "distinct_ratio": distinct / present if present else 0.0,
            }
        )
    return profiles


def _configured_role(name: str, config: Config) -> str:
    """The role the config gives a column; everything else starts out as a feature."""
    data = config.data
    if name == data.target:
        return "target"
    if name in data.id_columns:
        return "id"
    if name == data.time_column:
        return "time"
    if name in data.drop_columns:
        return "dropped"
    return "feature"


def _overview(frame: pd.DataFrame) -> dict[str, Any]:
    cells = max(frame.size, 1)
    missing = int(frame.isna().sum().sum())
    return {
        "rows": len(frame),
        "columns": frame.shape[1],
        "missing_cells": missing,
        "missing_share": missing / cells,
        "memory_mb": round(frame.memory_usage(deep=True).sum() / 1e6, 2),
    }


def _duplicates(frame: pd.DataFrame, config: Config) -> dict[str, Any]:
    """Exact duplicate rows, rows identical apart from their IDs, and IDs that occur more than once."""
    ids = [name for name in config.data.id_columns if name in frame.columns]
    rows = int(frame.duplicated().sum())
    result: dict[str, Any] = {"rows": rows, "share": rows / max(len(frame), 1), "id_columns": ids}
    if ids:
        others = [name for name in frame.columns if name not in ids]
        result["rows_ignoring_ids"] = int(frame.duplicated(subset=others).sum()) if others else 0
        repeated = frame.duplicated(subset=ids, keep=False)
        result["rows_with_repeated_id"] = int(repeated.sum())
        result["repeated_ids"] = int(frame.loc[repeated, ids].drop_duplicates().shape[0])
    return result


def _constant_columns(frame: pd.DataFrame, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns with at most one distinct value: they cannot tell rows apart."""
    found = []
    for profile in profiles:
        if profile["role"] == "target" or profile["distinct"] > 1:
            continue
        values = frame[profile["name"]].dropna()
        found.append({"column": profile["name"], "value": None if values.empty else _short(values.iloc[0])})
    return found


def _id_like_columns(
    frame: pd.DataFrame, profiles: list[dict[str, Any]], config: Config
) -> list[dict[str, Any]]:
    """Columns that identify rows rather than describe them. A model can memorise them but they never
    generalise to new rows (and sometimes encode the data's order, which leaks)."""
    threshold = config.audit.id_unique_ratio
    found = []
    for profile in profiles:
        if profile["role"] not in ("feature", "dropped") or profile["kind"] == "datetime":
            continue
        values = frame[profile["name"]].dropna()
        if len(values) < MIN_ROWS_FOR_RATIOS:
            continue
        ratio = profile["distinct_ratio"]
        snake = _snake_case(profile["name"])
        reason = ""
        if _ID_NAME.search(snake) and ratio >= 0.5:
            reason = f"named like an identifier, {ratio:.0%} distinct values"
        elif ratio >= threshold and _is_code_like(values):
            reason = f"{ratio:.0%} distinct values"
        if reason:
            found.append({"column": profile["name"], "distinct_ratio": ratio, "reason": reason})
    return found


def _is_code_like(values: pd.Series) -> bool:
    """Integers that run (almost) consecutively, or short text without spaces: the shape of an ID, as
    opposed to a measurement (prices are distinct too) or free text."""
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        if not np.all(np.mod(numbers, 1) == 0):
            return False
        return float(numbers.max() - numbers.min() + 1) <= 2 * values.nunique()
    if pd.api.types.is_datetime64_any_dtype(values):
        return False
    text = values.astype(str)
    return text.str.contains(r"\s", regex=True).mean() <= 0.5


def _personal_data(frame: pd.DataFrame, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns that look like personal data, by their name or by their values (on a sample)."""
    found = []
    for profile in profiles:
        if profile["role"] == "target":
            continue
        # A flag such as `email_opt_in` (yes/no) is named like personal data but holds none.
        name_kind = _pii_by_name(profile["name"]) if profile["distinct"] > 2 else None
        value_kind, share = _pii_by_values(frame[profile["name"]], profile["kind"])
        if name_kind or value_kind:
            found.append(
                {
                    "column": profile["name"],
                    "kind": name_kind or value_kind,
                    "by_name": bool(name_kind),
                    "by_values": bool(value_kind),
                    "value_share": share if value_kind else None,
                }
            )
    return found


def _pii_by_name(name: str) -> str | None:
    snake = _snake_case(name)
    for kind, pattern in _PII_NAMES:
        if re.search(pattern, snake):
            return kind
    return None


def _pii_by_values(series: pd.Series, kind: str) -> tuple[str | None, float]:
    """The kind of personal data most sampled text values look like, and the share that do."""
    if kind not in ("categorical", "text") or pd.api.types.is_numeric_dtype(series):
        return None, 0.0
    values = series.dropna().astype(str).str.strip()
    if values.empty:
        return None, 0.0
    sample = values.sample(min(len(values), PII_SAMPLE_VALUES), random_state=0)
    shares = {
        "email addresses": (sample.str.contains(_EMAIL, regex=True).mean(), 0.2),
        "phone numbers": (sample.map(_looks_like_phone).mean(), 0.5),
        "bank account numbers (IBAN)": (sample.map(_looks_like_iban).mean(), 0.5),
        "IP addresses": (sample.str.match(_IPV4).mean(), 0.5),
    }
    for pii_kind, (share, needed) in shares.items():
        if share >= needed:
            return pii_kind, float(share)
    return None, 0.0


def _looks_like_phone(value: str) -> bool:
    """7 to 15 digits written the way phone numbers are: a leading +, 00 or (, or three or more groups of
    digits; not a date, a range such as 10000-20000, or a number with thousands separators."""
    if not _PHONE.match(value) or _DATE_VALUE.match(value):
        return False
    groups = re.findall(r"\d+", value)
    digits = sum(len(group) for group in groups)
    separated = len(groups) >= 3 and any(sep in value for sep in " -()")
    return 7 <= digits <= 15 and (value.startswith(("+", "00", "(")) or separated)


def _looks_like_iban(value: str) -> bool:
    """An IBAN: country code, check digits, account; the check digits must verify (ISO 13616, mod 97)."""
    compact = value.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _target_distribution(frame: pd.DataFrame, config: Config) -> dict[str, Any]:
    target = frame[config.data.target]
    missing = int(target.isna().sum())
    if config.is_classification:
        counts = target.dropna().astype(str).value_counts()
        result: dict[str, Any] = {"type": "classes", "missing": missing, "counts": counts.to_dict()}
        if len(counts):
            total = counts.sum()
            result.update(
                classes=len(counts),
                shares=(counts / total).to_dict(),
                majority=counts.index[0],
                minority=counts.index[-1],
                minority_share=counts.iloc[-1] / total,
                imbalance_ratio=counts.iloc[0] / counts.iloc[-1],
                imbalanced=bool(counts.iloc[-1] / total < IMBALANCE_SHARE),
            )
        return result
    numbers = pd.to_numeric(target, errors="coerce")
    not_numeric = int(numbers.isna().sum()) - missing
    values = numbers.dropna()
    result = {"type": "numeric", "missing": missing, "not_numeric": not_numeric, "count": len(values)}
    if len(values):
        quantiles = values.quantile([0.25, 0.5, 0.75])
        skew = float(values.skew()) if len(values) > 2 else 0.0
        result.update(
            mean=values.mean(),
            std=values.std(),
            min=values.min(),
            p25=quantiles.loc[0.25],
            median=quantiles.loc[0.5],
            p75=quantiles.loc[0.75],
            max=values.max(),
            skew=0.0 if math.isnan(skew) else skew,
            skewed=bool(abs(skew) > SKEW_LIMIT),
        )
    return result


def _time_coverage(
    frame: pd.DataFrame, profiles: list[dict[str, Any]], config: Config
) -> list[dict[str, Any]]:
    """Coverage of the configured time column (first) and of every other column that holds dates."""
    names = [config.data.time_column] if config.data.time_column else []
    names += [p["name"] for p in profiles if p["kind"] == "datetime" and p["name"] not in names]
    return [_coverage(frame[name], name, configured=name == config.data.time_column) for name in names]


def _coverage(series: pd.Series, name: str, configured: bool) -> dict[str, Any]:
    parsed = to_datetime(series)
    present = int(series.notna().sum())
    unparseable = present - int(parsed.notna().sum())
    result: dict[str, Any] = {
        "column": name,
        "configured": configured,
        "unparseable": unparseable,
        "unparseable_share": unparseable / present if present else 0.0,
    }
    dates = parsed.dropna()
    if dates.empty:
        return result
    months = dates.dt.to_period("M").value_counts().sort_index()
    months = months.reindex(pd.period_range(months.index.min(), months.index.max(), freq="M"), fill_value=0)
    unique = pd.Series(np.sort(dates.unique()))
    gaps = unique.diff().dt.total_seconds() / 86_400
    result.update(
        min=dates.min().isoformat(),
        max=dates.max().isoformat(),
        span_days=(dates.max() - dates.min()).total_seconds() / 86_400,
        rows_per_month={str(period): int(count) for period, count in months.items()},
        empty_months=[str(period) for period, count in months.items() if count == 0],
    )
    if len(unique) > 1:
        at = int(gaps.idxmax())
        result.update(
            largest_gap_days=float(gaps.iloc[at]),
            largest_gap_from=unique.iloc[at - 1].isoformat(),
            largest_gap_to=unique.iloc[at].isoformat(),
        )
    return result


def to_datetime(series: pd.Series) -> pd.Series:
    """Dates from a column that may be text, mixed formats or time-zone aware; NaT where a value is not a
    date (the audit reports how many, it does not fail)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(series, errors="coerce", format="mixed", utc=True)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    return parsed.dt.tz_localize(None)


def _leakage_scan(frame: pd.DataFrame, candidates: list[str], config: Config) -> dict[str, Any]:
    """Score each candidate column alone with a small decision tree, cross-validated. A column that alone
    predicts the target almost perfectly is usually recorded after the outcome (a leak), or a proxy of it."""
    key, label, chance = METRICS[config.problem_type]
    result: dict[str, Any] = {
        "metric": key,
        "metric_label": label,
        "threshold": config.audit.leakage_threshold,
        "chance": chance,
        "rows_scanned": 0,
        "scores": [],
        "suspects": [],
        "skipped": None,
    }
    rows, target, reason = _leakage_rows(frame, config)
    if reason:
        result["skipped"] = reason
        return result
    if not candidates:
        result["skipped"] = "no candidate feature columns"
        return result
    if config.problem_type == "multiclass":
        result["chance"] = 1 / target.nunique()
    result["rows_scanned"] = len(rows)
    with step(
        f"leakage scan: each of {len(candidates)} columns alone, "
        f"{LEAKAGE_FOLDS}-fold CV on {len(rows):,} rows"
    ):
        scores = {name: _single_column_score(rows[name], target, config) for name in candidates}
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    result["scores"] = [{"column": name, "score": score} for name, score in ranked]
    result["suspects"] = [name for name, score in ranked if score >= config.audit.leakage_threshold]
    return result


def _leakage_rows(frame: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.Series, str]:
    """The rows to scan (at most LEAKAGE_SAMPLE_ROWS, labelled) and the target encoded for scoring, or a
    reason to skip the scan."""
    target = frame[config.data.target]
    if config.problem_type == "regression":
        target = pd.to_numeric(target, errors="coerce")
    rows = frame.loc[target.notna()]
    if len(rows) > LEAKAGE_SAMPLE_ROWS:
        rows = rows.sample(LEAKAGE_SAMPLE_ROWS, random_state=0)
    target = target.loc[rows.index]
    if config.problem_type == "regression":
        if len(rows) < 3 * LEAKAGE_FOLDS or target.nunique() < 2:
            return rows, target, "too few numeric target values to cross-validate"
        return rows, target.astype("float64"), ""
    labels = target.astype(str)
    counts = labels.value_counts()
    kept = labels.isin(counts.index[counts >= LEAKAGE_FOLDS])  # each fold needs every class
    rows, labels = rows.loc[kept], labels.loc[kept]
    if labels.nunique() < 2:
        return rows, labels, f"fewer than two classes with at least {LEAKAGE_FOLDS} rows"
    if config.problem_type == "binary":
        if labels.nunique() != 2:
            return rows, labels, f"the target has {labels.nunique()} classes, not two"
        labels = (labels == sorted(labels.unique())[1]).astype(int)
    return rows, labels, ""


def _single_column_score(series: pd.Series, target: pd.Series, config: Config) -> float:
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    leaf = max(3, len(series) // 500)
    if config.is_classification:
        model = DecisionTreeClassifier(max_leaf_nodes=64, min_samples_leaf=leaf, random_state=0)
        folds = StratifiedKFold(LEAKAGE_FOLDS, shuffle=True, random_state=0)
    else:
        model = DecisionTreeRegressor(max_leaf_nodes=64, min_samples_leaf=leaf, random_state=0)
        folds = KFold(LEAKAGE_FOLDS, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(
            model, _single_column_matrix(series), target, cv=folds, scoring=METRICS[config.problem_type][0]
        )
    score = float(np.nanmean(scores)) if not np.all(np.isnan(scores)) else float("nan")
    return score if math.isfinite(score) else 0.0


def _single_column_matrix(series: pd.Series) -> np.ndarray:
    """One column as model input: numbers (dates as days) with missing values set to a sentinel below the
    range plus a missing indicator; anything else as category codes, with missing as a level of its own."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        numbers = series.astype("float64")
    else:
        dates = to_datetime(series) if contract_mod.infer_kind(series, 0) == "datetime" else None
        if dates is not None:
            numbers = (dates - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86_400
        else:
            codes, _ = pd.factorize(series.astype("string"), sort=True, use_na_sentinel=True)
            return codes.astype("float64").reshape(-1, 1)  # missing → -1, its own level
    missing = numbers.isna()
    low = numbers.min() if missing.sum() < len(numbers) else 0.0
    filled = numbers.fillna(low - 1 - abs(low))
    return np.column_stack([filled.to_numpy(), missing.to_numpy(dtype="float64")])


# ----------------------------------------------------------------------------------------------------------
# Findings in plain words


def _issues(findings: dict[str, Any], config: Config) -> list[dict[str, Any]]:
    """One entry per finding, with a short summary (used as the exclusion reason) and a message a client
    can read. Warnings need a decision before modelling; info is good to know."""
    issues: list[dict[str, Any]] = []

    def add(severity: str, check: str, column: str | None, summary: str, message: str) -> None:
        issues.append(
            {"severity": severity, "check": check, "column": column, "summary": summary, "message": message}
        )

    target = config.data.target
    leakage = findings["leakage"]
    scores = {item["column"]: item["score"] for item in leakage["scores"]}
    for name in leakage["suspects"]:
        score = f"{leakage['metric_label']} {scores[name]:.2f}"
        add(
            "warning",
            "leakage",
            name,
            f"leakage suspect: alone predicts the target with {score}",
            f"'{name}' alone predicts '{target}' almost perfectly ({score}). It is probably recorded after "
            "the outcome, or is a copy of it; it is left out of the model. Ask the client when this value is "
            "filled in.",
        )
    for item in findings["personal_data"]:
        found_by = " and ".join(
            part
            for part, hit in (
                ("its name", item["by_name"]),
                (f"{(item['value_share'] or 0):.0%} of sampled values", item["by_values"]),
            )
            if hit
        )
        add(
            "warning",
            "personal_data",
            item["column"],
            f"personal data: {item['kind']}",
            f"'{item['column']}' looks like personal data ({item['kind']}, going by {found_by}). It is left "
            "out of the model; agree with the client whether it should be in the data at all.",
        )
    _duplicate_issues(findings["duplicates"], add)
    _target_issues(findings["target_distribution"], config, add)
    personal = {item["column"] for item in findings["personal_data"]}
    for item in findings["id_like_columns"]:
        if (
            item["column"] in personal
        ):  # the personal-data finding already takes it out; one finding is enough
            continue
        add(
            "warning",
            "id_like",
            item["column"],
            f"looks like an identifier ({item['reason']})",
            f"'{item['column']}' looks like an identifier ({item['reason']}): a model can memorise it but it "
            "tells nothing about new rows, so it is left out. If it is an ID, add it to data.id_columns.",
        )
    for item in findings["constant_columns"]:
        empty = item["value"] is None
        add(
            "warning",
            "constant",
            item["column"],
            "empty: no values" if empty else "constant: the same value in every row",
            f"'{item['column']}' "
            + ("is empty" if empty else f"holds the same value ({item['value']}) in every row")
            + ": it carries no information and is left out.",
        )
    for coverage in findings["time_coverage"]:
        _time_issues(coverage, config, add)
    left_out = {issue["column"] for issue in issues if issue["check"] in EXCLUDING_CHECKS}
    for profile in findings["columns"]:
        if profile["role"] != "feature" or profile["name"] in left_out:
            continue
        if profile["kind"] == "text":
            add(
                "info",
                "free_text",
                profile["name"],
                f"free text ({profile['distinct']:,} distinct values)",
                f"'{profile['name']}' holds free text ({profile['distinct']:,} distinct values); it is left "
                "out of the model. If it matters, derive features from it in features.py.",
            )
        elif MOSTLY_MISSING_SHARE <= profile["missing_share"] < 1:
            add(
                "info",
                "missing",
                profile["name"],
                f"{profile['missing_share']:.0%} missing",
                f"'{profile['name']}' is missing in {profile['missing_share']:.0%} of rows. The model fills "
                "the gaps and marks them; ask the client whether 'missing' has a meaning here.",
            )
    if leakage["skipped"]:
        add(
            "info",
            "leakage",
            None,
            "leakage scan skipped",
            f"The leakage scan was skipped: {leakage['skipped']}.",
        )
    order = {severity: index for index, severity in enumerate(SEVERITIES)}
    return sorted(issues, key=lambda issue: order[issue["severity"]])


def _duplicate_issues(duplicates: dict[str, Any], add: Any) -> None:
    if duplicates["rows"]:
        add(
            "warning",
            "duplicates",
            None,
            f"{duplicates['rows']:,} duplicate rows",
            f"{duplicates['rows']:,} rows ({duplicates['share']:.1%}) are exact copies of another row. "
            "Ask the client whether these are real repeats or an export error; copies inflate "
            "cross-validated scores.",
        )
    ids = ", ".join(duplicates["id_columns"])
    if duplicates.get("repeated_ids"):
        add(
            "warning",
            "duplicates",
            ids,
            f"{duplicates['repeated_ids']:,} repeated IDs",
            f"{duplicates['repeated_ids']:,} values of the ID ({ids}) occur more than once "
            f"({duplicates['rows_with_repeated_id']:,} rows). One row per ID is usually expected; if an ID "
            "can repeat, rows of the same ID must stay in the same validation fold.",
        )
    if duplicates.get("rows_ignoring_ids", 0) > duplicates["rows"]:
        add(
            "info",
            "duplicates",
            None,
            f"{duplicates['rows_ignoring_ids']:,} rows repeat apart from their ID",
            f"{duplicates['rows_ignoring_ids']:,} rows are identical to another row in everything but the "
            f"ID ({ids}).",
        )


def _target_issues(distribution: dict[str, Any], config: Config, add: Any) -> None:
    target = config.data.target
    if distribution["missing"]:
        add(
            "warning",
            "target",
            target,
            f"{distribution['missing']:,} rows without a target",
            f"{distribution['missing']:,} rows have no value in '{target}'; they cannot be used for training "
            "and are dropped. Ask the client why the outcome is unknown for them.",
        )
    if distribution["type"] == "numeric":
        if distribution["not_numeric"]:
            add(
                "warning",
                "target",
                target,
                "target is not numeric",
                f"{distribution['not_numeric']:,} values of '{target}' are not numbers, but the problem "
                "type is regression. Fix the values, or choose binary or multiclass for labels.",
            )
        if distribution.get("skewed"):
            side = "large" if distribution["skew"] > 0 else "small"
            add(
                "info",
                "target",
                target,
                "target is skewed",
                f"'{target}' is skewed (skewness {distribution['skew']:.1f}): a few very {side} values. "
                "Errors on them weigh heavily in the scores; compare the median error as well.",
            )
        return
    classes = distribution.get("classes", 0)
    if config.problem_type == "binary" and classes != 2:
        add(
            "warning",
            "target",
            target,
            f"{classes} classes for a binary problem",
            f"'{target}' has {classes} distinct values, but the problem type is binary (two classes). "
            "Set problem_type in configs/project.yaml, or fix the labels.",
        )
    if config.problem_type == "multiclass" and classes < 3:
        add(
            "info",
            "target",
            target,
            f"only {classes} classes",
            f"'{target}' has only {classes} classes; problem_type binary would describe it better.",
        )
    if distribution.get("imbalanced"):
        add(
            "warning",
            "target",
            target,
            "imbalanced target",
            f"Only {distribution['minority_share']:.1%} of rows are '{distribution['minority']}' "
            f"(the majority class '{distribution['majority']}' is "
            f"{distribution['imbalance_ratio']:.0f} times as common). "
            "Accuracy would mislead; the model is judged on metrics that weigh every class.",
        )
    rare = [label for label, count in distribution["counts"].items() if count < 2 * config.model.cv_folds]
    if rare:
        add(
            "warning",
            "target",
            target,
            f"{len(rare)} very rare classes",
            f"Class(es) {', '.join(map(repr, rare[:5]))} have fewer than {2 * config.model.cv_folds} rows: "
            "too few to learn or to validate. Merge them with a related class or collect more examples.",
        )


def _time_issues(coverage: dict[str, Any], config: Config, add: Any) -> None:
    name = coverage["column"]
    if coverage["unparseable"] and (coverage["configured"] or coverage["unparseable_share"] > 0.05):
        add(
            "warning" if coverage["configured"] else "info",
            "time",
            name,
            f"{coverage['unparseable']:,} values are not dates",
            f"{coverage['unparseable']:,} values ({coverage['unparseable_share']:.1%}) of '{name}' are not "
            "readable as dates; those rows cannot be placed in time.",
        )
    if "min" not in coverage:
        return
    period = f"{coverage['min'][:10]} to {coverage['max'][:10]}"
    if coverage["configured"]:
        add(
            "info",
            "time",
            name,
            f"covers {period}",
            f"The data covers {period} ({coverage['span_days']:,.0f} days) by '{name}'; validation trains on "
            "the past and tests on later periods.",
        )
    elif not config.data.time_column:
        add(
            "info",
            "time",
            name,
            f"holds dates ({period})",
            f"'{name}' holds dates ({period}). If the model will score future rows, set "
            f"data.time_column: {name} in configs/project.yaml so that validation respects time order.",
        )
    if coverage["empty_months"]:
        months = coverage["empty_months"]
        listed = ", ".join(months[:4]) + (" …" if len(months) > 4 else "")
        add(
            "info" if not coverage["configured"] else "warning",
            "time",
            name,
            f"{len(months)} months without rows",
            f"'{name}' has no rows in {len(months)} month(s) inside its range ({listed}). Ask the client "
            "whether data is missing for that period.",
        )


def exclusions(findings: dict[str, Any]) -> dict[str, str]:
    """Columns to leave out of the features, with the reasons in plain words: leakage suspects, personal
    data, identifier-like and constant columns. Configured target/ID/time columns have their own roles."""
    roles = {profile["name"]: profile["role"] for profile in findings["columns"]}
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


def column_table(findings: dict[str, Any], contract: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per column: role, kind, dtype, missing share, distinct values and what the audit found.
    With a contract, its roles are shown (free text, dropped columns); otherwise the audit's own."""
    excluded = exclusions(findings)
    notes = _column_notes(findings)
    in_contract = contract_mod.columns_by_name(contract) if contract else {}
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


def _column_notes(findings: dict[str, Any]) -> dict[str, list[str]]:
    notes: dict[str, list[str]] = {}
    for issue in findings["issues"]:
        if issue["column"] in {profile["name"] for profile in findings["columns"]}:
            notes.setdefault(issue["column"], []).append(issue["summary"])
    return notes


# ----------------------------------------------------------------------------------------------------------
# Figures (matplotlib Figures; the notebook shows them, the report embeds them)


def _plot_columns(frame: pd.DataFrame, findings: dict[str, Any], kind: str) -> list[str]:
    """Feature columns of one kind that are worth plotting (not excluded by the audit)."""
    excluded = exclusions(findings)
    return [
        p["name"]
        for p in findings["columns"]
        if p["role"] == "feature" and p["kind"] == kind and p["name"] not in excluded and p["name"] in frame
    ]


def missing_values_figure(findings: dict[str, Any], top: int = 25) -> Any:
    """Share of missing values per column (columns without gaps left out); None when nothing is missing."""
    rows = sorted((p for p in findings["columns"] if p["missing"]), key=lambda p: -p["missing_share"])[:top]
    if not rows:
        return None
    with plots.style():
        figure, ax = plots.new_figure(WIDE, 0.9 + 0.3 * len(rows))
        names = [plots.short_label(p["name"], 32) for p in rows][::-1]
        shares = [p["missing_share"] for p in rows][::-1]
        colors = [plots.WARNING if share >= MOSTLY_MISSING_SHARE else plots.ACCENT for share in shares]
        bars = ax.barh(names, shares, color=colors)
        ax.bar_label(bars, labels=[f"{share:.1%}" for share in shares], padding=3, fontsize=8)
        ax.set_xlim(0, min(1.0, max(shares) * 1.2 + 0.02))
        plots.percent_axis(ax, "x")
        ax.grid(axis="y", visible=False)
        plots.label(ax, "Missing values per column", "share of rows with no value")
    return figure


def target_figure(frame: pd.DataFrame, findings: dict[str, Any]) -> Any:
    """Rows per class (classification) or the distribution of the target (regression)."""
    target = findings["target"]
    distribution = findings["target_distribution"]
    with plots.style():
        if distribution["type"] == "classes":
            counts = list(distribution["counts"].items())[:20][::-1]
            figure, ax = plots.new_figure(WIDE, 0.9 + 0.32 * max(len(counts), 2))
            total = sum(distribution["counts"].values())
            bars = ax.barh([plots.short_label(label) for label, _ in counts], [count for _, count in counts])
            ax.bar_label(
                bars,
                labels=[f"{count:,} ({count / total:.1%})" for _, count in counts],
                padding=3,
                fontsize=8,
            )
            ax.set_xlim(0, max(count for _, count in counts) * 1.25)
            for bar in bars:
                bar.set_color(plots.ACCENT)
            ax.grid(axis="y", visible=False)
            plots.thousands_axis(ax, "x")
            plots.label(ax, f"Target '{target}': rows per class", "rows")
        else:
            values = pd.to_numeric(frame[target], errors="coerce").dropna()
            figure, ax = plots.new_figure(WIDE, 3.0)
            ax.hist(values, bins=40, color=plots.ACCENT)
            if len(values):
                ax.axvline(values.median(), color=plots.WARNING, linestyle="--", linewidth=1.2)
                ax.annotate(
                    f" median {h.format_value(float(values.median()))}",
                    xy=(values.median(), 1),
                    xycoords=("data", "axes fraction"),
                    va="top",
                    fontsize=8,
                    color=plots.WARNING,
                )
            plots.thousands_axis(ax, "y")
            plots.thousands_axis(ax, "x")
            plots.label(ax, f"Target '{target}': distribution", target, "rows")
    return figure


def leakage_figure(findings: dict[str, Any], top: int = 15) -> Any:
    """Each column's score when it alone predicts the target; suspects above the threshold in red."""
    leakage = findings["leakage"]
    rows = leakage["scores"][:top][::-1]
    if not rows:
        return None
    with plots.style():
        figure, ax = plots.new_figure(WIDE, 1.1 + 0.3 * len(rows))
        scores = [row["score"] for row in rows]
        colors = [
            plots.WARNING if row["column"] in leakage["suspects"] else plots.ACCENT_LIGHT for row in rows
        ]
        bars = ax.barh([plots.short_label(row["column"], 32) for row in rows], scores, color=colors)
        ax.bar_label(bars, labels=[f"{score:.2f}" for score in scores], padding=3, fontsize=8)
        chance = leakage["chance"] or 0.0
        lowest = min(min(scores), chance)
        left = lowest - (0.15 if lowest < chance else 0.05)  # room for the label of a bar below chance
        ax.set_xlim(max(left, -1.0), 1.08)
        ax.axvline(leakage["threshold"], color=plots.WARNING, linestyle="--", linewidth=1)
        ax.axvline(chance, color=plots.MUTED, linestyle=":", linewidth=1)
        for x, text, color in (
            (leakage["threshold"], "suspect", plots.WARNING),
            (chance, "average" if leakage["metric"] == "r2" else "chance", plots.MUTED),
        ):
            ax.text(
                x, 1.0, f" {text}", transform=ax.get_xaxis_transform(), color=color, fontsize=8, va="bottom"
            )
        ax.grid(axis="y", visible=False)
        plots.label(
            ax,
            "How well each column alone predicts the target",
            f"{leakage['metric_label']} (cross-validated)",
            pad=16,  # room for the line labels above the axes
        )
    return figure


def numeric_histograms_figure(frame: pd.DataFrame, findings: dict[str, Any], limit: int = 12) -> Any:
    """Small multiples: the distribution of each numeric feature (at most `limit`); None if there are none."""
    names = _plot_columns(frame, findings, "numeric")[:limit]
    if not names:
        return None
    ncols = min(4, len(names))
    nrows = math.ceil(len(names) / ncols)
    with plots.style():
        figure, axes = plots.new_figure(2.6 * ncols + 0.4, 2.0 * nrows + 0.5, nrows, ncols)
        for ax, name in zip(axes.flat, names, strict=False):
            values = frame[name].dropna().astype("float64")
            ax.hist(values, bins=_histogram_bins(values), color=plots.ACCENT)
            ax.set_title(plots.short_label(name, 28), fontsize=9)
            ax.tick_params(labelsize=7)
            plots.thousands_axis(ax, "y")
        for ax in list(axes.flat)[len(names) :]:
            ax.set_visible(False)
        for row in range(nrows):
            axes[row, 0].set_ylabel("rows")
        figure.suptitle(
            "Numeric features: distribution of values", x=0.01, ha="left", fontweight="bold", fontsize=10
        )
    return figure


def _histogram_bins(values: pd.Series) -> Any:
    """One bar per value for small whole-number counts (bedrooms, tickets), else 30 equal bins."""
    if len(values) and np.all(np.mod(values, 1) == 0) and values.max() - values.min() <= 40:
        return np.arange(values.min() - 0.5, values.max() + 1.5)
    return 30


def top_categories_figure(frame: pd.DataFrame, findings: dict[str, Any], limit: int = 9, top: int = 8) -> Any:
    """Small multiples: the most frequent values of each categorical feature; None when there are none."""
    names = _plot_columns(frame, findings, "categorical")[:limit]
    if not names:
        return None
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    with plots.style():
        figure, axes = plots.new_figure(3.4 * ncols + 0.4, (0.5 + 0.22 * top) * nrows + 0.5, nrows, ncols)
        for ax, name in zip(axes.flat, names, strict=False):
            shares = (
                frame[name].astype("string").fillna("(missing)").value_counts(normalize=True).head(top)[::-1]
            )
            ax.barh(
                [plots.short_label(value, 18) for value in shares.index],
                shares.to_numpy(),
                color=plots.ACCENT,
            )
            ax.set_title(plots.short_label(name, 30), fontsize=9)
            ax.set_xlim(0, min(1.0, float(shares.max()) * 1.15))
            ax.tick_params(labelsize=7)
            ax.grid(axis="y", visible=False)
            plots.percent_axis(ax, "x")
        for ax in list(axes.flat)[len(names) :]:
            ax.set_visible(False)
        figure.suptitle(
            f"Categorical features: the {top} most frequent values (share of rows)",
            x=0.01,
            ha="left",
            fontweight="bold",
            fontsize=10,
        )
    return figure


def rows_over_time_figure(findings: dict[str, Any]) -> Any:
    """Rows per month of the time column (or the first date column); None when the data has no dates."""
    coverage = next((item for item in findings["time_coverage"] if item.get("rows_per_month")), None)
    if coverage is None:
        return None
    months = list(coverage["rows_per_month"].items())
    with plots.style():
        figure, ax = plots.new_figure(WIDE, 2.8)
        positions = np.arange(len(months))
        counts = [count for _, count in months]
        ax.bar(
            positions,
            counts,
            color=[plots.ACCENT if count else plots.WARNING for count in counts],
            width=0.85,
        )
        step_ = max(1, math.ceil(len(months) / 12))
        ax.set_xticks(positions[::step_], [label for label, _ in months][::step_], rotation=45, ha="right")
        ax.grid(axis="x", visible=False)
        plots.thousands_axis(ax, "y")
        plots.label(ax, f"Rows per month, by '{coverage['column']}'", "month", "rows")
    return figure


# ----------------------------------------------------------------------------------------------------------
# Writing: the report, the findings as JSON, the data contract and the data dictionary


def run_audit(config: Config) -> dict[str, Any]:
    """Audit the configured data and write reports/audit/audit.{html,json}, configs/schema.json and
    docs/data_dictionary.md. Everything is computed before anything is written, and each file is replaced
    atomically, so a failure leaves the previous outputs as they were. Returns the summary (audit.json)."""
    started = time.perf_counter()
    with step(f"loading {config.data_path}"):
        frame = load(config)
        data_sha256 = file_sha256(config.data_path)
    say(f"  {len(frame):,} rows, {frame.shape[1]} columns")
    previous = contract_mod.load_contract(config.schema_path)
    findings = detect(frame, config)
    excluded = exclusions(findings)
    contract = contract_mod.infer_contract(frame, config, excluded, previous=previous)
    outputs = {
        "html": config.audit_dir / "audit.html",
        "json": config.audit_dir / "audit.json",
        "schema": config.schema_path,
        "data_dictionary": config.docs_dir / "data_dictionary.md",
    }
    summary = _json_ready(
        {
            "audit_version": AUDIT_VERSION,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "project": config.project_name,
            "data": {
                "path": config.data.path,
                "sha256": data_sha256,
                "rows": len(frame),
                "columns": frame.shape[1],
            },
            "verdict": verdict(findings),
            "exclusions": excluded,
            "features": contract_mod.features(contract),
            "schema_hash": contract_mod.schema_hash(contract),
            "findings": findings,
            "outputs": {key: _relative(path, config.root) for key, path in outputs.items()},
        }
    )
    with step("drawing the report"):
        report = build_report(frame, config, summary, contract)
    dictionary = data_dictionary(summary, contract)
    summary["duration_seconds"] = round(time.perf_counter() - started, 2)
    _write_atomic(outputs["html"], report)
    _write_atomic(outputs["schema"], json.dumps(contract, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(outputs["data_dictionary"], dictionary)
    _write_atomic(outputs["json"], json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    _say_verdict(summary)
    return summary


def _say_verdict(summary: dict[str, Any]) -> None:
    say(f"audit: {summary['verdict']['message']}")
    for issue in summary["findings"]["issues"]:
        if issue["severity"] == "warning":
            say(f"  - {issue['column'] + ': ' if issue['column'] else ''}{issue['summary']}")
    say(f"  {len(summary['features'])} feature columns, {len(summary['exclusions'])} left out by the audit")


def build_report(
    frame: pd.DataFrame, config: Config, summary: dict[str, Any], contract: dict[str, Any]
) -> str:
    """The audit as one self-contained HTML page for the client."""
    findings = summary["findings"]
    sections = [
        _verdict_section(summary),
        _overview_section(config, summary, contract),
        _target_section(frame, findings),
        _leakage_section(findings),
        _figure_section("Missing values", missing_values_figure(findings), "No column has missing values."),
        _figure_section(
            "Numeric features", numeric_histograms_figure(frame, findings), "No numeric features."
        ),
        _figure_section(
            "Categorical features", top_categories_figure(frame, findings), "No categorical features."
        ),
        _time_section(findings),
        h.section("Columns", h.table(column_table(findings, contract)), anchor="columns"),
    ]
    subtitle = (
        f"{config.client + ' · ' if config.client else ''}{Path(config.data.path).name} · "
        f"{summary['data']['rows']:,} rows × {summary['data']['columns']} columns · "
        f"{summary['generated_at'][:10]}"
    )
    footer = (
        f"Generated by the `audit` command on {summary['generated_at']} from {config.data.path} "
        f"(sha256 {summary['data']['sha256'][:12]}…). The data contract is configs/schema.json; the data "
        "dictionary is docs/data_dictionary.md."
    )
    return h.page(f"Data audit: {config.project_name}", subtitle, [s for s in sections if s], footer)


def _verdict_section(summary: dict[str, Any]) -> str:
    findings = summary["findings"]
    verdict_ = summary["verdict"]
    warnings_ = [issue["message"] for issue in findings["issues"] if issue["severity"] == "warning"]
    infos = [issue["message"] for issue in findings["issues"] if issue["severity"] == "info"]
    body = [h.callout(verdict_["message"], verdict_["level"], headline=True)]
    body.append(
        h.paragraph(
            "The audit checks the data before any model is built: missing values, duplicates, constant and "
            "identifier-like columns, the balance of the target, leakage (a column that gives the answer "
            "away), time coverage and personal data. Columns flagged below are left out of the model "
            "automatically; each one is worth confirming with the data owner."
        )
    )
    if warnings_:
        body += [h.paragraph("Needs attention:"), h.bullets([("warning", text) for text in warnings_])]
    if infos:
        body += [h.paragraph("Good to know:"), h.bullets([("info", text) for text in infos])]
    return h.section("Verdict", "\n".join(body), anchor="verdict")


def _overview_section(config: Config, summary: dict[str, Any], contract: dict[str, Any]) -> str:
    findings = summary["findings"]
    dataset = findings["dataset"]
    roles = pd.Series([column["role"] for column in contract["columns"]]).value_counts()
    facts = {
        "Data file": config.data.path,
        "Rows": dataset["rows"],
        "Columns": dataset["columns"],
        "Problem": {"binary": "binary classification", "multiclass": "multiclass classification"}.get(
            config.problem_type, "regression"
        ),
        "Target": config.data.target,
        "Feature columns": int(roles.get("feature", 0)),
        "Left out of the model": int(roles.get("excluded", 0)),
        "ID columns": ", ".join(config.data.id_columns) or "none",
        "Time column": config.data.time_column or "none",
        "Missing cells": f"{dataset['missing_share']:.1%}",
        "Duplicate rows": findings["duplicates"]["rows"],
    }
    coverage = next((item for item in findings["time_coverage"] if "min" in item), None)
    if coverage:
        facts[f"Dates ({coverage['column']})"] = f"{coverage['min'][:10]} to {coverage['max'][:10]}"
    return h.section("The data", h.facts(facts), anchor="data")


def _target_section(frame: pd.DataFrame, findings: dict[str, Any]) -> str:
    distribution = findings["target_distribution"]
    body = [_image(target_figure(frame, findings), "target distribution")]
    if distribution["type"] == "classes" and distribution.get("classes"):
        body.append(
            h.paragraph(
                f"{distribution['classes']} classes; the rarest, '{distribution['minority']}', is "
                f"{distribution['minority_share']:.1%} of rows."
            )
        )
    elif distribution.get("count"):
        stats = {key: distribution[key] for key in ("min", "p25", "median", "p75", "max", "mean", "skew")}
        body.append(h.table([stats]))
    return h.section(f"Target: {findings['target']}", "\n".join(body), anchor="target")


def _leakage_section(findings: dict[str, Any]) -> str:
    leakage = findings["leakage"]
    if leakage["skipped"]:
        return h.section("Leakage scan", h.paragraph(f"Skipped: {leakage['skipped']}."), anchor="leakage")
    text = (
        f"Each column was used alone to predict the target ({leakage['rows_scanned']:,} rows, "
        f"{LEAKAGE_FOLDS}-fold cross-validation, {leakage['metric_label']}). A real-world feature rarely "
        f"does this well on its own: a score of {leakage['threshold']:.2f} or more marks a leakage suspect, "
        "usually a value recorded after the outcome."
    )
    suspects = leakage["suspects"]
    verdict_ = (
        h.callout(f"Leakage suspects: {', '.join(suspects)}", "warning")
        if suspects
        else h.callout("No column predicts the target suspiciously well on its own.", "ok")
    )
    body = [h.paragraph(text), verdict_, _image(leakage_figure(findings), "single-column scores")]
    return h.section("Leakage scan", "\n".join(body), anchor="leakage")


def _time_section(findings: dict[str, Any]) -> str:
    figure = rows_over_time_figure(findings)
    if figure is None:
        return ""
    rows = [
        {
            "column": item["column"],
            "time column": item["configured"],
            "from": item.get("min", "")[:10],
            "to": item.get("max", "")[:10],
            "days": item.get("span_days"),
            "largest gap (days)": item.get("largest_gap_days"),
            "months without rows": len(item.get("empty_months", [])),
            "not dates": item["unparseable"],
        }
        for item in findings["time_coverage"]
    ]
    return h.section("Over time", _image(figure, "rows per month") + "\n" + h.table(rows), anchor="time")


def _figure_section(title: str, figure: Any, empty: str) -> str:
    body = _image(figure, title) if figure is not None else h.paragraph(empty, note=True)
    return h.section(title, body, anchor=_snake_case(title))


def _image(figure: Any, alt: str) -> str:
    return h.image(plots.png_bytes(figure), alt) if figure is not None else ""


def data_dictionary(summary: dict[str, Any], contract: dict[str, Any]) -> str:
    """docs/data_dictionary.md: one row per column, from the data contract and the audit's findings."""
    notes = _column_notes(summary["findings"])
    profiles = {profile["name"]: profile for profile in summary["findings"]["columns"]}
    lines = [
        "# Data dictionary",
        "",
        f"Data: `{summary['data']['path']}`: {summary['data']['rows']:,} rows, "
        f"{summary['data']['columns']} columns (audited {summary['generated_at'][:10]}, "
        f"sha256 `{summary['data']['sha256'][:12]}`).",
        "",
        "Written by `audit` from the data contract (`configs/schema.json`) and the audit's findings "
        "(`reports/audit/audit.html`). To describe a column, fill in its `description` in "
        "`configs/schema.json`; descriptions are kept when the audit runs again.",
        "",
        "| column | role | kind | dtype | missing | values | notes | description |",
        "| --- | --- | --- | --- | ---: | --- | --- | --- |",
    ]
    for column in contract["columns"]:
        name = column["name"]
        profile = profiles.get(name, {})
        reason = column.get("reason", "")
        note = "; ".join(
            [reason] * bool(reason) + [part for part in notes.get(name, []) if part not in reason]
        )
        cells = [
            f"`{name}`",
            column["role"],
            column["kind"],
            column["dtype"],
            f"{100 * profile.get('missing_share', 0):.1f} %",
            _values_cell(column),
            note,
            column.get("description", ""),
        ]
        lines.append("| " + " | ".join(_md_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _values_cell(column: dict[str, Any], limit: int = 8) -> str:
    if "categories" in column:
        categories = column["categories"]
        shown = ", ".join(categories[:limit])
        return shown + (f", … ({len(categories)} in all)" if len(categories) > limit else "")
    if "min" in column and "max" in column:
        low, high = column["min"], column["max"]
        if column["kind"] == "datetime":
            return f"{str(low)[:10]} – {str(high)[:10]}"
        return f"{h.format_value(low)} – {h.format_value(high)}"
    return ""


def _md_cell(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


# ----------------------------------------------------------------------------------------------------------
# Small helpers


def _write_atomic(path: Path, content: str | bytes) -> None:
    """Write beside `path`, then rename over it: a reader never sees half a file and a failure keeps the
    previous version. The file gets the usual permissions (the temporary file starts private)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_name, 0o666 & ~umask)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _snake_case(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def _short(value: Any, limit: int = 40) -> Any:
    """A value as JSON-ready data, with long text cut."""
    value = _json_ready(value)
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _json_ready(value: Any) -> Any:
    """Plain Python types for JSON: numpy scalars to numbers, NaN to None, timestamps to ISO text."""
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return value
