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

from ..artifacts import files as artifacts
from ..core.config import Config
from ..core.progress import say, step
from ..core.wording import count
from ..data import contract as contract_mod
from ..data.tables import MISSING_MARKERS, check_configured_columns, file_sha256, load_table, to_datetime

AUDIT_VERSION = 1
LEAKAGE_SAMPLE_ROWS = 20_000
LEAKAGE_FOLDS = 3
PII_SAMPLE_VALUES = 500
MIN_ROWS_FOR_RATIOS = 20  # distinct-value ratios of fewer values say nothing
# A target is imbalanced when its rarest class has less than this fraction of an even share (1 / classes:
# below 10 % of rows for two classes, below 2 % for ten), or the most common class this many times its rows.
IMBALANCE_EVEN_FRACTION = 0.2
IMBALANCE_RATIO = 10
TINY_ROWS = 100  # fewer labelled rows: scores swing from fold to fold and flexible models memorise
MIN_ROWS_PER_FOLD = 5  # of the rarest class (classification) in each validation fold
PERSON_NAME_SHARE = 0.7  # of sampled values, to take a bare `name` column for people's names
QUASI_IDENTIFIERS = ("postcodes",)  # identify a person only together with other facts about them
YEARS = (1700, 2200)  # integers in this range, in a date-like column, are calendar years
# Whole numbers a time column may hold: digits, how they read as a date, granularity, and in words.
WHOLE_NUMBER_DATES = (
    (4, "%Y", "year", "years written as whole numbers (YYYY)"),
    (6, "%Y%m", "month", "months written as whole numbers (YYYYMM)"),
    (8, "%Y%m%d", "day", "dates written as whole numbers (YYYYMMDD)"),
)
MAX_PERIODS = 1200  # months in a coverage chart; a longer span is counted by year
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
        ("postcodes", r"(?:^|_)(?:zip|zipcode|zip_code|post_?code|postal(?:_?code)?)(?:_|$)"),
        (
            "postal addresses",
            r"address|(?:^|_)street|(?:^|_)addr(?:_|$)|(?:^|_)house_?(?:number|no|nr)(?:_|$)",
        ),
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
_ID_NAME = re.compile(
    r"(?:^|_)(?:id|uuid|guid|key|nr|no|number|ref|code|idno|uid)$|^(?:id|uuid|guid|idno|uid)_"
)
# A state, country or city is coarse geography, not an address (`addr_state` is a state).
_COARSE_GEOGRAPHY = re.compile(
    r"(?:^|_)(?:state|country|region|province|county|city|town|municipality|district|territory|nation"
    r"|continent)s?(?:_|$)"
)
# Columns that show a table describes people (with a postcode, a person can then be singled out).
_PERSON_ATTRIBUTES = re.compile(
    r"(?:^|_)(?:age|sex|gender|birth\w*|dob|ethnicity|ethnic|race|marital(?:_status)?|religion)(?:_|$)"
)
_THINGS_WITH_AN_AGE = re.compile(r"(?:^|_)(?:house|home|building|property|car|vehicle|account|loan|asset)")
_ORGANISATION_WORDS = frozenset(
    ("inc", "inc.", "ltd", "ltd.", "llc", "corp", "corp.", "co", "co.", "company", "group", "bank", "gmbh")
    + ("ag", "sa", "bv", "plc", "university")
)
_NAME_PARTICLES = frozenset(
    ("van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "della", "dos", "das", "bin")
    + ("ibn", "al", "el", "st")
)

Issue = dict[str, Any]


# ----------------------------------------------------------------------------------------------------------
# Loading


def load(config: Config) -> pd.DataFrame:
    """The configured data file, with the target/ID/time columns checked to exist."""
    frame = load_table(config.data_path, config.data.missing_values)
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
        "missing_markers": _missing_markers(frame),
        "kept_markers": _kept_markers(frame, config),
        "kept_columns": list(config.data.keep_columns),
    }
    constant = {item["column"] for item in findings["constant_columns"]}
    candidates = {
        p["name"]: p["kind"] for p in profiles if p["role"] == "feature" and p["name"] not in constant
    }
    findings["leakage"] = _leakage_scan(frame, candidates, config)
    findings["issues"] = _issues(findings, config)
    return _json_ready(findings)


