"""`performance`: how the model does on live traffic, from the outcomes that came back (realized) and, for
classifiers, from the probabilities of every prediction (estimated, `estimate`), beside the cross-validated
score that `train` measured.

Realized metrics are the problem type's reported metrics (the gate metric first), overall, per
`monitoring.window` period (by when the prediction was made) and per group of each
`data.sensitive_columns` column that the live records carry. Beside them, where the log lines carry the
conformal interval or set answered with each prediction, the realized coverage (`coverage`): the share of
outcomes inside, against the level asked. Written to reports/performance/performance.json and a
self-contained performance.html (`performance_html`).

Exit codes (the CLI's): 0 fine; 1 when the realized gate metric fell more than `monitoring.max_drop` below
the cross-validated score, or when the realized coverage is below its target by more than chance allows
(the stated uncertainty is wrong: each has its own printed line); 2 (`UserError`) on bad input, and when
the window holds fewer than `monitoring.min_labelled_rows` labelled predictions: too few to tell is not an
alarm. The report is written in that case too (the estimate needs no labels).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..artifacts import files as artifacts
from ..artifacts.metadata import ModelMetadata
from ..artifacts.paths import ReportFolder
from ..core import metrics
from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import say, step
from ..core.wording import count, number
from ..drift.current import window_start
from .coverage import CoverageCheck
from .estimate import estimate
from .joined import ACTUAL, PREDICTION, TIME, Joined, carried_columns, join

PERIODS = {"day": "D", "week": "W", "month": "M"}  # pandas period codes (weeks run Monday to Sunday)
NO_ESTIMATE = "no estimate for regression: a number has no probabilities to weigh"
NO_COVERAGE = (
    "no labelled prediction carries an interval or a set: logged before they existed, or uncertainty is off"
)


@dataclass
class PerformanceSummary:
    """What `performance` found: performance.json's content, the lines the CLI prints, and the verdict:
    `degraded` (exit 1) when the gate metric dropped or the realized coverage is below target."""

    payload: dict[str, Any]
    headline: str
    degraded: bool


def run_performance(config: Config, since: str | None = None, last: str | None = None) -> PerformanceSummary:
    """Join, score, write the reports; raise UserError when there are too few labels to judge."""
    from ..serving.trained_model import read_metadata

    metadata = read_metadata(config)
    start = window_start(since, last)
    classes = metadata.classes if config.is_classification else None
    with step("joining the outcomes to the prediction log"):
        joined = join(
            config.prediction_log_dir,
            config.outcomes_dir,
            start,
            config.data.id_columns,
            config.data.sensitive_columns,
            classes,
        )
    if not len(joined.predictions) and not config.prediction_log_dir.is_dir():
        raise UserError(f"no prediction log in {config.prediction_log_dir}: serve the model first (`serve`)")
    say(
        f"  {count(len(joined.predictions), 'prediction')}, {len(joined.labelled):,} with an outcome, "
        f"{count(joined.unknown, 'outcome')} matching no prediction of the window"
    )
    payload = build_payload(config, metadata, joined, start)
    folder = ReportFolder(config.reports_dir)
    payload["outputs"] = {"json": str(folder.performance_json), "html": str(folder.performance_html)}
    with step(f"writing {folder.performance_html.relative_to(config.root)}"):
        from .performance_html import render

        artifacts.write_json(folder.performance_json, payload)
        artifacts.write_atomic(folder.performance_html, render(payload, config.project_name))
    check_enough(payload, config, folder.performance_html)
    below = bool((payload.get("coverage") or {}).get("below_target"))
    shown = _shown(config, folder.performance_html)
    lines = headline(payload, shown) + (f"\n{coverage_line(payload, shown)}" if below else "")
    return PerformanceSummary(payload, lines, payload["degraded"] or below)


def build_payload(
    config: Config, metadata: ModelMetadata, joined: Joined, start: datetime | None
) -> dict[str, Any]:
    """performance.json: counts, realized / estimated / cross-validated metrics, periods and groups."""
    problem_type, gate = config.problem_type, metrics.gate_metric(config.problem_type)
    scored = Scored.of(config, metadata, joined)
    realized = scored.realized(scored.rows)
    estimated = estimate(problem_type, joined.probabilities, joined.classes, metadata.positive_class)
    cv = {name: value for name, value in metadata.mean_scores("model").items() if name in realized}
    drop = _drop(gate, realized.get(gate.name), cv.get(gate.name))
    # One class only among the outcomes (ROC AUC needs both) is too few labels as much as too few rows.
    enough = len(scored.rows) >= config.monitoring.min_labelled_rows and realized.get(gate.name) is not None
    degraded = bool(enough and drop is not None and drop > config.monitoring.max_drop)
    carried, not_carried = carried_columns(joined.predictions, config.data.sensitive_columns)
    times = joined.predictions[TIME]
    return _clean(
        {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model_version": metadata.model_version,
            "problem_type": problem_type,
            "gate_metric": gate.name,
            "metrics": [metric.name for metric in metrics.reported(problem_type)],
            "window": {
                "start": start.isoformat() if start else (times.min().isoformat() if len(times) else None),
                "end": times.max().isoformat() if len(times) else None,
                "period": config.monitoring.window,
            },
            "counts": {
                "predictions": len(joined.predictions),
                "labelled": len(scored.rows),
                "outcomes_read": joined.outcomes_read,
                "duplicate_outcomes": joined.duplicates,
                "unknown_outcomes": joined.unknown,
                "unknown_by_source": joined.unknown_by_source,
                "unusable_outcomes": scored.unusable,
                "skipped_log_lines": joined.skipped_lines,
            },
            "cv": cv,
            "realized": realized,
            "estimated": estimated,
            "estimate_note": None if estimated is not None or config.is_classification else NO_ESTIMATE,
            "max_drop": config.monitoring.max_drop,
            "min_labelled_rows": config.monitoring.min_labelled_rows,
            "drop": drop,
            "degraded": degraded,
            "status": "degraded" if degraded else ("ok" if enough else "too_few_labels"),
            "coverage": scored.coverage(scored.rows, status=True),
            "periods": scored.periods(config.monitoring.window),
            "groups": {column: scored.groups(column) for column in carried},
            "groups_not_carried": not_carried,
            "model_versions": {
                str(key): int(value)
                for key, value in joined.predictions["model_version"].value_counts().items()
            },
        }
    )


@dataclass
class Scored:
    """The labelled predictions ready for the scorers: actual and predicted values of the target's type,
    the class probabilities beside them; `unusable` counts outcomes no metric can use (a class the model
    does not know, a number that is not one)."""

    config: Config
    metadata: ModelMetadata
    joined: Joined
    rows: pd.DataFrame  # the labelled predictions, with `row`: their position in the window's predictions
    unusable: int

    @classmethod
    def of(cls, config: Config, metadata: ModelMetadata, joined: Joined) -> Scored:
        rows = joined.labelled_rows.assign(row=joined.labelled)
        if config.is_classification:
            rows[ACTUAL] = rows[ACTUAL].map(lambda value: None if value is None else str(value))
            rows[PREDICTION] = rows[PREDICTION].astype(str)
            usable = rows[ACTUAL].isin(joined.classes).to_numpy().copy()
            usable &= ~np.isnan(joined.probabilities[joined.labelled]).any(axis=1)
        else:
            rows[ACTUAL] = pd.to_numeric(rows[ACTUAL], errors="coerce")
            rows[PREDICTION] = pd.to_numeric(rows[PREDICTION], errors="coerce")
            usable = (rows[ACTUAL].notna() & rows[PREDICTION].notna()).to_numpy()
        return cls(config, metadata, joined, rows[usable].reset_index(drop=True), int((~usable).sum()))

    def realized(self, rows: pd.DataFrame) -> dict[str, float | None]:
        """The problem type's metrics on these labelled rows (None: not computable, e.g. one class only)."""
        if not len(rows):
            return {}
        proba = self.joined.probabilities[rows["row"].to_numpy()] if self.config.is_classification else None
        predictions = metrics.Predictions(
            y_true=rows[ACTUAL].reset_index(drop=True),
            prediction=rows[PREDICTION].to_numpy(),
            proba=proba,
            classes=self.joined.classes or None,
            positive=None if self.metadata.positive_class is None else str(self.metadata.positive_class),
        )
        with warnings.catch_warnings():  # a small period or group: scikit-learn warns, the value is NaN
            warnings.simplefilter("ignore")
            return {name: _finite(value) for name, value in _score(self.config.problem_type, predictions)}

    def coverage(self, rows: pd.DataFrame, status: bool = False) -> dict[str, Any] | None:
        """Realized coverage of these labelled rows' intervals or sets (None: none of them carries one);
        with `status`, the verdict in one word and, without any, why."""
        check = CoverageCheck(
            self.config.is_classification,
            self.joined.answers,
            self.metadata.uncertainty,
            self.config.monitoring.min_labelled_rows,
        )
        found = check.summary(rows["row"].to_numpy(), rows[ACTUAL]) if len(rows) else None
        if not status:
            return found
        if found is None:
            return {"status": "none", "note": NO_COVERAGE}
        verdict = "below_target" if found["below_target"] else ("ok" if found["enough_lines"] else "too_few")
        return {"status": verdict, **found}

    def periods(self, window: str) -> list[dict[str, Any]]:
        """Per period of the window setting: predictions, labelled rows, realized and estimated metrics."""
        predictions = self.joined.predictions
        if not len(predictions):
            return []
        freq = PERIODS[window]
        starts = predictions[TIME].dt.tz_convert(None).dt.to_period(freq).dt.start_time
        labelled = starts.iloc[self.rows["row"].to_numpy()].to_numpy()
        result = []
        for start in sorted(starts.unique()):
            mine = (starts == start).to_numpy()
            proba = self.joined.probabilities[mine] if self.joined.probabilities is not None else None
            rows = self.rows[labelled == start]
            result.append(
                {
                    "period": pd.Timestamp(start).date().isoformat(),
                    "predictions": int(mine.sum()),
                    "labelled": len(rows),
                    "realized": self.realized(rows),
                    "coverage": self.coverage(rows),
                    "estimated": estimate(
                        self.config.problem_type, proba, self.joined.classes, self.metadata.positive_class
                    ),
                }
            )
        return result

    def groups(self, column: str) -> list[dict[str, Any]]:
        """Per group of a sensitive column (categories, or quartiles of a many-valued number), largest
        first: labelled rows and realized metrics."""
        from ..training.groups import group_labels

        if not len(self.rows):
            return []
        labels = group_labels(self.rows[column])
        return [
            {
                "group": str(group),
                "labelled": int((labels == group).sum()),
                **self.realized(self.rows[labels == group]),
                "coverage": self.coverage(self.rows[labels == group]),
            }
            for group in labels.value_counts().index
        ]


