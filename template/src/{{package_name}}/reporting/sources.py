"""What the weekly summary is computed from: the experiment log, the latest audit, drift check and performance
check, the week's input warnings in the prediction log (`live_warnings`), the model's metadata, the model
pointer (models/current.json: the current model, its shadow, the switches) and the latest comparison with the
shadow (`models compare`), each read through its artifact's owner. Every input may be missing: the summary
then says what has not been run yet instead of failing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..artifacts.audit_summary import AuditSummary
from ..artifacts.experiments import CHAMPION, ExperimentEntry, read_experiments
from ..artifacts.metadata import ModelMetadata
from ..artifacts.model_store import ModelStore, Pointer, model_folder
from ..artifacts.paths import ModelFolder, ReportFolder
from ..core.config import Config
from ..core.errors import UserError
from .live_warnings import LiveWarnings, read_live_warnings


@dataclass
class Sources:
    """What the summary is computed from; None (or empty) where that step has not run yet."""

    experiments: list[ExperimentEntry] = field(default_factory=list)
    audit: AuditSummary | None = None
    drift: dict[str, Any] | None = None
    performance: dict[str, Any] | None = None  # reports/performance/performance.json
    metadata: ModelMetadata | None = None
    pointer: Pointer | None = None  # models/current.json; None in a project without versions yet
    compare: dict[str, Any] | None = None  # reports/compare/compare.json
    warnings: LiveWarnings | None = None  # the week's input warnings (logs/predictions/)


def read_sources(config: Config, day: date | None = None, week: timedelta | None = None) -> Sources:
    """The inputs; with `day` and `week`, the input warnings of the prediction log in the week that ends
    with `day`."""
    # `train --data` also logs the current model's scores on the challenger's folds (status `champion`):
    # a comparison, not a training run, so it is not counted or plotted as an experiment.
    reports = ReportFolder(config.reports_dir)
    experiments = read_experiments(reports.experiments)
    metadata = _read_json(model_folder(config.models_dir).metadata)
    store = ModelStore(config.models_dir)
    return Sources(
        experiments=[e for e in experiments if e.status != CHAMPION],
        audit=AuditSummary.read(reports.audit_json) if reports.audit_json.is_file() else None,
        drift=_read_json(reports.drift_json),
        performance=_read_json(reports.performance_json),
        metadata=ModelMetadata.from_json(metadata) if metadata else None,
        pointer=store.read_pointer() if store.pointer_path.is_file() else None,
        compare=_read_json(reports.compare_json),
        warnings=read_live_warnings(config.prediction_log_dir, day, week) if day and week else None,
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); rerun the command that writes it") from None


def source_names(sources: Sources) -> list[str]:
    """The inputs as the reader knows them (paths from the project root), marked when not there yet."""
    reports, models = ReportFolder(Path("reports")), ModelFolder(Path("models"))
    found = {
        reports.experiments: bool(sources.experiments),
        reports.audit_json: sources.audit is not None,
        reports.drift_json: sources.drift is not None,
        reports.performance_json: sources.performance is not None,
        models.metadata: sources.metadata is not None,
    }
    names = [path.as_posix() + ("" if present else " (not there yet)") for path, present in found.items()]
    if sources.compare is not None:  # only where a shadow was compared: most projects never run one
        names.append(reports.compare_json.as_posix())
    if sources.warnings is not None and sources.warnings.predictions:
        names.append("logs/predictions/")
    return names
