"""`audit`, phase 1 of the engagement: what is in the data, and what must be settled before modelling.

The checks: missing values, duplicate rows and IDs, constant and ID-like columns, the target's balance,
leakage suspects (a single column that predicts the target almost perfectly), time coverage, and columns
that look like personal data. `detect` computes the findings (pure, no files); `exclusions` turns them into
the columns the data contract leaves out of the features; `run_audit` writes the report, the findings as
JSON, the data contract and the data dictionary. How the findings are shown (figures, HTML, Markdown) is
in `audit_report`; the notebook calls the same functions.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import artifacts
from . import contract as contract_mod
from .config import Config
from .data import check_configured_columns, file_sha256, load_table, to_datetime
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
# Checks whose findings take a column out of the features, in the order their reasons are listed.
EXCLUDING_CHECKS = ("leakage", "personal_data", "id_like", "constant")
METRICS = {
    "binary": ("roc_auc", "ROC AUC", 0.5),
    "multiclass": ("balanced_accuracy", "balanced accuracy", None),  # chance level: 1 / number of classes
    "regression": ("r2", "R²", 0.0),
}

# Column names that suggest personal data, checked in this order on the snake_case name. Groups are
# non-capturing throughout, so that a pattern can also be handed to pandas' `str.contains` without a warning.
_PII_NAMES = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("email addresses", r"(?:^|_)e_?mails?(?:_|$)|(?:^|_)email"),
        ("IP addresses", r"(?:^|_)ip(?:_?addr(?:ess)?)?(?:_|$)"),
        (
            "phone numbers",
            r"(?:^|_)(?:tele)?phone|(?:^|_)(?:tel|fax|msisdn)(?:_|$)"
            r"|(?:^|_)(?:mobile|cell)(?:_?(?:no|nr|number|phone))?$",
        ),
        (
            "person names",
            r"(?:^|_)(?:first|last|full|given|family|middle|maiden|sur|fore)_?name(?:_|$)|^name$"
            r"|^(?:customer|contact|client|person|user|patient|employee|holder|owner)_?name$",
        ),
        (
            "postal addresses",
            r"address|(?:^|_)street|(?:^|_)addr(?:_|$)|(?:^|_)house_?(?:number|no|nr)(?:_|$)",
        ),
        ("postcodes", r"(?:^|_)(?:zip|zipcode|zip_code|post_?code|postal(?:_?code)?)(?:_|$)"),
        (
            "national ID numbers",
            r"(?:^|_)(?:ssn|social_security(?:_number)?|national_id|national_insurance(?:_number)?"
            r"|nino|tax_id|bsn)(?:_|$)",
        ),
        ("passport or licence numbers", r"passport|driv(?:er|ing)_?licen[cs]e"),
        ("dates of birth", r"birth|(?:^|_)dob(?:_|$)|(?:^|_)born(?:_|$)"),
        (
            "bank or card numbers",
            r"(?:^|_)iban(?:_|$)|bank_?account|account_?(?:number|no)|credit_?card|card_?number",
        ),
    )
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"^(?:\+|00)?[\d\s().\-/]{7,22}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_IPV4 = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$")
_DATE_VALUE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_ID_NAME = re.compile(r"(?:^|_)(?:id|uuid|guid|key|nr|number|ref)$")

Issue = dict[str, Any]


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
        "kept_columns": list(config.data.keep_columns),
    }
    constant = {item["column"] for item in findings["constant_columns"]}
    candidates = {
        p["name"]: p["kind"] for p in profiles if p["role"] == "feature" and p["name"] not in constant
    }
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
                "kind": contract_mod.infer_kind(series, config.data.max_categories),
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
    found = []
    for profile in profiles:
        if profile["role"] not in ("feature", "dropped") or profile["kind"] == "datetime":
            continue
        values = frame[profile["name"]].dropna()
        if len(values) < MIN_ROWS_FOR_RATIOS:
            continue
        reason = _id_like_reason(profile, values, config.audit.id_unique_ratio)
        if reason:
            found.append(
                {"column": profile["name"], "distinct_ratio": profile["distinct_ratio"], "reason": reason}
            )
    return found


def _id_like_reason(profile: dict[str, Any], values: pd.Series, threshold: float) -> str:
    """Why a column looks like an identifier: its name and many distinct values, or nearly all values
    distinct and shaped like codes; empty when it does not."""
    ratio = profile["distinct_ratio"]
    if _ID_NAME.search(_snake_case(profile["name"])) and ratio >= 0.5:
        return f"named like an identifier, {ratio:.0%} distinct values"
    if ratio >= threshold and _is_code_like(values):
        return f"{ratio:.0%} distinct values"
    return ""


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
    return next((kind for kind, pattern in _PII_NAMES if pattern.search(snake)), None)


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
    if config.is_classification:
        return _class_balance(target)
    return _numeric_summary(target)


def _class_balance(target: pd.Series) -> dict[str, Any]:
    """Rows per class (labels as text, most common first), and whether the rarest class is too rare."""
    counts = target.dropna().astype(str).value_counts()
    result: dict[str, Any] = {
        "type": "classes",
        "missing": int(target.isna().sum()),
        "counts": counts.to_dict(),
    }
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


def _numeric_summary(target: pd.Series) -> dict[str, Any]:
    """Quantiles and skewness of a regression target; values that are not numbers are counted."""
    missing = int(target.isna().sum())
    numbers = pd.to_numeric(target, errors="coerce")
    values = numbers.dropna()
    result: dict[str, Any] = {
        "type": "numeric",
        "missing": missing,
        "not_numeric": int(numbers.isna().sum()) - missing,
        "count": len(values),
    }
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
    """The period one date column spans, its rows per month (empty months included) and its largest gap;
    values that are not dates are counted, not fatal."""
    parsed = _dates(series)
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
    result.update(
        min=dates.min().isoformat(),
        max=dates.max().isoformat(),
        span_days=(dates.max() - dates.min()).total_seconds() / 86_400,
        rows_per_month={str(period): int(count) for period, count in months.items()},
        empty_months=[str(period) for period, count in months.items() if count == 0],
    )
    result.update(_largest_gap(dates))
    return result


def _largest_gap(dates: pd.Series) -> dict[str, Any]:
    """The longest stretch between two consecutive distinct dates (nothing when there is one date)."""
    unique = pd.Series(np.sort(dates.unique()))
    if len(unique) < 2:
        return {}
    gaps = unique.diff().dt.total_seconds() / 86_400
    at = int(gaps.idxmax())
    return {
        "largest_gap_days": float(gaps.iloc[at]),
        "largest_gap_from": unique.iloc[at - 1].isoformat(),
        "largest_gap_to": unique.iloc[at].isoformat(),
    }


def _dates(series: pd.Series) -> pd.Series:
    """The shared date parser's result without time zones (converted to UTC), so that the dates of one
    column compare with each other and with plain timestamps; NaT where a value is not a date."""
    parsed = to_datetime(series)
    return parsed.dt.tz_convert(None) if parsed.dt.tz is not None else parsed


def _leakage_scan(frame: pd.DataFrame, candidates: dict[str, str], config: Config) -> dict[str, Any]:
    """Score each candidate column (name → kind) alone with a small decision tree, cross-validated. A column
    that alone predicts the target almost perfectly is usually recorded after the outcome (a leak), or a
    proxy of it."""
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
    if reason or not candidates:
        result["skipped"] = reason or "no candidate feature columns"
        return result
    if config.problem_type == "multiclass":
        result["chance"] = 1 / target.nunique()
    result["rows_scanned"] = len(rows)
    with step(
        f"leakage scan: each of {len(candidates)} columns alone, "
        f"{LEAKAGE_FOLDS}-fold CV on {len(rows):,} rows"
    ):
        scores = {
            name: _single_column_score(_single_column_matrix(rows[name], kind), target, config)
            for name, kind in candidates.items()
        }
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
    return _leakage_labels(rows, target.astype(str), binary=config.problem_type == "binary")


def _leakage_labels(
    rows: pd.DataFrame, labels: pd.Series, binary: bool
) -> tuple[pd.DataFrame, pd.Series, str]:
    """Classification rows whose class has a row in every fold, labels 0/1 for a binary target, or a
    reason to skip the scan."""
    counts = labels.value_counts()
    kept = labels.isin(counts.index[counts >= LEAKAGE_FOLDS])  # each fold needs every class
    rows, labels = rows.loc[kept], labels.loc[kept]
    if labels.nunique() < 2:
        return rows, labels, f"fewer than two classes with at least {LEAKAGE_FOLDS} rows"
    if binary:
        if labels.nunique() != 2:
            return rows, labels, f"the target has {labels.nunique()} classes, not two"
        labels = (labels == sorted(labels.unique())[1]).astype(int)
    return rows, labels, ""


def _single_column_score(matrix: np.ndarray, target: pd.Series, config: Config) -> float:
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    leaf = max(3, len(matrix) // 500)
    if config.is_classification:
        model = DecisionTreeClassifier(max_leaf_nodes=64, min_samples_leaf=leaf, random_state=0)
        folds = StratifiedKFold(LEAKAGE_FOLDS, shuffle=True, random_state=0)
    else:
        model = DecisionTreeRegressor(max_leaf_nodes=64, min_samples_leaf=leaf, random_state=0)
        folds = KFold(LEAKAGE_FOLDS, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(model, matrix, target, cv=folds, scoring=METRICS[config.problem_type][0])
    score = float(np.nanmean(scores)) if not np.all(np.isnan(scores)) else float("nan")
    return score if math.isfinite(score) else 0.0


def _single_column_matrix(series: pd.Series, kind: str) -> np.ndarray:
    """One column as model input: numbers (dates as days) with missing values set to a sentinel below the
    range plus a missing indicator; anything else as category codes, with missing as a level of its own."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        numbers = series.astype("float64")
    elif kind == "datetime":
        numbers = (_dates(series) - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86_400
    else:
        codes, _ = pd.factorize(series.astype("string"), sort=True, use_na_sentinel=True)
        return codes.astype("float64").reshape(-1, 1)  # missing → -1, its own level
    missing = numbers.isna()
    low = numbers.min() if missing.sum() < len(numbers) else 0.0
    filled = numbers.fillna(low - 1 - abs(low))
    return np.column_stack([filled.to_numpy(), missing.to_numpy(dtype="float64")])


# ----------------------------------------------------------------------------------------------------------
# Findings in plain words


def _issues(findings: dict[str, Any], config: Config) -> list[Issue]:
    """One entry per finding, with a short summary (used as the exclusion reason) and a message a client
    can read. Warnings need a decision before modelling; info is good to know."""
    issues = [
        *_leakage_issues(findings["leakage"], config.data.target),
        *_personal_data_issues(findings["personal_data"]),
        *_duplicate_issues(findings["duplicates"]),
        *_target_issues(findings["target_distribution"], config),
        *_id_like_issues(findings["id_like_columns"], findings["personal_data"]),
        *_constant_issues(findings["constant_columns"]),
    ]
    for coverage in findings["time_coverage"]:
        issues += _time_issues(coverage, config)
    left_out = {issue["column"] for issue in issues if issue["check"] in EXCLUDING_CHECKS}
    issues += _feature_issues(findings["columns"], left_out, config)
    issues += _skipped_scan_issues(findings["leakage"])
    order = {severity: index for index, severity in enumerate(SEVERITIES)}
    return sorted(issues, key=lambda issue: order[issue["severity"]])


def _issue(severity: str, check: str, column: str | None, summary: str, message: str) -> Issue:
    return {"severity": severity, "check": check, "column": column, "summary": summary, "message": message}


def _leakage_issues(leakage: dict[str, Any], target: str) -> list[Issue]:
    scores = {item["column"]: item["score"] for item in leakage["scores"]}
    issues = []
    for name in leakage["suspects"]:
        score = f"{leakage['metric_label']} {scores[name]:.2f}"
        issues.append(
            _issue(
                "warning",
                "leakage",
                name,
                f"leakage suspect: alone predicts the target with {score}",
                f"'{name}' alone predicts '{target}' almost perfectly ({score}). It is probably recorded "
                "after the outcome, or is a copy of it; it is left out of the model. Ask the client when "
                "this value is filled in.",
            )
        )
    return issues


def _personal_data_issues(personal_data: list[dict[str, Any]]) -> list[Issue]:
    issues = []
    for item in personal_data:
        found_by = " and ".join(
            part
            for part, hit in (
                ("its name", item["by_name"]),
                (f"{(item['value_share'] or 0):.0%} of sampled values", item["by_values"]),
            )
            if hit
        )
        issues.append(
            _issue(
                "warning",
                "personal_data",
                item["column"],
                f"personal data: {item['kind']}",
                f"'{item['column']}' looks like personal data ({item['kind']}, going by {found_by}). It is "
                "left out of the model; agree with the client whether it should be in the data at all.",
            )
        )
    return issues


def _duplicate_issues(duplicates: dict[str, Any]) -> list[Issue]:
    issues = []
    if duplicates["rows"]:
        issues.append(
            _issue(
                "warning",
                "duplicates",
                None,
                f"{duplicates['rows']:,} duplicate rows",
                f"{duplicates['rows']:,} rows ({duplicates['share']:.1%}) are exact copies of another row. "
                "Ask the client whether these are real repeats or an export error; copies inflate "
                "cross-validated scores.",
            )
        )
    ids = ", ".join(duplicates["id_columns"])
    if duplicates.get("repeated_ids"):
        issues.append(
            _issue(
                "warning",
                "duplicates",
                ids,
                f"{duplicates['repeated_ids']:,} repeated IDs",
                f"{duplicates['repeated_ids']:,} values of the ID ({ids}) occur more than once "
                f"({duplicates['rows_with_repeated_id']:,} rows). One row per ID is usually expected; if an "
                "ID can repeat, rows of the same ID must stay in the same validation fold.",
            )
        )
    if duplicates.get("rows_ignoring_ids", 0) > duplicates["rows"]:
        issues.append(
            _issue(
                "info",
                "duplicates",
                None,
                f"{duplicates['rows_ignoring_ids']:,} rows repeat apart from their ID",
                f"{duplicates['rows_ignoring_ids']:,} rows are identical to another row in everything but "
                f"the ID ({ids}).",
            )
        )
    return issues


def _target_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    target = config.data.target
    issues = []
    if distribution["missing"]:
        issues.append(
            _issue(
                "warning",
                "target",
                target,
                f"{distribution['missing']:,} rows without a target",
                f"{distribution['missing']:,} rows have no value in '{target}'; they cannot be used for "
                "training and are dropped. Ask the client why the outcome is unknown for them.",
            )
        )
    if distribution["type"] == "numeric":
        return issues + _numeric_target_issues(distribution, target)
    return issues + _class_issues(distribution, config)


def _numeric_target_issues(distribution: dict[str, Any], target: str) -> list[Issue]:
    issues = []
    if distribution["not_numeric"]:
        issues.append(
            _issue(
                "warning",
                "target",
                target,
                "target is not numeric",
                f"{distribution['not_numeric']:,} values of '{target}' are not numbers, but the problem "
                "type is regression. Fix the values, or choose binary or multiclass for labels.",
            )
        )
    if distribution.get("skewed"):
        side = "large" if distribution["skew"] > 0 else "small"
        issues.append(
            _issue(
                "info",
                "target",
                target,
                "target is skewed",
                f"'{target}' is skewed (skewness {distribution['skew']:.1f}): a few very {side} values. "
                "Errors on them weigh heavily in the scores; compare the median error as well.",
            )
        )
    return issues


def _class_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    target = config.data.target
    classes = distribution.get("classes", 0)
    issues = []
    if config.problem_type == "binary" and classes != 2:
        issues.append(
            _issue(
                "warning",
                "target",
                target,
                f"{classes} classes for a binary problem",
                f"'{target}' has {classes} distinct values, but the problem type is binary (two classes). "
                "Set problem_type in configs/project.yaml, or fix the labels.",
            )
        )
    if config.problem_type == "multiclass" and classes < 3:
        issues.append(
            _issue(
                "info",
                "target",
                target,
                f"only {classes} classes",
                f"'{target}' has only {classes} classes; problem_type binary would describe it better.",
            )
        )
    if distribution.get("imbalanced"):
        issues.append(
            _issue(
                "warning",
                "target",
                target,
                "imbalanced target",
                f"Only {distribution['minority_share']:.1%} of rows are '{distribution['minority']}' "
                f"(the majority class '{distribution['majority']}' is "
                f"{distribution['imbalance_ratio']:.0f} times as common). "
                "Accuracy would mislead; the model is judged on metrics that weigh every class.",
            )
        )
    return issues + _rare_class_issues(distribution, config)


def _rare_class_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    enough = 2 * config.model.cv_folds
    rare = [label for label, count in distribution["counts"].items() if count < enough]
    if not rare:
        return []
    return [
        _issue(
            "warning",
            "target",
            config.data.target,
            f"{len(rare)} very rare classes",
            f"Class(es) {', '.join(map(repr, rare[:5]))} have fewer than {enough} rows: too few to learn or "
            "to validate. Merge them with a related class or collect more examples.",
        )
    ]


def _id_like_issues(id_like: list[dict[str, Any]], personal_data: list[dict[str, Any]]) -> list[Issue]:
    personal = {item["column"] for item in personal_data}
    return [
        _issue(
            "warning",
            "id_like",
            item["column"],
            f"looks like an identifier ({item['reason']})",
            f"'{item['column']}' looks like an identifier ({item['reason']}): a model can memorise it but it "
            "tells nothing about new rows, so it is left out. If it is an ID, add it to data.id_columns.",
        )
        for item in id_like
        if item["column"] not in personal  # the personal-data finding already takes it out
    ]


def _constant_issues(constant_columns: list[dict[str, Any]]) -> list[Issue]:
    issues = []
    for item in constant_columns:
        empty = item["value"] is None
        issues.append(
            _issue(
                "warning",
                "constant",
                item["column"],
                "empty: no values" if empty else "constant: the same value in every row",
                f"'{item['column']}' "
                + ("is empty" if empty else f"holds the same value ({item['value']}) in every row")
                + ": it carries no information and is left out.",
            )
        )
    return issues


def _time_issues(coverage: dict[str, Any], config: Config) -> list[Issue]:
    name = coverage["column"]
    issues = []
    if coverage["unparseable"] and (coverage["configured"] or coverage["unparseable_share"] > 0.05):
        issues.append(
            _issue(
                "warning" if coverage["configured"] else "info",
                "time",
                name,
                f"{coverage['unparseable']:,} values are not dates",
                f"{coverage['unparseable']:,} values ({coverage['unparseable_share']:.1%}) of '{name}' are "
                "not readable as dates; those rows cannot be placed in time.",
            )
        )
    if "min" not in coverage:
        return issues
    return issues + _period_issues(coverage, config)


def _period_issues(coverage: dict[str, Any], config: Config) -> list[Issue]:
    """The period a date column covers, a hint to configure it as the time column, and empty months."""
    name = coverage["column"]
    period = f"{coverage['min'][:10]} to {coverage['max'][:10]}"
    issues = []
    if coverage["configured"]:
        issues.append(
            _issue(
                "info",
                "time",
                name,
                f"covers {period}",
                f"The data covers {period} ({coverage['span_days']:,.0f} days) by '{name}'; validation "
                "trains on the past and tests on later periods.",
            )
        )
    elif not config.data.time_column:
        issues.append(
            _issue(
                "info",
                "time",
                name,
                f"holds dates ({period})",
                f"'{name}' holds dates ({period}). If the model will score future rows, set "
                f"data.time_column: {name} in configs/project.yaml so that validation respects time order.",
            )
        )
    months = coverage["empty_months"]
    if months:
        listed = ", ".join(months[:4]) + (" …" if len(months) > 4 else "")
        issues.append(
            _issue(
                "info" if not coverage["configured"] else "warning",
                "time",
                name,
                f"{len(months)} months without rows",
                f"'{name}' has no rows in {len(months)} month(s) inside its range ({listed}). Ask the client "
                "whether data is missing for that period.",
            )
        )
    return issues


def _feature_issues(profiles: list[dict[str, Any]], left_out: set[str], config: Config) -> list[Issue]:
    """Free text and mostly-missing columns among the features that no other finding leaves out."""
    issues = []
    for profile in profiles:
        name = profile["name"]
        if profile["role"] != "feature" or name in left_out:
            continue
        if profile["kind"] == "text":
            issues.append(
                _issue(
                    "info",
                    "free_text",
                    name,
                    f"free text ({profile['distinct']:,} distinct values)",
                    f"'{name}' has {profile['distinct']:,} distinct text values (more than "
                    f"data.max_categories = {config.data.max_categories}), so it is treated as free text "
                    "and left out of the model. If it matters, group its values or derive features from it "
                    "in features.py.",
                )
            )
        elif MOSTLY_MISSING_SHARE <= profile["missing_share"] < 1:
            issues.append(
                _issue(
                    "info",
                    "missing",
                    name,
                    f"{profile['missing_share']:.0%} missing",
                    f"'{name}' is missing in {profile['missing_share']:.0%} of rows. The model fills the "
                    "gaps and marks them; ask the client whether 'missing' has a meaning here.",
                )
            )
    return issues


def _skipped_scan_issues(leakage: dict[str, Any]) -> list[Issue]:
    if not leakage["skipped"]:
        return []
    message = f"The leakage scan was skipped: {leakage['skipped']}."
    return [_issue("info", "leakage", None, "leakage scan skipped", message)]


# ----------------------------------------------------------------------------------------------------------
# The findings as decisions and tables


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


def column_table(findings: dict[str, Any], contract: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per column: role, kind, dtype, missing share, distinct values and what the audit found.
    With a contract, its roles are shown (free text, dropped columns); otherwise the audit's own."""
    excluded = exclusions(findings)
    notes = column_notes(findings)
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


def column_notes(findings: dict[str, Any]) -> dict[str, list[str]]:
    """Per column, the summaries of the findings about it, in the order of the findings."""
    names = {profile["name"] for profile in findings["columns"]}
    notes: dict[str, list[str]] = {}
    for issue in findings["issues"]:
        if issue["column"] in names:
            notes.setdefault(issue["column"], []).append(issue["summary"])
    return notes


# ----------------------------------------------------------------------------------------------------------
# The `audit` command: compute everything, then write the four outputs


def run_audit(config: Config) -> dict[str, Any]:
    """Audit the configured data and write reports/audit/audit.{html,json}, configs/schema.json and
    docs/data_dictionary.md. Everything is computed before anything is written, and each file is replaced
    atomically, so a failure leaves the previous outputs as they were. Returns the summary (audit.json)."""
    # Imported here because the report builds on this module's findings and tables.
    from .audit_report import build_report, data_dictionary

    started = time.perf_counter()
    with step(f"loading {config.data_path}"):
        frame = load(config)
        data_sha256 = file_sha256(config.data_path)
    say(f"  {len(frame):,} rows, {frame.shape[1]} columns")
    previous = contract_mod.load_contract(config.schema_path)
    findings = detect(frame, config)
    contract = contract_mod.infer_contract(frame, config, exclusions(findings), previous=previous)
    outputs = _outputs(config)
    summary = _summary(frame, config, findings, contract, data_sha256, outputs)
    with step("drawing the report"):
        report = build_report(frame, config, summary, contract)
    dictionary = data_dictionary(summary, contract)
    summary["duration_seconds"] = round(time.perf_counter() - started, 2)
    artifacts.write_atomic(outputs["html"], report)
    artifacts.write_json(outputs["schema"], contract)
    artifacts.write_atomic(outputs["data_dictionary"], dictionary)
    artifacts.write_json(outputs["json"], summary)
    _say_verdict(summary)
    return summary


def _outputs(config: Config) -> dict[str, Path]:
    return {
        "html": config.audit_dir / "audit.html",
        "json": config.audit_dir / "audit.json",
        "schema": config.schema_path,
        "data_dictionary": config.docs_dir / "data_dictionary.md",
    }


def _summary(
    frame: pd.DataFrame,
    config: Config,
    findings: dict[str, Any],
    contract: dict[str, Any],
    data_sha256: str,
    outputs: dict[str, Path],
) -> dict[str, Any]:
    """audit.json: the findings, the verdict, the exclusions and features, and what was audited when."""
    return _json_ready(
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
            "exclusions": exclusions(findings),
            "features": contract_mod.features(contract),
            "schema_hash": contract_mod.schema_hash(contract),
            "findings": findings,
            "outputs": {key: _relative(path, config.root) for key, path in outputs.items()},
        }
    )


def _say_verdict(summary: dict[str, Any]) -> None:
    say(f"audit: {summary['verdict']['message']}")
    for issue in summary["findings"]["issues"]:
        if issue["severity"] == "warning":
            say(f"  - {issue['column'] + ': ' if issue['column'] else ''}{issue['summary']}")
    say(f"  {len(summary['features'])} feature columns, {len(summary['exclusions'])} left out by the audit")


# ----------------------------------------------------------------------------------------------------------
# Small helpers


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
