"""`prediction_id`: the name of one scored record, answered to the client and written to the prediction
log, so that the outcome sent back later (`/v1/feedback`, `outcomes --input`) finds the prediction.

Unique across worker processes and restarts without any coordination: a random 64-bit prefix drawn when the
process starts, then a counter. Making one is a string format and a counter step (no system call per
record, unlike uuid4), which the hot path can afford.
"""

from __future__ import annotations

import itertools
import secrets


class PredictionIds:
    """The ids of one process: `<16 hex digits of this process>-<counter in hex>`."""

    def __init__(self) -> None:
        self.prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def take(self, count: int) -> list[str]:
        """`count` new ids, in order."""
        prefix, counter = self.prefix, self._counter
        return [f"{prefix}-{next(counter):x}" for _ in range(count)]
