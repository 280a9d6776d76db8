"""The audit summary (reports/audit/audit.json) as a typed record: what `audit` found, and what it audited
when.

The `audit` command writes it through `AuditSummary.write`; readers use `AuditSummary.read`. The JSON keys
are the field names, in field order. `findings` is the full output of the audit's checks (a profile per
column, one block per check, the plain-language `issues`), kept as JSON data because its blocks follow the
checks; the small blocks every reader looks at (`data`, `verdict`) are typed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from .files import write_atomic

AUDIT_VERSION = 1  # of this record's layout


@dataclass(frozen=True)
class AuditedData:
    """The data file the audit read: its path as configured, checksum and size."""

    path: str
    sha256: str
    rows: int
    columns: int


@dataclass(frozen=True)
class AuditVerdict:
    """The headline: `issues` warnings need a decision before modelling, `notes` are good to know."""

    issues: int
    notes: int
    level: str  # "warning" when there are issues, else "ok"
    message: str


@dataclass(frozen=True)
class AuditSummary:
    """reports/audit/audit.json. `exclusions` maps each column the audit leaves out of the features to its
    reason; `outputs` maps each file the audit wrote (html, json, schema, data_dictionary) to its path
    relative to the project root."""

    audit_version: int
    generated_at: str  # ISO 8601, UTC, to the second
    project: str
    data: AuditedData
    verdict: AuditVerdict
    exclusions: dict[str, str]
    features: list[str]
    schema_hash: str
    findings: dict[str, Any]
    outputs: dict[str, str]
    duration_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> AuditSummary:
        """The record from parsed JSON; keys this version does not know are ignored. Raises KeyError or
        TypeError when a field is missing or a block has the wrong shape."""
        values = {f.name: payload[f.name] for f in fields(cls) if f.name in payload}
        return cls(
            **{
                **values,
                "data": AuditedData(**payload["data"]),
                "verdict": AuditVerdict(**payload["verdict"]),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> AuditSummary:
        return cls.from_dict(json.loads(text))

    @classmethod
    def read(cls, path: Path) -> AuditSummary:
        """The summary in `path`; a file that is not one gives a UserError saying to rerun `audit`."""
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"no audit summary at {path}; run `audit` first") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path} is not valid JSON ({exc}); rerun `audit`") from None
        except (KeyError, TypeError) as exc:
            raise UserError(
                f"{path} is not an audit summary (missing or malformed: {exc}); rerun `audit`"
            ) from None

    def write(self, path: Path) -> None:
        """Replace `path` atomically: a reader never sees half a summary."""
        write_atomic(path, self.to_json())
