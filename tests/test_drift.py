"""The drift monitor of generated projects: trustworthy verdicts on synthetic scenarios for every problem
type, and the `drift` command end to end (files it writes, exit codes, the prediction log, the time window,
too little traffic).

Projects are rendered with the linear model family (the monitor does not depend on the model, and it
trains in seconds) and run in the default project's installed environment with their own `src/`.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import PROJECT_ENV, check, render, run

# One group: the three trained projects of the module are built once, on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("drift")]

SCENARIOS = Path(__file__).with_name("drift_scenarios.py")


class Trained:
    """A rendered project, trained, whose commands run in the default project's environment."""

    def __init__(self, root: Path, python: Path) -> None:
        self.root = root
        self.python = python
        self.package = yaml.safe_load((root / ".copier-answers.yml").read_text())["package_name"]
        self.env = {**PROJECT_ENV, "PYTHONPATH": str(root / "src")}
        self.env.pop("VIRTUAL_ENV", None)

    def cli(self, *args: str | Path):
        return run([self.python, "-m", self.package, *args], cwd=self.root, env=self.env)

    def drift_json(self) -> dict:
        return json.loads((self.root / "reports/drift/drift.json").read_text())


PROBLEM_TYPES = ("binary", "multiclass", "regression")


@pytest.fixture(scope="module")
def trained(default_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trained]:
    """One trained project per problem type."""
    made = {}
    for problem_type in PROBLEM_TYPES:
        root = render(
            tmp_path_factory.mktemp(f"drift-{problem_type}") / "project",
            project_name=f"Drift {problem_type}",
            problem_type=problem_type,
            model_family="linear",
            skip_tasks=True,
        )
        made[problem_type] = Trained(root, default_project / ".venv" / "bin" / "python")
        check(made[problem_type].cli("train"))
    return made


@pytest.fixture(scope="module")
def scenario_results(trained: dict[str, Trained]) -> dict[str, dict]:
    """drift_scenarios.py on the three projects, in one process (Evidently is imported once)."""
    project = trained["binary"]
    roots = [str(trained[problem_type].root) for problem_type in PROBLEM_TYPES]
    result = check(run([project.python, SCENARIOS, *roots], cwd=project.root, env=PROJECT_ENV))
    by_root = json.loads(result.stdout.strip().splitlines()[-1])
    return {problem_type: by_root[str(trained[problem_type].root)] for problem_type in PROBLEM_TYPES}


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_verdicts_flag_the_changed_column_and_rarely_raise_false_alarms(
    scenario_results, problem_type
) -> None:
    report = scenario_results[problem_type]
    assert set(report["false_alarms"]) == {"500", "100000"}
    for rows, counts in report["false_alarms"].items():
        assert counts["runs"] == 20
        # The alarm (exit code 1: any rule of drift.alarm_rules) on unchanged traffic: at most 2 of the 20
        # seeds, and so for the share rule alone.
        assert counts["alarms"] <= 2 and counts["dataset_alarms"] <= 2, (rows, counts)
        assert set(counts["rules"]) == {"prediction", "top_features", "drift_share"}
        assert max(counts["rules"].values()) <= counts["alarms"], (rows, counts)
        # Single columns: judged by what unchanged data scores by chance at this many rows, none may be
        # flagged in more than a tenth of the runs (a wrongly typed column, an identifier compared as a
        # category, would be flagged every time).
        noisy = {name: flagged for name, flagged in counts["columns"].items() if flagged > 2}
        assert not noisy, (rows, counts)
    scenarios = report["scenarios"]
    single = {"numeric_mean_shift", "category_mix", "prediction_shift", "top_feature_shift"}
    assert set(scenarios) == single | {"dataset_shift"}
    top = report["top_features"]
    assert 1 <= len(top) <= 3, report
    for name in single:
        scenario = scenarios[name]
        # The changed column is flagged and no other; its rule fires: the output's, the important features'
        # (a change of an unimportant feature alone raises no alarm).
        assert scenario["flagged"] == scenario["changed"], (name, scenario)
        [changed] = scenario["changed"]
        expected = ["top_features"] if changed in top else []
        expected = ["prediction"] if name == "prediction_shift" else expected
        assert scenario["fired_rules"] == expected and scenario["alarm"] == bool(expected), (name, scenario)
    assert scenarios["top_feature_shift"]["changed"] == [top[0]]
    # Every feature moved: the share rule fires, and the important features' rule with it.
    moved = scenarios["dataset_shift"]
    assert moved["flagged"] == moved["changed"] and len(moved["changed"]) == report["columns"] - 1, moved
    assert moved["fired_rules"] == ["top_features", "drift_share"], moved


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_few_live_rows_of_many_categories_are_no_false_alarm(scenario_results, problem_type) -> None:
    """A 50-category column with 500 unchanged live rows scores above the configured threshold by chance
    (nearly every run, judged by it alone); judged by what unchanged data scores at that size, it is flagged
    in at most 2 of 20 runs, at 100,000 rows too. Real changes are still flagged, at 500 rows and at
    drift.min_current_rows (200): 40% of the rows moved to one category of the 50-category or the
    2-category column, a numeric feature moved by half a standard deviation."""
    report = scenario_results[problem_type]
    unchanged = report["many_categories_unchanged"]
    assert set(unchanged) == {"500", "100000"}
    assert unchanged["500"]["flagged_by_configured_threshold"] >= 10, unchanged  # the problem is real
    assert unchanged["500"]["threshold"] > unchanged["500"]["median_score"] > 0.1, unchanged
    for rows, counts in unchanged.items():
        assert counts["runs"] == 20 and counts["flagged"] <= 2, (rows, counts)
    changes = report["small_sample_changes"]
    assert {change["rows"] for change in changes.values()} == {500, 200}
    assert {name.rsplit("_", 1)[0] for name in changes} >= {"many_categories", "two_categories"}
    assert len(changes) == 6, changes  # and the numeric feature with the most distinct values
    for name, change in changes.items():
        assert change["flagged"] == change["changed"], (name, change)
        assert change["score"] >= change["threshold"], (name, change)


