"""Console output: one progress line per step that takes more than a moment, with its duration."""

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