def with_contract(
    findings: dict[str, Any], contract: dict[str, Any], config: Config, frame: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The findings with what only the data contract knows: the format each date column is read with (in
    training, scoring and the API). With `frame`, the time coverage is measured again with those formats;
    the plain-language findings are written again, so that they name them."""
    formats = {
        column["name"]: column["format"]
        for column in contract.get("columns", [])
        if isinstance(column, dict) and isinstance(column.get("format"), str) and column["format"]
    }
    if not formats:
        return findings
    coverage = []
    for item in findings["time_coverage"]:
        name, date_format = item["column"], formats.get(item["column"])
        if date_format and frame is not None and name in frame:
            item = _json_ready(_coverage(frame[name], name, item["configured"], date_format))
        coverage.append({**item, "format": date_format or item.get("format")})
    updated = {**findings, "time_coverage": coverage}
    updated["issues"] = _issues(updated, config)
    return _json_ready(updated)


def _missing_markers(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """What the loader read as missing, per column: {column: {marker: cells}} (e.g. 'NA', '-', 'n/a'), from
    `frame.attrs["missing_markers"]`; empty when the loader recorded nothing."""
    recorded = frame.attrs.get("missing_markers")
    if not isinstance(recorded, dict):
        return {}
    markers: dict[str, dict[str, int]] = {}
    for column, counts in recorded.items():
        if not isinstance(counts, dict):
            continue
        cells = {str(marker): int(count) for marker, count in counts.items() if _iscount(count) and count > 0}
        if cells:
            markers[str(column)] = dict(sorted(cells.items(), key=lambda item: -item[1]))
    return markers


def _kept_markers(frame: pd.DataFrame, config: Config) -> dict[str, dict[str, int]]:
    """Text that often stands for "no value" (NA, None, null, -...) but was kept as a value, because its
    column holds text: {column: {marker: cells}}. A class called "None" is real; an export that wrote NA
    for unknown outcomes is not, and only the client can say which."""
    kept: dict[str, dict[str, int]] = {}
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        text = column.dropna().astype(str).str.strip()
        hits = text[text.isin(MISSING_MARKERS) & ~text.isin(config.data.missing_values)]
        if len(hits):
            kept[str(name)] = {str(marker): int(cells) for marker, cells in hits.value_counts().items()}
    return kept


def _iscount(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


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
    if ratio < threshold:
        return ""
    if profile["kind"] == "categorical" and not pd.api.types.is_numeric_dtype(values):
        return f"{ratio:.0%} distinct values: each value names a single row"  # car names in mtcars
    shape = _code_shape(values)
    return f"{ratio:.0%} distinct values, {shape}" if shape else ""


def _code_shape(values: pd.Series) -> str:
    """How distinct values look like codes rather than measurements: whole numbers that run consecutively
    (a row number) or mostly in one regular step (district codes 1101, 1102, … 1201), or short text without
    spaces. Distinct prices, counts and amounts are spread unevenly, and distinct years are a time, so
    neither is flagged. Empty when the values do not look like codes."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return ""
    if not pd.api.types.is_numeric_dtype(values):
        text = values.astype(str)
        return "short text without spaces" if text.str.contains(r"\s", regex=True).mean() <= 0.5 else ""
    numbers = values.astype("float64")
    if not np.all(np.mod(numbers, 1) == 0) or _is_years(numbers):
        return ""
    unique = np.unique(numbers)
    if unique[-1] - unique[0] + 1 <= 2 * len(unique):
        return "whole numbers that run consecutively"
    steps, counts = np.unique(np.diff(unique), return_counts=True)
    if counts.max() >= 0.5 * (len(unique) - 1):
        return f"whole numbers mostly {steps[counts.argmax()]:,.0f} apart, like codes"
    return ""


def _is_years(numbers: pd.Series) -> bool:
    """Whole numbers that are all plausible calendar years (1935, 1988): a time, not a code or a count."""
    return len(numbers) > 0 and bool(numbers.between(*YEARS).all())


def _personal_data(frame: pd.DataFrame, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns that look like personal data, by their name or by their values (on a sample), each with
    whether the audit leaves it out (`excluded`; see `_settle_quasi_identifiers`)."""
    found = []
    for profile in profiles:
        if profile["role"] == "target":
            continue
        name = profile["name"]
        # A flag such as `email_opt_in` (yes/no) is named like personal data but holds none.
        name_kind = _pii_by_name(name) if profile["distinct"] > 2 else None
        value_kind, share = _pii_by_values(frame[name], profile["kind"])
        if name_kind == "person names" and _snake_case(name) == "name" and not value_kind:
            # A bare `name` can name anything (car models, products, places): the values must confirm it.
            share = _person_name_share(frame[name])
            name_kind = value_kind = "person names" if share >= PERSON_NAME_SHARE else None
        if name_kind or value_kind:
            found.append(
                {
                    "column": name,
                    "kind": name_kind or value_kind,
                    "by_name": bool(name_kind),
                    "by_values": bool(value_kind),
                    "value_share": share if value_kind else None,
                }
            )
    return _settle_quasi_identifiers(found, profiles)


def _settle_quasi_identifiers(
    found: list[dict[str, Any]], profiles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Direct personal data is always left out. A postcode is a quasi-identifier: alone it names an area of
    many households, but combined with facts about a person (age, sex, date of birth, or other personal
    data) it can single one out. So it is left out only when the table also describes people."""
    direct = [item["column"] for item in found if item["kind"] not in QUASI_IDENTIFIERS]
    attributes = [p["name"] for p in profiles if _describes_a_person(p["name"])]
    for item in found:
        quasi = item["kind"] in QUASI_IDENTIFIERS
        people = [name for name in [*direct, *attributes] if name != item["column"]]
        item["quasi_identifier"] = quasi
        item["excluded"] = not quasi or bool(people)
        if quasi:
            item["people_columns"] = people
    return found


def _describes_a_person(name: str) -> bool:
    """A column about a person (age, sex, gender, birth, ethnicity, marital status), not a thing's age."""
    snake = _snake_case(name)
    return bool(_PERSON_ATTRIBUTES.search(snake)) and not _THINGS_WITH_AN_AGE.search(snake)


def _pii_by_name(name: str) -> str | None:
    snake = _snake_case(name)
    kind = next((kind for kind, pattern in _PII_NAMES if pattern.search(snake)), None)
    if kind == "postal addresses" and _COARSE_GEOGRAPHY.search(snake):
        return None  # `addr_state`, `address_country`: where someone lives, as coarsely as a state
    return kind


def _person_name_share(series: pd.Series) -> float:
    """The share of sampled values written like people's names."""
    values = series.dropna().astype(str).str.strip()
    if values.empty:
        return 0.0
    return float(
        values.sample(min(len(values), PII_SAMPLE_VALUES), random_state=0).map(_is_person_name).mean()
    )


def _is_person_name(value: str) -> bool:
    """'Ada Lovelace', 'Lovelace, Ada', 'J. R. Tolkien', 'Vincent van Gogh', 'José Müller': two to five
    capitalised words of letters (name particles aside), no digits, no company words. Car models as data
    sets write them ('chevrolet chevelle malibu', 'ford pinto 2000') are not."""
    words = value.replace(",", " ").split()
    if not 2 <= len(words) <= 5:
        return False
    capitalised = 0
    for word in words:
        lower = word.lower()
        if lower in _ORGANISATION_WORDS:
            return False
        if lower in _NAME_PARTICLES:
            continue
        letters = word.rstrip(".").replace("-", "").replace("'", "").replace("’", "")
        if not (letters.isalpha() and word[0].isupper()):
            return False
        capitalised += 1
    return capitalised >= 2


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
    """Rows per class (labels as text, most common first), and whether the classes are imbalanced: judged
    against an even split, so that ten balanced classes of 10 % each are not called imbalanced."""
    counts = target.dropna().astype(str).value_counts()
    result: dict[str, Any] = {
        "type": "classes",
        "missing": int(target.isna().sum()),
        "counts": counts.to_dict(),
    }
    if len(counts):
        total, classes = int(counts.sum()), len(counts)
        minority_share = counts.iloc[-1] / total
        ratio = counts.iloc[0] / counts.iloc[-1]
        result.update(
            classes=classes,
            shares=(counts / total).to_dict(),
            majority=counts.index[0],
            minority=counts.index[-1],
            minority_share=minority_share,
            even_share=1 / classes,
            imbalance_ratio=ratio,
            imbalanced=classes > 1
            and bool(minority_share * classes < IMBALANCE_EVEN_FRACTION or ratio >= IMBALANCE_RATIO),
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


def _coverage(
    series: pd.Series, name: str, configured: bool, date_format: str | None = None
) -> dict[str, Any]:
    """The period one date column spans, its rows per period at the column's own granularity (years for
    a year column, months for monthly data; daily or finer data by month), the periods inside the range
    without rows, and its largest gap; values that are not dates are counted, not fatal."""
    parsed, granularity, read_as = _calendar(series, date_format)
    present = int(series.notna().sum())
    unparseable = present - int(parsed.notna().sum())
    result: dict[str, Any] = {
        "column": name,
        "configured": configured,
        "unparseable": unparseable,
        "unparseable_share": unparseable / present if present else 0.0,
        "read_as": read_as,
        "format": date_format,  # the data contract's, when known (`with_contract`)
    }
    dates = parsed.dropna()
    if dates.empty:
        return result
    result.update(
        min=dates.min().isoformat(),
        max=dates.max().isoformat(),
        span_days=(dates.max() - dates.min()).total_seconds() / 86_400,
        granularity=granularity,
    )
    result.update(_rows_per_period(dates, granularity))
    result.update(_largest_gap(dates))
    return result


def _calendar(series: pd.Series, date_format: str | None = None) -> tuple[pd.Series, str, str | None]:
    """The column as timestamps (NaT where a value is not a date), its granularity (year, month or day:
    day covers anything finer) and, for whole numbers, how they were read: years (1935), year and month
    (193501) or year, month and day (19350115). Other whole numbers (a period counter) are not dates."""
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        dates = _dates(series, date_format)
        return dates, _granularity(dates.dropna()), None
    numbers = series.astype("float64")
    present = numbers.dropna()
    if len(present) and np.all(np.mod(present, 1) == 0):
        text = present.astype("int64").astype(str)
        for digits, number_format, granularity, read_as in WHOLE_NUMBER_DATES:
            if text.str.len().eq(digits).all():
                dates = pd.to_datetime(text, format=number_format, errors="coerce")
                if dates.notna().all() and dates.dt.year.between(*YEARS).all():
                    return dates.reindex(series.index), granularity, read_as
    return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]"), "day", None


def _granularity(dates: pd.Series) -> str:
    """year when every date is a 1 January at midnight, month when every date is the first of a month,
    else day (daily data, or finer)."""
    if dates.empty or (dates != dates.dt.normalize()).any() or (dates.dt.day != 1).any():
        return "day"
    return "month" if (dates.dt.month != 1).any() else "year"


def _rows_per_period(dates: pd.Series, granularity: str) -> dict[str, Any]:
    """Rows per period from the first to the last, empty periods included. Years and months step by the
    data's own interval (1952, 1957, … is every 5 years; quarterly data every 3 months), so that a regular
    series has no empty periods; daily or finer data is counted by month."""
    yearly = granularity == "year"
    ordinals = dates.dt.year if yearly else dates.dt.year * 12 + dates.dt.month - 1
    unique = np.unique(ordinals)
    if not yearly and unique[-1] - unique[0] > MAX_PERIODS:
        return _rows_per_period(dates, "year")
    step = int(np.gcd.reduce(np.diff(unique))) if granularity != "day" and len(unique) > 1 else 1
    counts = ordinals.value_counts()
    grid = range(int(unique[0]), int(unique[-1]) + 1, step)
    rows = {_period_label(at, yearly): int(counts.get(at, 0)) for at in grid}
    singular, plural = _period_nouns(yearly, step)
    return {
        "period": singular,
        "periods": plural,
        "rows_per_period": rows,
        "empty_periods": [label for label, count in rows.items() if count == 0],
    }


def _period_label(ordinal: int, yearly: bool) -> str:
    return str(ordinal) if yearly else f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _period_nouns(yearly: bool, step: int) -> tuple[str, str]:
    """What one period is called: year, month, quarter, or a 5-year period."""
    named = {(True, 1): "year", (False, 1): "month", (False, 3): "quarter", (False, 12): "year"}
    if (yearly, step) in named:
        noun = named[(yearly, step)]
        return noun, noun + "s"
    unit = "years" if yearly else "months"
    return f"period of {step} {unit}", f"periods of {step} {unit}"


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


def _dates(series: pd.Series, date_format: str | None = None) -> pd.Series:
    """The shared date parser's result without time zones (converted to UTC), so that the dates of one
    column compare with each other and with plain timestamps; NaT where a value is not a date. With the
    data contract's `date_format`, read exactly as training reads the column."""
    parsed = to_datetime(series, date_format) if date_format else to_datetime(series)
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
        *_duplicate_issues(findings["duplicates"], config),
        *_target_issues(findings["target_distribution"], config),
        *_id_like_issues(findings["id_like_columns"], findings["personal_data"]),
        *_constant_issues(findings["constant_columns"]),
    ]
    for coverage in findings["time_coverage"]:
        issues += _time_issues(coverage, config)
    issues += _missing_marker_issues(findings.get("missing_markers", {}))
    issues += _kept_marker_issues(findings.get("kept_markers", {}), config)
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
        if item.get("quasi_identifier"):
            issues.append(_quasi_identifier_issue(item, found_by))
            continue
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


def _quasi_identifier_issue(item: dict[str, Any], found_by: str) -> Issue:
    """A postcode: kept as a feature unless the table also describes people (then it is left out, under
    the `personal_data` check so that it is excluded). `data.keep_columns` overrides either way."""
    name, kind = item["column"], item["kind"]
    rule = (
        f"'{name}' looks like {kind} (going by {found_by}): a quasi-identifier. Alone it names an area, "
        "not a person; with facts about a person it can single one out, so the audit leaves it out only "
        "when the table also describes people."
    )
    if item["excluded"]:
        people = ", ".join(f"'{column}'" for column in item["people_columns"][:4])
        return _issue(
            "info",
            "personal_data",
            name,
            f"quasi-identifier: {kind}, left out (the table describes people)",
            f"{rule} It does ({people}), so '{name}' is left out. To use it anyway, add it to "
            "data.keep_columns in configs/project.yaml.",
        )
    return _issue(
        "info",
        "quasi_identifier",
        name,
        f"quasi-identifier: {kind}, kept",
        f"{rule} No column here describes a person, so '{name}' is kept as a feature. To leave it out, add "
        "it to data.drop_columns in configs/project.yaml.",
    )


def _duplicate_issues(duplicates: dict[str, Any], config: Config) -> list[Issue]:
    issues = []
    if duplicates["rows"]:
        copies = count(duplicates["rows"], "row is an exact copy", "rows are exact copies")
        issues.append(
            _issue(
                "warning",
                "duplicates",
                None,
                count(duplicates["rows"], "duplicate row"),
                f"{copies} of another row ({duplicates['share']:.1%} of rows). Ask the client whether these "
                "are real repeats or an export error; copies inflate cross-validated scores.",
            )
        )
    ids = ", ".join(duplicates["id_columns"])
    if duplicates.get("repeated_ids"):
        issues.append(_repeated_id_issue(duplicates, ids, config))
    if duplicates.get("rows_ignoring_ids", 0) > duplicates["rows"]:
        issues.append(
            _issue(
                "info",
                "duplicates",
                None,
                f"{count(duplicates['rows_ignoring_ids'], 'row repeats', 'rows repeat')} apart from the ID",
                f"{count(duplicates['rows_ignoring_ids'], 'row is', 'rows are')} identical to another row "
                f"in everything but the ID ({ids}).",
            )
        )
    return issues


def _repeated_id_issue(duplicates: dict[str, Any], ids: str, config: Config) -> Issue:
    """Several rows per ID (a customer's visits, a firm's years) are fine when expected: training keeps
    each ID's rows together, so that the model is never scored on an ID it has seen. With a time column,
    validation is split by time instead."""
    values = count(duplicates["repeated_ids"], "value", "values")
    verb = "occurs" if duplicates["repeated_ids"] == 1 else "occur"
    if config.data.time_column:
        handling = (
            f"validation splits by time ('{config.data.time_column}'), so an ID's earlier rows can train the "
            "model and its later rows test it."
        )
    else:
        handling = (
            "training keeps each ID's rows in one cross-validation fold, so the model is always tested on "
            "IDs it has not seen."
        )
    return _issue(
        "info",
        "duplicates",
        ids,
        count(duplicates["repeated_ids"], "repeated ID"),
        f"{values} of the ID ({ids}) {verb} more than once "
        f"({count(duplicates['rows_with_repeated_id'], 'row')}). If several rows per ID are expected, "
        f"{handling} If one row per ID was expected, ask the client about the repeats.",
    )


def _target_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    target = config.data.target
    issues = []
    if distribution["missing"]:
        issues.append(
            _issue(
                "warning",
                "target",
                target,
                f"{count(distribution['missing'], 'row')} without a target",
                f"{count(distribution['missing'], 'row has', 'rows have')} no value in '{target}'. Rows "
                "without a target cannot be used for training and are dropped; ask the client why the "
                "outcome is unknown for them.",
            )
        )
    issues += _size_issues(distribution, config)
    if distribution["type"] == "numeric":
        return issues + _numeric_target_issues(distribution, target)
    return issues + _class_issues(distribution, config)


def _size_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    """Too few rows to judge a model by: overall (tiny tables), or of the rarest class in each validation
    fold. Classes too rare to validate at all have their own finding (`_rare_class_issues`)."""
    folds = config.model.cv_folds
    classes = distribution["type"] == "classes"
    labelled = sum(distribution["counts"].values()) if classes else distribution["count"]
    rarest = distribution["counts"].get(distribution.get("minority"), 0) if classes else 0
    if 0 < labelled < TINY_ROWS:
        return [_tiny_data_issue(labelled, distribution if classes else None, config)]
    if classes and 2 * folds <= rarest < MIN_ROWS_PER_FOLD * folds:
        label = distribution["minority"]
        fewer_folds = "Fewer folds (model.cv_folds: 3) give each fold more of them. " if folds > 3 else ""
        return [
            _issue(
                "info",
                "target",
                config.data.target,
                f"few '{label}' rows per validation fold",
                f"'{label}' has {count(rarest, 'row')}: about {rarest / folds:.0f} in each of the "
                f"{folds} validation folds (model.cv_folds), so the scores on it will vary from fold to "
                f"fold. {fewer_folds}More examples of '{label}' from the client would help most.",
            )
        ]
    return []


def _tiny_data_issue(labelled: int, distribution: dict[str, Any] | None, config: Config) -> Issue:
    folds = config.model.cv_folds
    per_fold = f"each validation fold holds about {count(round(labelled / folds), 'row')}"
    if distribution and distribution.get("classes", 0) > 1:
        rarest = distribution["counts"][distribution["minority"]]
        per_fold += (
            f" (of which about {rarest / folds:.1f} of the rarest class, '{distribution['minority']}')"
        )
    return _issue(
        "warning",
        "size",
        None,
        f"tiny data: {count(labelled, 'row')} with a target",
        f"Only {count(labelled, 'row has', 'rows have')} a target. With model.cv_folds = {folds}, "
        f"{per_fold}: cross-validated scores will swing from fold to fold, and a flexible model can "
        f"memorise so few rows and still look good. {_small_data_advice(config)}",
    )


def _small_data_advice(config: Config) -> str:
    """What to try with little data, leaving out what the config already does."""
    steps = []
    if config.model.family != "linear":
        steps.append("a simpler model (model.family: linear)")
    if config.model.cv_folds > 3:
        steps.append("fewer folds (model.cv_folds: 3)")
    steps.append("more data from the client")
    return "Try " + ", ".join(steps[:-1]) + (" and " if len(steps) > 1 else "") + steps[-1] + "."


def _numeric_target_issues(distribution: dict[str, Any], target: str) -> list[Issue]:
    issues = []
    if distribution["not_numeric"]:
        values = count(
            distribution["not_numeric"], "value that is not a number", "values that are not numbers"
        )
        issues.append(
            _issue(
                "warning",
                "target",
                target,
                "target is not numeric",
                f"'{target}' holds {values}, but the problem type "
                "is regression. Fix the values, or choose binary or multiclass for labels.",
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
                f"{count(classes, 'class', 'classes')} for a binary problem",
                f"'{target}' has {count(classes, 'distinct value')}, but the problem type is binary (two "
                "classes). Set problem_type in configs/project.yaml, or fix the labels.",
            )
        )
    if config.problem_type == "multiclass" and classes < 3:
        issues.append(
            _issue(
                "info",
                "target",
                target,
                f"only {count(classes, 'class', 'classes')}",
                f"'{target}' has only {count(classes, 'class', 'classes')}; "
                + (
                    "problem_type binary would describe it better."
                    if classes == 2
                    else "a model needs at least two classes to learn from."
                ),
            )
        )
    if distribution.get("imbalanced"):
        issues.append(_imbalance_issue(distribution, target))
    return issues + _rare_class_issues(distribution, config)


def _imbalance_issue(distribution: dict[str, Any], target: str) -> Issue:
    """The rarest class against an even split, and the most common class against the rarest."""
    classes = distribution["classes"]
    ratio = distribution["imbalance_ratio"]
    times = f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.1f}"
    return _issue(
        "warning",
        "target",
        target,
        "imbalanced target",
        f"The rarest class of '{target}', '{distribution['minority']}', is "
        f"{distribution['minority_share']:.1%} of rows, against {distribution['even_share']:.1%} each if "
        f"the {classes} classes were even; the most common, '{distribution['majority']}', has {times} times "
        "as many rows. Accuracy would mislead; the model is judged on metrics that weigh every class.",
    )


