"""Console output: one progress line per step that takes more than a moment (with its duration), and
numbers written the way people read them."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def say(message: str) -> None:
    """Print a progress line to stderr (stdout stays free for results)."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def step(label: str) -> Iterator[None]:
    """Announce a step, then report how long it took."""
    say(f"… {label}")
    start = time.perf_counter()
    yield
    say(f"  done in {time.perf_counter() - start:.1f} s")


def number(value: float, digits: int = 3, *, signed: bool = False) -> str:
    """A score or a difference with fixed decimals; a value that rounds to zero shows as 0, never as -0."""
    rounded = round(float(value), digits) + 0.0  # adding 0.0 turns -0.0 into 0.0
    return f"{rounded:{'+' if signed else ''}.{digits}f}"