def shifted_rows(project: Trained, rows: int, seed: int, shift: bool) -> pd.DataFrame:
    """Rows of the sample data the model was trained on, optionally with most numeric features moved by
    one standard deviation (a dataset-wide shift)."""
    settings = yaml.safe_load((project.root / "configs/project.yaml").read_text())
    data = pd.read_csv(project.root / settings["data"]["path"])
    frame = data.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    if shift:
        metadata = json.loads((project.root / "models/metadata.json").read_text())
        for feature in metadata["features"]:
            if feature["kind"] == "numeric":
                frame[feature["name"]] = frame[feature["name"]] + data[feature["name"]].std()
            elif feature["kind"] == "categorical":
                frame[feature["name"]] = data[feature["name"]].dropna().value_counts().index[-1]
    return frame


def test_drift_command_on_files(trained, tmp_path: Path) -> None:
    """`drift --current FILE`: the model scores rows that come without predictions; exit 0 without an
    alarm, 1 with it; drift.json has the documented keys and drift.html opens offline; the training file
    itself is compared by its out-of-fold outputs (no alarm)."""
    project = trained["binary"]
    stable, moved = tmp_path / "stable.csv", tmp_path / "moved.csv"
    shifted_rows(project, 3000, 1, shift=False).to_csv(stable, index=False)
    shifted_rows(project, 3000, 2, shift=True).to_csv(moved, index=False)

    result = project.cli("drift", "--current", stable)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no alarm;")
    summary = project.drift_json()
    keys = {
        "generated_at",
        "model_version",
        "dataset_drift",
        "drift_share_threshold",
        "share_of_drifted_columns",
    }
    keys |= {"n_columns", "n_drifted_columns", "rows", "window", "columns", "prediction_drift"}
    keys |= {"alarm", "rules", "fired_rules", "rows_seen_in_training", "noise_thresholds"}
    assert keys <= set(summary)
    # Each column judged by the larger of its configured threshold and what unchanged data scores by
    # chance at this many rows; a p-value test (none here) would have no noise threshold.
    for name, column in summary["columns"].items():
        assert column["noise_threshold"] is not None, name
        expected = max(column["configured_threshold"], column["noise_threshold"])
        assert column["threshold"] == expected and column["configured_threshold"] == 0.1, (name, column)
    raised = [name for name, column in summary["columns"].items() if column["threshold"] > 0.1]
    assert summary["noise_thresholds"]["raised_columns"] == raised
    assert summary["alarm"] is False and summary["fired_rules"] == []
    # Rows drawn from the training data: every one is a training row, compared by its out-of-fold output.
    assert summary["rows_seen_in_training"] == 3000
    assert summary["dataset_drift"] is False and summary["rows"] == {
        "reference": 5000,
        "current": 3000,
        "current_used": 3000,
    }
    kinds = {column["kind"] for column in summary["columns"].values()}
    assert kinds == {"numeric", "categorical", "prediction"}
    assert summary["prediction_drift"]["column"] == "prediction_probability"
    assert summary["columns"]["prediction_probability"]["kind"] == "prediction"
    assert summary["n_columns"] == len(summary["columns"])
    html = (project.root / "reports/drift/drift.html").read_text()
    assert "monthly_charges" in html and "<script" in html
    # Everything inlined (no script, style sheet or image fetched from the network): it opens offline.
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", html)

    result = project.cli("drift", "--current", tmp_path / "missing.csv")
    assert result.returncode == 2 and "--current file" in result.stderr and "Traceback" not in result.stderr

    result = project.cli("drift", "--current", moved, "--sample-rows", "1000", "--seed", "3")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("ALARM: ")
    summary = project.drift_json()
    assert summary["dataset_drift"] is True and summary["rows"]["current_used"] == 1000
    assert summary["alarm"] is True and "drift_share" in summary["fired_rules"]
    assert summary["rows_seen_in_training"] == 0  # every row moved: none is a training row
    assert summary["share_of_drifted_columns"] >= summary["drift_share_threshold"]
    assert summary["sampling"] == {"sample_rows": 1000, "seed": 3}