def _rare_class_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    enough = 2 * config.model.cv_folds
    rare = [label for label, rows in distribution["counts"].items() if rows < enough]
    if not rare:
        return []
    listed = ", ".join(f"'{label}' ({distribution['counts'][label]:,})" for label in rare[:5])
    listed += " …" if len(rare) > 5 else ""
    return [
        _issue(
            "warning",
            "target",
            config.data.target,
            count(len(rare), "very rare class", "very rare classes"),
            f"{count(len(rare), 'class has', 'classes have')} fewer than {enough} rows (twice "
            f"model.cv_folds = {config.model.cv_folds}): {listed}. Too few to learn from or to validate on; "
            "merge them with a related class or collect more examples.",
        )
    ]


def _id_like_issues(id_like: list[dict[str, Any]], personal_data: list[dict[str, Any]]) -> list[Issue]:
    personal = {item["column"] for item in personal_data if item["excluded"]}
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
                f"{count(coverage['unparseable'], 'value is', 'values are')} not dates",
                f"{count(coverage['unparseable'], 'value', 'values')} ({coverage['unparseable_share']:.1%}) "
                f"of '{name}' cannot be read as dates {_format_words(coverage.get('format'))}".rstrip()
                + "; those rows cannot be placed in time.",
            )
        )
    if "min" not in coverage:
        return issues
    return issues + _period_issues(coverage, config)


