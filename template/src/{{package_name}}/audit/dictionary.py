"""The data dictionary (docs/data_dictionary.md): one row per column, from the data contract and the
audit's findings. Descriptions come from the contract, so that they survive a rerun."""

from __future__ import annotations

from typing import Any

from ..artifacts.audit_summary import AuditSummary
from ..artifacts.paths import AUDIT_HTML
from ..data.contract import Contract
from ..reporting import html as h
from .scope import scope_sentence
from .tables import column_notes


def data_dictionary(summary: AuditSummary, contract: Contract) -> str:
    """docs/data_dictionary.md: one row per column, from the data contract and the audit's findings."""
    notes = column_notes(summary.findings)
    profiles = {profile["name"]: profile for profile in summary.findings["columns"]}
    lines = [
        "# Data dictionary",
        "",
        f"Data: `{summary.data.path}`: {summary.data.rows:,} rows, "
        f"{summary.data.columns} columns (audited {summary.generated_at[:10]}, "
        f"sha256 `{summary.data.sha256[:12]}`).",
        *(["", scope] if (scope := scope_sentence(summary.findings)) else []),
        "",
        "Written by `audit` from the data contract (`configs/schema.json`) and the audit's findings "
        f"(`reports/audit/{AUDIT_HTML}`). To describe a column, fill in its `description` in "
        "`configs/schema.json`; descriptions are kept when the audit runs again.",
        "",
        "| column | role | kind | dtype | missing | values | notes | description |",
        "| --- | --- | --- | --- | ---: | --- | --- | --- |",
    ]
    for column in contract.columns:
        cells = _dictionary_row(column, profiles.get(column["name"], {}), notes.get(column["name"], []))
        lines.append("| " + " | ".join(_md_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _dictionary_row(column: dict[str, Any], profile: dict[str, Any], notes: list[str]) -> list[str]:
    """The cells of one column: the contract's reason first, then the audit's notes it does not repeat."""
    reason = column.get("reason", "")
    note = "; ".join([reason] * bool(reason) + [part for part in notes if part not in reason])
    return [
        f"`{column['name']}`",
        column["role"],
        column["kind"],
        column["dtype"],
        f"{100 * profile.get('missing_share', 0):.1f} %",
        _values_cell(column),
        note,
        column.get("description", ""),
    ]


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