def _score(problem_type: str, predictions: metrics.Predictions):
    for metric in metrics.reported(problem_type):
        try:
            yield metric.name, metric.score(predictions)
        except ValueError:  # e.g. one row only
            yield metric.name, float("nan")


def _drop(gate: metrics.Metric, realized: float | None, cv: float | None) -> float | None:
    """How far the realized gate metric is below the cross-validated one, in its units, whichever way is
    better (a lower-is-better metric "drops" when it rises); None when either is missing."""
    if realized is None or cv is None:
        return None
    return -gate.gain(realized, cv)


def check_enough(payload: dict[str, Any], config: Config, page: Path) -> None:
    """Exit 2 with what to do when the labels cannot support a verdict."""
    labelled, needed = payload["counts"]["labelled"], config.monitoring.min_labelled_rows
    gate = metrics.gate_metric(config.problem_type)
    estimated = (payload.get("estimated") or {}).get(gate.name)
    guess = f"; estimated {gate.label} {number(estimated)} meanwhile" if estimated is not None else ""
    if labelled < needed:
        raise UserError(
            f"only {count(labelled, 'labelled prediction')} in the window, performance needs at least "
            f"{needed} (monitoring.min_labelled_rows) to judge: send outcomes (POST /v1/feedback or "
            f"`outcomes --input FILE`) or widen the window (--since, --last){guess}; report: "
            f"{_shown(config, page)}"
        )
    if payload["realized"].get(gate.name) is None:
        raise UserError(
            f"{gate.label} cannot be computed on the {labelled:,} labelled predictions (they hold one class "
            f"only?); send outcomes of both kinds or widen the window{guess}"
        )