def _period_issues(coverage: dict[str, Any], config: Config) -> list[Issue]:
    """The period a date column covers (and how it was read), a hint to configure it as the time column,
    and periods without rows."""
    name = coverage["column"]
    period = _span_text(coverage)
    how = _how_read(coverage)
    issues = []
    if coverage["configured"]:
        issues.append(
            _issue(
                "info",
                "time",
                name,
                f"covers {period}",
                f"The data covers {period} by '{name}'{how}; validation trains on the past and tests on "
                "later periods.",
            )
        )
    elif not config.data.time_column:
        issues.append(
            _issue(
                "info",
                "time",
                name,
                f"holds dates: {period}",
                f"'{name}' holds dates from {period}{how}. If the model will score future rows, set "
                f"data.time_column: {name} in configs/project.yaml so that validation respects time order.",
            )
        )
    empty = coverage["empty_periods"]
    if empty:
        listed = ", ".join(empty[:4]) + (" …" if len(empty) > 4 else "")
        periods = count(len(empty), coverage["period"], coverage["periods"])
        issues.append(
            _issue(
                "info" if not coverage["configured"] else "warning",
                "time",
                name,
                f"{periods} without rows",
                f"'{name}' has no rows in {periods} inside its range ({listed}). Ask the client whether "
                "data is missing for that period.",
            )
        )
    return issues


