"""`drift`: compare live traffic with the training reference; write reports/drift/drift.json and drift.html.

Exit codes (the CLI's): 0 no dataset drift, 1 dataset drift, 2 an error, including too few live rows to
judge (a quiet week is not an alarm). The dataset drifts when at least `drift.drift_share` of the monitored
columns (features and the model's output) drifted.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..artifacts import files as artifacts
from ..artifacts.metadata import ModelMetadata
from ..artifacts.paths import PREDICTION_LOG_SUFFIX, ReportFolder
from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import say, step
from .columns import Column, monitored_columns
from .current import Current, read_file, read_log, read_reference, window_start


def run_drift(
    config: Config,
    current_path: Path | None = None,
    since: str | None = None,
    last: str | None = None,
    workspace: Path | None = None,
    sample_rows: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run the monitor; returns what drift.json holds (plus the paths written)."""
    from ..serving.trained_model import read_metadata

    started = time.perf_counter()
    settings = config.drift
    sample_rows = settings.sample_rows if sample_rows is None else sample_rows
    seed = settings.seed if seed is None else seed
    if sample_rows < 0:
        raise UserError(f"--sample-rows is {sample_rows}; use 0 (every row) or a positive number")
    metadata = read_metadata(config)
    columns, skipped = monitored_columns(metadata, settings)
    start = window_start(since, last)
    with step("reading the training reference and the live rows"):
        reference = read_reference(config, metadata, columns)
        current = _read_current(config, current_path, columns, metadata, start, sample_rows, seed)
    say(f"  {current.rows:,} live rows in {current.source}, {current.used:,} compared (seed {seed})")
    if current.used < settings.min_current_rows:
        raise UserError(
            f"only {current.used} live rows in {current.source}"
            f"{' since ' + start.isoformat() if start else ''}; drift needs at least "
            f"{settings.min_current_rows} (drift.min_current_rows) to judge: wait for more traffic or "
            "widen the window"
        )
    summary = _compare(config, metadata, columns, skipped, reference, current, workspace)
    summary["sampling"] = {"sample_rows": sample_rows, "seed": seed}
    summary["seconds"] = round(time.perf_counter() - started, 2)
    artifacts.write_json(ReportFolder(config.reports_dir).drift_json, summary)
    return summary


def _read_current(config, current_path, columns, metadata, start, sample_rows, seed) -> Current:
    if current_path is not None:
        return read_file(current_path, columns, config, start, sample_rows, seed)
    directory = config.prediction_log_dir
    current = read_log(directory, columns, metadata, start, sample_rows, seed)
    if current.rows == 0 and not any(directory.glob(f"*{PREDICTION_LOG_SUFFIX}")):
        raise UserError(
            f"no prediction log in {directory}: serve the model first (`serve`), or give --current FILE"
        )
    return current


def _compare(config, metadata, columns, skipped, reference, current, workspace) -> dict[str, Any]:
    from . import evidently_run

    with step("loading Evidently"):
        import evidently  # noqa: F401  (seconds on a cold start: say so before it happens)
    with step(f"comparing {len(columns)} columns with Evidently"):
        verdicts = evidently_run.column_verdicts(reference, current.frame, columns)
        compared = [column for column in columns if column.name in verdicts]
        snapshot, scores = evidently_run.build_report(
            reference, current.frame, compared, config.drift.drift_share
        )
        evidently_run.check_agreement(verdicts, scores)
    results = {column.name: _column_result(column, verdicts.get(column.name)) for column in columns}
    summary = _summary(config, metadata, columns, skipped, results, reference, current)
    folder = ReportFolder(config.reports_dir)
    html = folder.drift_html
    with step(f"writing {html.relative_to(config.root)}"):
        evidently_run.save_html(snapshot, html)
    summary["outputs"] = {"json": str(folder.drift_json), "html": str(html)}
    if workspace is not None:
        project_id = evidently_run.add_to_workspace(snapshot, workspace, config.project_name)
        summary["outputs"]["workspace"] = {"path": str(workspace), "project_id": project_id}
    return summary


def _column_result(column: Column, verdict) -> dict[str, Any]:
    result = {"kind": column.kind, "method": column.method, "threshold": column.threshold}
    if verdict is None:
        # No value at all on one side (a feature the callers stopped sending): no distance to compute, and
        # certainly a change worth an alarm.
        return {**result, "method": "no values on one side", "score": 1.0, "drifted": True}
    return {**result, "score": verdict.score, "drifted": verdict.drifted}


def _summary(
    config, metadata: ModelMetadata, columns, skipped, results, reference, current
) -> dict[str, Any]:
    drifted = [name for name, result in results.items() if result["drifted"]]
    share = len(drifted) / len(columns)
    output = next(column for column in columns if column.kind == "prediction")
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_version": str(metadata.model_version),
        "dataset_drift": share >= config.drift.drift_share,
        "drift_share_threshold": config.drift.drift_share,
        "share_of_drifted_columns": share,
        "n_columns": len(columns),
        "n_drifted_columns": len(drifted),
        "drifted_columns": drifted,
        "rows": {"reference": len(reference), "current": current.rows, "current_used": current.used},
        "window": {"start": current.window_start, "end": current.window_end},
        "current_source": current.source,
        "columns": results,
        "prediction_drift": {
            "column": output.name,
            **{k: v for k, v in results[output.name].items() if k != "kind"},
        },
        "not_compared": {item.name: item.reason for item in skipped},
        "log_model_versions": current.model_versions,
        "skipped_log_lines": current.skipped_lines,
    }
