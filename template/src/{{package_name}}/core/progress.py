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


class RowProgress:
    """Progress of work counted in rows: a line at most every `every` seconds with rows done, rows/s and,
    when the total is known, the time left; `finish()` prints the last line."""

    def __init__(self, label: str, total: int | None = None, every: float = 2.0) -> None:
        self.label, self.total, self.every = label, total, every
        self.rows = 0
        self.started = self.shown = time.perf_counter()

    def add(self, rows: int) -> None:
        self.rows += rows
        now = time.perf_counter()
        if now - self.shown >= self.every:
            self.shown = now
            say(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.perf_counter()) - self.started, 1e-9)
        rate = self.rows / elapsed
        done = f"{self.rows:,}" + (f" / {self.total:,}" if self.total else "")
        text = f"  {self.label}: {done} rows, {rate:,.0f} rows/s"
        if self.total and rate > 0 and self.rows < self.total:
            text += f", about {(self.total - self.rows) / rate:,.0f} s left"
        return text

    def finish(self) -> None:
        say(self.line() + f" in {time.perf_counter() - self.started:.1f} s")
