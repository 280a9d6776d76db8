"""The date columns' findings in plain words: values that are not dates, the period covered (and how the
column was read), a hint to configure a time column, and periods without rows."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.config import Config
from ..core.wording import count
from .common import Issue, make_issue


def time_issues(coverage: dict[str, Any], config: Config) -> list[Issue]:
    name = coverage["column"]
    issues = []
    if coverage["unparseable"] and (coverage["configured"] or coverage["unparseable_share"] > 0.05):
        issues.append(
            make_issue(
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
            make_issue(
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
            make_issue(
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
            make_issue(
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
