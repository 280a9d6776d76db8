"""Everything that touches Evidently: per-column verdicts, the HTML report, the workspace.

The column types Evidently sees come from an explicit `DataDefinition` built from the data contract, never
from its own guessing. Verdicts use Evidently's drift methods themselves (the functions its `ValueDrift`
metric calls), on exactly the rows the report shows; the report's own scores are checked against them.
Evidently takes seconds to import: it is imported here, inside the functions, only when `drift` runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core.errors import UserError
from .columns import NUMERIC, Column, compared_values


@dataclass(frozen=True)
class Verdict:
    score: float
    drifted: bool


def _column_type(column: Column):
    from evidently.legacy.core import ColumnType

    return ColumnType.Numerical if column.values == NUMERIC else ColumnType.Categorical


def column_verdicts(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[Column]
) -> dict[str, Verdict]:
    """Evidently's score and verdict per column, the way `ValueDrift` computes them (infinite values and
    missing ones left out), each by its column's threshold. A column with no value at all on one side gets
    no verdict here (see `monitor`)."""
    from evidently.legacy.calculations.stattests import get_stattest

    verdicts = {}
    for column in columns:
        ref = compared_values(reference[column.name], column)
        cur = compared_values(current[column.name], column)
        if ref.empty or cur.empty:
            continue
        kind = _column_type(column)
        result = get_stattest(ref, cur, kind, column.method)(ref, cur, kind, column.threshold)
        verdicts[column.name] = Verdict(float(result.drift_score), bool(result.drifted))
    return verdicts


def score(reference: pd.Series, current: pd.Series, column: Column) -> float:
    """The column's method's score between two samples of values (already without missing ones), by
    Evidently's own function: what `noise` draws on for the methods it has no formula for."""
    from evidently.legacy.calculations.stattests import get_stattest

    kind = _column_type(column)
    test = get_stattest(reference, current, kind, column.method)
    return float(test(reference, current, kind, column.threshold).drift_score)


def data_definition(columns: list[Column]):
    from evidently import DataDefinition

    return DataDefinition(
        numerical_columns=[column.name for column in columns if column.values == NUMERIC],
        categorical_columns=[column.name for column in columns if column.values != NUMERIC],
    )


def build_report(reference: pd.DataFrame, current: pd.DataFrame, columns: list[Column], drift_share: float):
    """Evidently's report: the count and share of drifted columns, and per column its distributions and
    score. Returns the snapshot and its score per column."""
    from evidently import Dataset, Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    names = [column.name for column in columns]
    metrics = [
        DriftedColumnsCount(
            columns=names,
            drift_share=drift_share,
            per_column_method={column.name: column.method for column in columns},
            per_column_threshold={column.name: column.threshold for column in columns},
        )
    ]
    metrics += [ValueDrift(column=c.name, method=c.method, threshold=c.threshold) for c in columns]
    definition = data_definition(columns)
    snapshot = Report(metrics, include_tests=True).run(
        current_data=Dataset.from_pandas(current[names], data_definition=definition),
        reference_data=Dataset.from_pandas(reference[names], data_definition=definition),
    )
    scores = {}
    for metric in snapshot.dict()["metrics"]:
        column = metric.get("config", {}).get("column")
        if column is not None:
            scores[column] = float(metric["value"])
    return snapshot, scores


def check_agreement(verdicts: dict[str, Verdict], report_scores: dict[str, float]) -> None:
    """The report must show the scores the verdicts are based on; anything else is a bug to stop for."""
    for name, verdict in verdicts.items():
        shown = report_scores.get(name)
        if shown is None or not math.isclose(shown, verdict.score, rel_tol=1e-9, abs_tol=1e-12):
            raise RuntimeError(
                f"Evidently's report shows {shown} for {name!r}, the verdict used {verdict.score}"
            )


def save_html(snapshot, path: Path) -> None:
    """Evidently's self-contained HTML (scripts inlined: it opens offline), written atomically."""
    from ..artifacts.files import write_atomic

    write_atomic(path, snapshot.get_html_str(as_iframe=False))


def add_to_workspace(snapshot, workspace: Path, project_name: str) -> str:
    """Add the run to a local Evidently workspace (`evidently ui --workspace DIR` shows the history);
    the project is found by name or created. Returns the project's id."""
    from evidently.ui.workspace import Workspace

    try:
        space = Workspace.create(str(workspace))
        found = [project for project in space.list_projects() if project.name == project_name]
        project = found[0] if found else space.create_project(project_name)
        space.add_run(project.id, snapshot)
    except (OSError, ValueError) as exc:
        raise UserError(f"could not add the run to the Evidently workspace {workspace}: {exc}") from None
    return str(project.id)
