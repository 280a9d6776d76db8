"""The week's input warnings in the weekly summary: how many live predictions of the prediction log carried
a warning (a value outside the training range, an unseen category, a value missing where training had none;
`serving.input_warnings`), what share of the week's predictions that is, and the most frequent
feature/kind pairs. Log lines written before warnings existed count as predictions without any."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from ..artifacts.log_line import stamp
from ..core.wording import count

TOP_PAIRS = 3


@dataclass(frozen=True)
class LiveWarnings:
    """The input warnings of the live predictions of one week."""

    predictions: int  # live predictions logged in the week
    warned: int  # of them, those that carried at least one warning
    top: list[tuple[str, str, int]] = field(default_factory=list)  # (feature, kind, warnings), most first

    @property
    def share(self) -> float:
        return self.warned / self.predictions if self.predictions else 0.0

    def sentence(self) -> str:
        """The week in one sentence, for the health section."""
        if not self.predictions:
            return "Input warnings: no live predictions logged this week."
        carried = (
            f"Input warnings: {self.warned:,} of {count(self.predictions, 'live prediction')} "
            f"({self.share:.1%}) carried a warning this week"
        )
        if not self.top:
            return carried + "."
        pairs = ", ".join(f"{feature} {kind.replace('_', ' ')} ({n:,})" for feature, kind, n in self.top)
        return f"{carried}; most frequent: {pairs}."


def read_live_warnings(directory: Path, day: date, week: timedelta) -> LiveWarnings:
    """The warnings of the predictions logged in `directory` in the `week` that ends with `day` (UTC)."""
    from ..monitoring.joined import read_log_window

    start = datetime.combine(day - week + timedelta(days=1), time(), tzinfo=UTC)
    end = stamp(start + week)
    entries, _ = read_log_window(directory, start)
    pairs: Counter[tuple[str, str]] = Counter()
    predictions = warned = 0
    for entry in entries:
        if entry.timestamp >= end:  # after the week (a report for an earlier day)
            continue
        predictions += 1
        found = [w for w in entry.warnings or () if isinstance(w, dict)]
        warned += bool(found)
        pairs.update((str(w.get("feature")), str(w.get("kind"))) for w in found)
    top = [(feature, kind, n) for (feature, kind), n in pairs.most_common(TOP_PAIRS)]
    return LiveWarnings(predictions, warned, top)