def test_drift_command_on_the_prediction_log(trained, tmp_path: Path) -> None:
    """The default source is logs/predictions/ in the API's format; --since/--last select a window; too
    little traffic is an error (exit 2, one line), not an alarm; --workspace adds the run to an Evidently
    workspace."""
    project = trained["multiclass"]
    metadata = json.loads((project.root / "models/metadata.json").read_text())
    names = [feature["name"] for feature in metadata["features"] if not feature.get("derived")]
    log = project.root / "logs" / "predictions"
    shutil.rmtree(log, ignore_errors=True)
    log.mkdir(parents=True)

    result = project.cli("drift")
    assert result.returncode == 2 and "error:" in result.stderr and "Traceback" not in result.stderr

    rows = shifted_rows(project, 600, 5, shift=False)
    labels = rows[metadata["target"]].tolist()  # as predicted classes: a class mix like the model's
    lines = []
    for index, record in enumerate(rows[names].to_dict(orient="records")):
        day = "2025-05-01" if index < 150 else "2025-06-01"
        inputs = {
            key: (None if isinstance(value, float) and np.isnan(value) else value)
            for key, value in record.items()
        }
        entry = {
            "timestamp": f"{day}T12:{index // 60:02d}:{index % 60:02d}.000000Z",  # in time order, as written
            "request_id": f"r{index}",
            "model_version": metadata["model_version"],
            "inputs": inputs,
            "prediction": labels[index],
            "prediction_probability": 0.7,
            "probabilities": {},
        }
        lines.append(json.dumps(entry, default=str) + "\n")
    (log / "2025-05-01T000000.000000Z-1.jsonl").write_text("".join(lines) + '{"timestamp": "2025-06-0')
    result = project.cli("drift", "--since", "2025-05-15", "--workspace", tmp_path / "workspace")
    assert result.returncode == 0, result.stderr
    summary = project.drift_json()
    assert summary["rows"]["current"] == 450  # June's rows; the unfinished last line is left out
    assert summary["window"] == {"start": "2025-05-15T00:00:00Z", "end": "2025-06-01T12:09:59.000000Z"}
    assert summary["columns"]["prediction"]["kind"] == "prediction"
    assert summary["prediction_drift"]["method"] == "jensenshannon"  # predicted classes: categorical
    assert summary["log_model_versions"] == {metadata["model_version"]: 450}
    # The logged inputs are rows of the training data: compared by their out-of-fold outputs (here the
    # logged classes, the target's own, are replaced by what the model said of them unseen).
    assert summary["rows_seen_in_training"] == 450 and summary["alarm"] is False
    assert any((tmp_path / "workspace").rglob("*.json")), "the run was not added to the workspace"

    result = project.cli("drift", "--last", "7d")  # nothing in the last week: too few rows, exit 2
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "drift.min_current_rows" in lines[0], result.stderr
    result = project.cli("drift", "--last", "soon")
    assert result.returncode == 2 and "--last is 'soon'" in result.stderr
