"""One line of the prediction log (logs/predictions/*.jsonl): the format the API writes and `drift` reads.

    {"timestamp": "2025-05-31T14:00:00.123456Z", "prediction_id": "…", "request_id": "…",
     "model_version": "…", "ids": {id_column: value, …}, "inputs": {feature: value, …}, "prediction": …,
     "prediction_probability": 0.83, "probabilities": {class: p, …},   (these two for classifiers)
     "coverage": 0.9, "interval": [low, high] | "set": [class, …],   (with uncertainty on)
     "warnings": [{"feature": …, "kind": …}, …]}

`prediction_id` is unique per scored record (the API answers it; outcomes sent back later name it);
`ids` holds the configured ID columns the record carried (absent when it carried none). `coverage` with
`interval` (regression) or `set` (classification) is the conformal answer given with the prediction
(`training.conformal`), so that realized coverage can be measured once outcomes come back. `warnings` are
the input warnings answered with the prediction (`serving.input_warnings`; [] when none). Lines written
before any of these existed lack them: a line without `warnings` reads as one without any.

The timestamp comes first, in a fixed-width format, on every line: the drift reader finds a time window by
looking at the bytes after `LINE_PREFIX` without decoding the lines (see drift/current.py). Keep both here,
with the encoder and the parser, so that writer and reader cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .files import json_default

TIMESTAMP = "timestamp"
PREDICTION = "prediction"
# The positive class's probability (binary) or the highest probability (multiclass): what the training
# reference keeps under the same name, so that live traffic and reference compare directly.
PREDICTION_PROBABILITY = "prediction_probability"

LINE_PREFIX = b'{"' + TIMESTAMP.encode() + b'": "'
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
STAMP_LENGTH = len("2025-05-31T14:00:00.123456Z")


def stamp(moment: datetime) -> str:
    """A moment as the log writes it: UTC, microseconds, `Z` (fixed width, so it sorts as text)."""
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One scored record: when, for which request, by which model, what was sent and what was answered."""

    timestamp: str
    request_id: str | None
    model_version: str | None
    inputs: dict[str, Any]
    prediction: Any
    prediction_probability: float | None = None  # classification only
    probabilities: dict[str, float] | None = None  # classification only: {class: p}
    prediction_id: str | None = None
    ids: dict[str, Any] | None = None  # the configured ID columns the record carried
    coverage: float | None = None  # the level of `interval` or `prediction_set` (uncertainty on)
    interval: list[float] | None = None  # regression: [low, high]
    prediction_set: list[Any] | None = None  # classification: the classes of the set (JSON key "set")
    warnings: list[dict[str, str]] | None = None  # input warnings (None: not written, e.g. the shadow's)

    def output(self, name: str) -> Any:
        """The model's output named like its field (`PREDICTION` or `PREDICTION_PROBABILITY`)."""
        return self.prediction if name == PREDICTION else self.prediction_probability

    def encode(self) -> str:
        """The JSON line, newline included; the timestamp first (see the module docstring)."""
        entry: dict[str, Any] = {TIMESTAMP: self.timestamp}
        if self.prediction_id is not None:
            entry["prediction_id"] = self.prediction_id
        entry["request_id"] = self.request_id
        entry["model_version"] = self.model_version
        if self.ids:
            entry["ids"] = self.ids
        entry["inputs"] = self.inputs
        entry[PREDICTION] = self.prediction
        if self.probabilities is not None:
            entry[PREDICTION_PROBABILITY] = self.prediction_probability
            entry["probabilities"] = self.probabilities
        if self.coverage is not None:
            entry["coverage"] = self.coverage
            if self.interval is not None:
                entry["interval"] = self.interval
            if self.prediction_set is not None:
                entry["set"] = self.prediction_set
        if self.warnings is not None:
            entry["warnings"] = self.warnings
        return json.dumps(entry, ensure_ascii=False, default=json_default) + "\n"

    @classmethod
    def decode(cls, line: bytes | str) -> LogLine | None:
        """The entry of one line, or None for a line that is not one (cut off, written by hand)."""
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("inputs"), dict):
            return None
        return cls(
            timestamp=entry.get(TIMESTAMP),
            request_id=entry.get("request_id"),
            model_version=entry.get("model_version"),
            inputs=entry["inputs"],
            prediction=entry.get(PREDICTION),
            prediction_probability=entry.get(PREDICTION_PROBABILITY),
            probabilities=entry.get("probabilities"),
            prediction_id=entry.get("prediction_id"),
            ids=entry.get("ids") if isinstance(entry.get("ids"), dict) else None,
            coverage=entry.get("coverage"),
            interval=entry.get("interval") if isinstance(entry.get("interval"), list) else None,
            prediction_set=entry.get("set") if isinstance(entry.get("set"), list) else None,
            warnings=entry.get("warnings") if isinstance(entry.get("warnings"), list) else [],
        )
