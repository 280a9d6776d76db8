"""Numbers and counts in the words every report, message and model card uses: "0.250", never "-0.000";
"1 row", "3 rows"; 5, never np.int64(5)."""

from __future__ import annotations

from typing import Any

import numpy as np


def number(value: float, digits: int = 3, *, signed: bool = False) -> str:
    """A score or a difference with fixed decimals; a value that rounds to zero shows as 0, never as -0."""
    rounded = round(float(value), digits) + 0.0  # adding 0.0 turns -0.0 into 0.0
    return f"{rounded:{'+' if signed else ''}.{digits}f}"


def count(amount: int, singular: str, plural: str | None = None) -> str:
    """'1 class', '3 classes', '1,200 rows': a count with its noun in the right number."""
    return f"{amount:,} {singular if amount == 1 else (plural or singular + 's')}"


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (for JSON and for messages: 5, not np.int64(5))."""
    return value.item() if isinstance(value, np.generic) else value