def headline(payload: dict[str, Any], page: str) -> str:
    """One line: realized vs cross-validated vs estimated gate metric, the verdict, the report."""
    gate = metrics.METRICS[payload["gate_metric"]]
    counts = payload["counts"]
    realized, cv = payload["realized"][gate.name], payload["cv"].get(gate.name)
    text = f"{gate.label} {number(realized)} realized on {count(counts['labelled'], 'labelled prediction')}"
    limit, moved = number(payload["max_drop"]), "below" if gate.higher_is_better else "above"
    if cv is None:
        text += " (no cross-validated score to compare with)"
    elif payload["degraded"]:
        text += (
            f" vs {number(cv)} cross-validated: {number(payload['drop'])} {moved} it, more than "
            f"monitoring.max_drop {limit}"
        )
    else:
        text += f" vs {number(cv)} cross-validated (alarm at {limit} {moved})"
    estimated = (payload.get("estimated") or {}).get(gate.name)
    if estimated is not None:
        text += f", {number(estimated)} estimated from {count(counts['predictions'], 'prediction')}"
    found = payload.get("coverage") or {}
    if found.get("status") in ("ok", "too_few"):
        answer = "interval" if payload["problem_type"] == "regression" else "set"
        text += (
            f"; {found['covered_share']:.1%} of {count(found['lines'], 'outcome')} inside their {answer} "
            f"(target {found['target']:.1%})"
        )
    verdict = "DEGRADED" if payload["degraded"] else "fine"
    return f"performance {verdict}: {text}; report: {page}"


def coverage_line(payload: dict[str, Any], page: str) -> str:
    """The line printed when the realized coverage is below target: what happened, what to do."""
    found = payload["coverage"]
    answers = "sets" if payload["problem_type"] != "regression" else "intervals"
    return (
        f"coverage BELOW TARGET: the {answers} held {found['covered']:,} of {found['lines']:,} outcomes "
        f"({found['covered_share']:.1%}) against a target of {found['target']:.1%}; chance gives so few "
        f"with probability {found['p_value']:.2g}. The stated uncertainty is wrong for this traffic: look "
        f"for drift (`drift`), then retrain on recent data; report: {page}"
    )


def _shown(config: Config, path: Path) -> str:
    """A path as the user knows it: from the project root when inside it."""
    try:
        return path.relative_to(config.root).as_posix()
    except ValueError:
        return str(path)


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _clean(value: Any) -> Any:
    """Strict JSON: NaN and infinities become null, NumPy scalars plain values, everywhere."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
