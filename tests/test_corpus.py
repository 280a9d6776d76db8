"""Real client tables, end to end: render a project pointed at each table of the corpus
(tests/real_tables.py), then audit, train, score a file, and for some tables serve (predict and explain)
and check drift, exactly as a user would on day one. Nothing may end in a traceback; a table that cannot
beat the baseline must end in the clean gate failure; each table's known misreads are checked on what
came out.

Each table's wall time is written to build/corpus_timings.jsonl and printed at the end of the run.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from conftest import CORPUS_TIMINGS, Project, check, render
from real_tables import TABLES, RealTable, records_for_api
from serving import free_port, http, wait_ready

pytestmark = pytest.mark.slow

SCORED_ROWS = 300  # rows of each table scored by `predict`
API_ROWS = 20  # rows sent to the API and compared with batch scoring


@dataclass
class Run:
    """What one table's run produced; the table's own check reads it."""

    project: Project
    table: RealTable
    data: Path
    audit: dict[str, Any]
    contract: dict[str, Any]
    metadata: dict[str, Any] | None  # None when the gate refused the model


def no_traceback(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert "Traceback" not in result.stderr, f"{result.args}:\n{result.stderr}"
    return result


def configure(project: Project, settings: dict[str, Any]) -> None:
    """Merge extra settings into configs/project.yaml, as a user edits it."""
    path = project.root / "configs" / "project.yaml"
    current = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in settings.items():
        current.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(current, allow_unicode=True, sort_keys=False), encoding="utf-8")


def input_without_target(table: RealTable, data: Path, folder: Path) -> Path:
    """The first rows of the client's file without the target column, in the file's own format and text."""
    path = folder / f"to_score{data.suffix}"
    if data.suffix == ".parquet":
        pd.read_parquet(data).head(SCORED_ROWS).drop(columns=table.target).to_parquet(path, index=False)
    else:
        raw = pd.read_csv(data, dtype=str, keep_default_na=False, nrows=SCORED_ROWS)
        raw.drop(columns=table.target).to_csv(path, index=False)
    return path


def read_any(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_real_table(table: RealTable, tmp_path: Path, default_project: Path) -> None:
    started = time.perf_counter()
    data = table.save(tmp_path)
    answers = {
        "project_name": f"Corpus {table.name.replace('_', ' ')}",
        "problem_type": table.problem_type,
        "data_path": str(data),
        "target_column": table.target,
        "id_columns": table.id_columns,
        "time_column": table.time_column,
        "model_family": table.model_family,
    }
    root = render(tmp_path / "project", skip_tasks=True, **answers)
    project = Project(root, default_project / ".venv" / "bin" / "python")
    if table.refused_until_set:
        refused = no_traceback(project.cli("audit"))
        errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
        assert refused.returncode == 2 and len(errors) == 1, refused.stderr
        assert table.refused_until_set in errors[0], errors[0]
    if table.settings:
        configure(project, table.settings)

    check(no_traceback(project.cli("audit")))
    audit = project.json("reports/audit/audit.json")
    contract = project.json("configs/schema.json")
    assert (project.root / "reports/audit/audit.html").stat().st_size > 0

    trained = no_traceback(project.cli("train"))
    if table.expect == "gate":
        assert trained.returncode == 1, trained.stderr
        errors = [line for line in trained.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "quality gate failed" in errors[0], trained.stderr
        assert table.gate_message in errors[0], errors[0]
        assert not (project.root / "models" / "model.skops").exists()
        if table.check:
            table.check(Run(project, table, data, audit, contract, None))
    else:
        check(trained)
        run = Run(project, table, data, audit, contract, project.json("models/metadata.json"))
        assert run.metadata["gate"]["passed"]
        check_coverage(run.metadata)
        check_robustness(run.metadata)
        if table.check:
            table.check(run)
        scored = score_file(run, tmp_path)
        if table.serve:
            serve_and_compare(run, scored)
        if table.drift:
            drift_on_the_table(run)
    seconds = time.perf_counter() - started
    CORPUS_TIMINGS.parent.mkdir(exist_ok=True)
    with CORPUS_TIMINGS.open("a", encoding="utf-8") as handle:
        record = {"table": table.name, "seconds": round(seconds, 1), "finished": time.time()}
        handle.write(json.dumps(record) + "\n")


COVERAGE_TOLERANCE = 0.03  # measured coverage within 3 points of 80% and 90%, beside the allowances below
CHECKED_LEVELS = (0.8, 0.9)


def check_coverage(metadata: dict[str, Any]) -> None:
    """The conformal intervals or sets hold the share of true values asked for, measured on out-of-fold rows
    whose threshold came from the other rows (cross-fitted): within 3 points at 80% and 90%. Above that
    only as far as conformal prediction itself allows: rows tied at the threshold's score (a model that
    gives many rows the very same output) and 1 / (m + 1) for m calibration rows. The other levels
    measured (50%, 95%) within 3 points or two standard errors of a share of that many rows."""
    uncertainty = metadata["uncertainty"]
    assert uncertainty["kind"] == ("set" if metadata["classes"] else "interval"), uncertainty["reason"]
    measured = uncertainty["measured"]
    levels = {item["coverage"]: item for item in measured["levels"]}
    assert set(CHECKED_LEVELS) <= set(levels), levels
    calibration_rows = measured["rows"] * (measured["folds"] - 1) / measured["folds"]
    for level, item in levels.items():
        noise = 2 * math.sqrt(level * (1 - level) / measured["rows"])
        below = COVERAGE_TOLERANCE if level in CHECKED_LEVELS else max(COVERAGE_TOLERANCE, noise)
        above = below + item["at_threshold"] + 1 / (calibration_rows + 1)
        assert level - below <= item["measured"] <= level + above, item


def check_robustness(metadata: dict[str, Any]) -> None:
    """The robustness suite ran on the table: blanked values at every level for every feature, each trial's
    numbers in range, and the most fragile feature one of the model's own."""
    robustness = metadata["robustness"]
    assert robustness.get("trials"), robustness.get("reason")
    names = {feature["name"] for feature in metadata["features"]}
    for trial in robustness["trials"] + robustness["features"]:
        assert 0 <= trial["changed"] <= 1 and set(trial["features"]) <= names, trial
        assert trial["drop"] is None or math.isfinite(trial["drop"]), trial
    missing = [trial for trial in robustness["trials"] if trial["kind"] == "missing"]
    assert [trial["level"] for trial in missing] == [0.1, 0.3] and set(missing[0]["features"]) == names
    assert robustness["most_fragile"]["features"][0] in names


