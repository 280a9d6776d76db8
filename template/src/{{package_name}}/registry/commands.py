"""`models list | promote VERSION | rollback | shadow VERSION | shadow --off`: the versioned store
(`artifacts.model_store`) as a user works with it. Each change is checked first (the version's files
against its manifest), made under the store's lock, and picked up by running servers within
`api.model_poll_seconds` without a restart.
"""

from __future__ import annotations

from typing import Any

from ..artifacts import files as artifacts
from ..artifacts.model_store import ModelStore, Pointer, VersionEntry
from ..artifacts.paths import (
    CALIBRATION_FIGURE,
    FIGURES_DIR,
    IMPORTANCE_FIGURE,
    MODEL_CARD_FILE,
    ModelFolder,
    ReportFolder,
)
from ..core.config import Config
from ..core.wording import number


def list_versions(config: Config) -> list[VersionEntry]:
    return ModelStore(config.models_dir).entries()


def version_table(entries: list[VersionEntry]) -> str:
    """The versions as an aligned text table, newest first."""
    if not entries:
        return "no model versions yet: run `train`"
    header = ("version", "status", "trained at", "data", "rows", "gate metric")
    rows = [header] + [
        (
            entry.version,
            entry.status,
            (entry.trained_at or "?").replace("T", " ")[:19],
            entry.data or "?",
            f"{entry.rows:,}" if isinstance(entry.rows, int) else "?",
            f"{entry.metric} {number(entry.score)}" if entry.metric and entry.score is not None else "?",
        )
        for entry in reversed(entries)
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def promote(config: Config, version: str) -> Pointer:
    store = ModelStore(config.models_dir)
    with store.lock():
        pointer = store.promote(version)
        publish_model_card(store.folder(version), ReportFolder(config.reports_dir))
    return pointer


def rollback(config: Config) -> tuple[str | None, Pointer]:
    """Back to the previous current model: (the version left, the new pointer)."""
    store = ModelStore(config.models_dir)
    with store.lock():
        left = store.read_pointer().current
        pointer = store.rollback()
        publish_model_card(store.folder(str(pointer.current)), ReportFolder(config.reports_dir))
    return left, pointer


def shadow(config: Config, version: str | None) -> Pointer:
    store = ModelStore(config.models_dir)
    with store.lock():
        return store.set_shadow(version)


def pointer_summary(pointer: Pointer) -> dict[str, Any]:
    return {
        "current": pointer.current,
        "shadow": pointer.shadow,
        "rollback_to": (pointer.previous or [None])[-1],
    }


def publish_model_card(folder: ModelFolder, reports: ReportFolder) -> None:
    """reports/model_card.md and its figures: those of the current model (copied from its version)."""
    for name, target in (
        (MODEL_CARD_FILE, reports.model_card),
        (f"{FIGURES_DIR}/{IMPORTANCE_FIGURE}", reports.importance_figure),
        (f"{FIGURES_DIR}/{CALIBRATION_FIGURE}", reports.calibration_figure),
    ):
        source = folder.root / name
        if source.is_file():
            artifacts.write_atomic(target, source.read_bytes())
        elif name != MODEL_CARD_FILE:
            target.unlink(missing_ok=True)  # a figure of another model would mislead
