"""The weekly summary's model versions: the shadow model (what `models compare` found this week, or that
one is set and not compared yet) and the week's switches of the current model (trained and made current,
promoted, rolled back), read from models/current.json and reports/compare/compare.json."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..artifacts.model_store import Pointer
from ..core import metrics
from ..core.wording import count, number
from ..registry.compare_html import LEVELS, agreement_text

WEEK = timedelta(days=7)
SWITCHES = {"train": "{version} trained and made current", "promote": "{version} promoted to current",
            "rollback": "rolled back to {version}"}  # fmt: skip


@dataclass
class ShadowPart:
    """The "Shadow model" part: its lines in reading order, and the level that colours it."""

    lines: list[str]
    level: str = "info"


def in_week(moment: Any, day: date) -> bool:
    """Whether an ISO time falls in the seven days that end on `day`."""
    try:
        when = datetime.fromisoformat(str(moment).replace("Z", "+00:00")).date()
    except ValueError:
        return False
    return day - WEEK < when <= day


def switches(pointer: Pointer | None, day: date) -> list[str]:
    """The week's changes of the current model, oldest first, as `<what> on <date>`."""
    if pointer is None:
        return []
    return [
        SWITCHES[event["action"]].format(version=event.get("version")) + f" on {str(event['at'])[:10]}"
        for event in pointer.history
        if event.get("action") in SWITCHES and in_week(event.get("at"), day)
    ]


def shadow_part(pointer: Pointer | None, compare: dict[str, Any] | None, day: date) -> ShadowPart | None:
    """None when no shadow is set and `models compare` did not run this week."""
    compared = compare if compare and in_week(compare.get("generated_at"), day) else None
    shadow = pointer.shadow if pointer else None
    if compared and compared.get("pairs"):
        return _compared(compared, pointer)
    if not shadow:
        return None
    since = next(
        (str(event["at"])[:10] for event in reversed(pointer.history) if event.get("action") == "shadow"),
        None,
    )
    started = f" since {since}" if since else ""
    return ShadowPart(
        [
            f"{shadow} shadows the current model {pointer.current}{started}: servers score live traffic with "
            "both and answer with the current one.",
            "Not compared this week: run `models compare` for their agreement and, once outcomes come back, "
            "their realized performance.",
            "Next step: keep watching.",
        ]
    )


def _compared(compare: dict[str, Any], pointer: Pointer | None) -> ShadowPart:
    pairs = compare["pairs"]
    live = (pointer.current, pointer.shadow) if pointer else (None, None)
    pair = next((item for item in pairs if (item["current"], item["shadow"]) == live), pairs[0])
    only = pair["only_current"]
    lines = [
        f"{pair['shadow']} against the current model {pair['current']} on live traffic from "
        f"{pair['first'][:10]} to {pair['last'][:10]}: {count(pair['paired'], 'record')} scored by both"
        + (
            f", {count(only, 'record')} by the current model only (shadow queue full or shadow off)"
            if only
            else ""
        )
        + ".",
        f"Agreement: {agreement_text(pair['agreement'])}.",
    ]
    realized = pair["realized"]
    gate = metrics.METRICS[compare["gate_metric"]]
    if realized["labelled"]:
        scores = f"{_n(realized['current'].get(gate.name))} for the current model, " + (
            f"{_n(realized['shadow'].get(gate.name))} for the shadow"
        )
        enough = "" if realized["enough"] else f" (too few to judge: {compare['min_labelled_rows']:,} needed)"
        lines.append(
            f"Realized {gate.in_sentence} on the same {count(realized['labelled'], 'labelled record')}: "
            f"{scores}{enough}."
        )
    else:
        lines.append("No outcome has come back for these records yet: realized performance is not known.")
    if pointer is not None and pointer.shadow != pair["shadow"]:
        now = f"{pointer.shadow} shadows it now" if pointer.shadow else "no shadow is set now"
        lines.append(f"Since then {pair['shadow']} stopped shadowing ({now}).")
    step = pair["next_step"]
    lines.append(f"Next step: {step['text']}.")
    return ShadowPart(lines, LEVELS.get(step["action"], "info"))


def _n(value: float | None) -> str:
    return "n/a" if value is None else number(value)