def _span_text(coverage: dict[str, Any]) -> str:
    """'1935 to 1954 (20 years)', '2000-01 to 2010-03 (123 months)', '2012-01-01 to 2015-12-31 (1,460
    days)': the range at the column's granularity."""
    labels = list(coverage["rows_per_period"])
    if coverage["granularity"] == "day":
        return f"{coverage['min'][:10]} to {coverage['max'][:10]} ({coverage['span_days']:,.0f} days)"
    return f"{labels[0]} to {labels[-1]} ({count(len(labels), coverage['period'], coverage['periods'])})"


def _how_read(coverage: dict[str, Any]) -> str:
    """How the column was read, for a sentence: ', read as dates in the format %d/%m/%Y (like 31/01/2024)',
    ', read as years written as whole numbers (YYYY)', or nothing when that is not known."""
    if coverage.get("format"):
        return f", read as dates {_format_words(coverage['format'])}"
    return f", read as {coverage['read_as']}" if coverage.get("read_as") else ""


def _format_words(date_format: str | None) -> str:
    """'in the format %d/%m/%Y (like 31/01/2024)', 'in ISO 8601 form (like 2024-01-31)', or nothing."""
    if not date_format:
        return ""
    if date_format.upper().replace(" ", "") == "ISO8601":
        return "in ISO 8601 form (like 2024-01-31)"
    try:
        example = f" (like {pd.Timestamp('2024-01-31 14:30').strftime(date_format)})"
    except ValueError:
        example = ""
    return f"in the format {date_format}{example}"


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