def score_file(run: Run, folder: Path) -> pd.DataFrame:
    """`predict` on rows of the client's file: one answer per row, every answer a known class or a number."""
    source = input_without_target(run.table, run.data, folder)
    output = folder / "scored.csv"
    check(no_traceback(run.project.cli("predict", "--input", str(source), "--output", str(output))))
    scored = pd.read_csv(output, keep_default_na=False, na_values=[""])
    assert len(scored) == len(read_any(source))
    assert scored["prediction"].notna().all()
    classes = run.metadata["classes"]
    if classes:
        assert set(scored["prediction"].astype(str)) <= {str(label) for label in classes}
        probabilities = scored[[f"probability_{label}" for label in classes]]
        assert ((probabilities.sum(axis=1) - 1).abs() < 1e-6).all()
    else:
        assert pd.to_numeric(scored["prediction"]).map(math.isfinite).all()
    return scored


def serve_and_compare(run: Run, scored: pd.DataFrame) -> None:
    """The real API on the same rows: the same answers as batch scoring, and explanations that add up."""
    port, key = free_port(), "corpus-key"
    env = {**run.project.env, "API_KEY": key}
    server = subprocess.Popen(
        [run.project.python, "-m", run.project.package, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=run.project.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server)
        status, model = http("GET", f"{url}/v1/model", key=key)
        assert status == 200, model
        source = input_without_target(run.table, run.data, run.project.root)
        rows = (
            pd.read_parquet(source)
            if source.suffix == ".parquet"
            else pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])
        )
        records = records_for_api(rows.head(API_ROWS), model["features"])
        status, predicted = http("POST", f"{url}/v1/predict", {"records": records}, key)
        assert status == 200, predicted
        batch = scored.head(API_ROWS)
        if run.metadata["classes"]:
            assert [str(label) for label in predicted["predictions"]] == batch["prediction"].astype(
                str
            ).tolist()
            for answer, (_, row) in zip(predicted["probabilities"], batch.iterrows(), strict=True):
                for label, probability in answer.items():
                    assert probability == pytest.approx(row[f"probability_{label}"], abs=1e-6)
            sets = [[str(label) for label in json.loads(text)] for text in batch["set"]]
            assert [[str(label) for label in labels] for labels in predicted["set"]] == sets
        else:
            assert predicted["predictions"] == pytest.approx(batch["prediction"].tolist(), rel=1e-6, abs=1e-6)
            bounds = batch[["interval_low", "interval_high"]].to_numpy().ravel().tolist()
            answered = [bound for interval in predicted["interval"] for bound in interval]
            assert answered == pytest.approx(bounds, rel=1e-6, abs=1e-6)
        # The same input warnings, record by record, as the `warnings` column of batch scoring.
        assert predicted["warnings"] == [json.loads(text) for text in batch["warnings"]]
        status, explained = http("POST", f"{url}/v1/explain", {"records": records}, key)
        assert status == 200, explained
        for index, row in enumerate(explained["explanations"]):
            assert set(row["contributions"]) <= {feature["name"] for feature in model["features"]}
            total = row["base_value"] + sum(row["contributions"].values())
            expected = explained_output(row, predicted, index)
            if expected is not None:
                assert total == pytest.approx(expected, rel=1e-5, abs=1e-5), row
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "Traceback" not in errors, errors


def explained_output(row: dict[str, Any], predicted: dict[str, Any], index: int) -> float | None:
    """The model output that an explanation must add up to, where the prediction answer reveals it."""
    if row["scale"] == "raw" and "probabilities" not in predicted:
        return predicted["predictions"][index]
    if row["scale"] == "probability":
        return predicted["probabilities"][index][str(row["explained_class"])]
    if row["scale"] == "log-odds":
        probability = predicted["probabilities"][index][str(row["explained_class"])]
        return math.log(probability / (1 - probability))
    return None  # a multiclass softmax score: not visible in /v1/predict


def drift_on_the_table(run: Run) -> None:
    """`drift --current` on the table itself: a verdict (0 or 1) and a report, never an error."""
    result = no_traceback(run.project.cli("drift", "--current", str(run.data)))
    assert result.returncode in (0, 1), result.stderr
    report = run.project.json("reports/drift/drift.json")
    assert report["n_columns"] >= 1
