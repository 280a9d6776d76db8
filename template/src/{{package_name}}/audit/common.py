"""What every audit module shares: a finding in plain words (`Issue`), column names in snake_case, and
values made JSON-ready (numpy scalars to numbers, NaN to None, timestamps to ISO text)."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

# A finding: severity ("warning" or "info"), check, column (or None), summary (short, also the reason a
# column is left out) and message (a sentence the client can read).
Issue = dict[str, Any]


def make_issue(severity: str, check: str, column: str | None, summary: str, message: str) -> Issue:
    return {"severity": severity, "check": check, "column": column, "summary": summary, "message": message}


def snake_case(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def short(value: Any, limit: int = 40) -> Any:
    """A value as JSON-ready data, with long text cut."""
    value = json_ready(value)
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


def json_ready(value: Any) -> Any:
    """Plain Python types for JSON: numpy scalars to numbers, NaN to None, timestamps to ISO text."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6) + 0.0  # + 0.0: no -0.0
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return value
