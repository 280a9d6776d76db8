"""One line of the outcome store (logs/outcomes/*.jsonl): ground truth that came back after a prediction.

    {"received_at": "2025-06-07T09:00:00.000000Z", "prediction_id": "…", "ids": {id_column: value, …},
     "actual": …, "source": "api" | "file:<name>"}

An outcome names the prediction it belongs to by `prediction_id`, or by the values of the configured ID
columns (`ids`), or both. The store is append-only: an outcome sent twice is kept twice and the later one
counts (`performance` keeps the last received per prediction). Written by the feedback endpoint and by
`outcomes --input`, read by `performance`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .files import json_default

API_SOURCE = "api"


def file_source(name: str) -> str:
    """The source recorded for outcomes loaded from a file (its name, not its path)."""
    return f"file:{name}"


@dataclass(frozen=True, slots=True)
class OutcomeLine:
    received_at: str  # UTC, the prediction log's stamp format (artifacts.log_line.stamp)
    actual: Any
    prediction_id: str | None = None
    ids: dict[str, Any] | None = None
    source: str = API_SOURCE

    def encode(self) -> str:
        """The JSON line, newline included."""
        entry: dict[str, Any] = {"received_at": self.received_at}
        if self.prediction_id is not None:
            entry["prediction_id"] = self.prediction_id
        if self.ids:
            entry["ids"] = self.ids
        entry["actual"] = self.actual
        entry["source"] = self.source
        return json.dumps(entry, ensure_ascii=False, default=json_default) + "\n"

    @classmethod
    def decode(cls, line: bytes | str) -> OutcomeLine | None:
        """The outcome of one line, or None for a line that is not one (cut off, written by hand)."""
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        if not isinstance(entry, dict) or "actual" not in entry:
            return None
        if not isinstance(entry.get("received_at"), str):
            return None
        ids = entry.get("ids")
        prediction_id = entry.get("prediction_id")
        if not isinstance(ids, dict):
            ids = None
        if not isinstance(prediction_id, str):
            prediction_id = None
        if prediction_id is None and ids is None:
            return None
        return cls(entry["received_at"], entry["actual"], prediction_id, ids, str(entry.get("source", "")))