def _missing_marker_issues(markers: dict[str, dict[str, int]]) -> list[Issue]:
    """One note per column: which text the loader read as a missing value, and in how many cells, so that
    a marker that is really a value (a product called 'NA') is seen."""
    issues = []
    for column, counts in markers.items():
        parts = [f"'{marker}' in {count(cells, 'cell')}" for marker, cells in counts.items()]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        issues.append(
            _issue(
                "info",
                "missing",
                column,
                f"read as missing: {listed}",
                f"The loader read {listed} of '{column}' as missing values. If such a value means "
                "something here (not 'unknown'), ask the client and correct the export.",
            )
        )
    return issues


def _kept_marker_issues(markers: dict[str, dict[str, int]], config: Config) -> list[Issue]:
    """One finding per text column holding a word that often means "no value": kept as a value, which is
    right for a class called "None" and wrong for an export's NA; a warning on the target, whose classes
    the model learns."""
    issues = []
    for column, counts in markers.items():
        parts = [f"'{marker}' ({count(cells, 'cell')})" for marker, cells in counts.items()]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        target = column == config.data.target
        example = next(iter(counts))
        issues.append(
            _issue(
                "warning" if target else "info",
                "missing",
                column,
                f"kept as {'classes' if target else 'values'}: {listed}",
                f"'{column}' holds {listed}, which often stand for a missing value; they are kept as "
                f"{'classes of the target' if target else 'values'}. If they mean 'unknown', list them in "
                f"data.missing_values in configs/project.yaml (e.g. data.missing_values: ['{example}']).",
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
    from .report import build_report, data_dictionary

    started = time.perf_counter()
    with step(f"loading {config.data_path}"):
        frame = load(config)
        data_sha256 = file_sha256(config.data_path)
    say(f"  {len(frame):,} rows, {frame.shape[1]} columns")
    previous = contract_mod.load_contract(config.schema_path)
    findings = detect(frame, config)
    contract = contract_mod.infer_contract(frame, config, exclusions(findings), previous=previous)
    findings = with_contract(findings, contract, config, frame)
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
    features = count(len(summary["features"]), "feature column")
    say(f"  {features}, {len(summary['exclusions']):,} left out by the audit")


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
        return None if not math.isfinite(value) else round(value, 6) + 0.0  # + 0.0: no -0.0
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return value
