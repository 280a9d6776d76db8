"""Render projects with many answers and run what they render: audit, train, the generated tests, the
notebook, and the errors a user meets with bad data.

The default project (the `default_project` fixture of conftest.py) is installed for real with its own
`make install`; the other renders reuse that environment (their dependencies are the same) and run their
code from their own `src/`.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import Project, check, render, run

pytestmark = pytest.mark.slow

SAMPLES = {
    "binary": ("customer_churn.csv", "churned", "roc_auc"),
    "multiclass": ("support_tickets.csv", "priority", "macro_f1"),
    "regression": ("house_prices.csv", "sale_price", "r2"),
}


@pytest.fixture
def make_project(tmp_path: Path, default_project: Path):
    def _make(**answers: object) -> Project:
        return Project(render(tmp_path / "project", **answers), default_project / ".venv" / "bin" / "python")

    return _make


def assert_trained(project: Project, problem_type: str) -> dict:
    metadata = project.json("models/metadata.json")
    gate = metadata["gate"]
    assert metadata["problem_type"] == problem_type
    assert gate["metric"] == SAMPLES[problem_type][2]
    assert gate["passed"] and gate["model"] > gate["baseline"] + gate["min_lift"]
    for name in ("models/model.skops", "models/reference.parquet", "reports/model_card.md"):
        assert (project.root / name).is_file(), name
    return metadata


def assert_reported(project: Project, metadata: dict) -> None:
    """The model card's per-group section (the sample's sensitive column) and the weekly summary."""
    settings = yaml.safe_load((project.root / "configs/project.yaml").read_text())
    column = settings["data"]["sensitive_columns"][0]
    groups = metadata["groups"][column]
    assert len(groups) >= 3 and sum(row["rows"] for row in groups) == metadata["data"]["rows_used"]
    assert f"### Per group of `{column}`" in (project.root / "reports/model_card.md").read_text()
    result = check(project.cli("report"))
    markdown = Path(result.stdout.split("weekly summary: ")[1].split()[0])
    text = markdown.read_text()
    titles = [line.split("**")[1] for line in text.splitlines() if line.startswith("- **")]
    assert titles == ["Done", "Blockers", "Business impact"]
    assert metadata["model_version"] in text and "no drift check run yet" in text.lower()
    page = markdown.with_suffix(".html").read_text()
    assert "data:image/png;base64," in page and "https://" not in page and "http://" not in page


# `make test` of the default project runs its whole suite, in two tests (quick tier, slow tier) that
# parallel workers can take at once: together they are the longest part of this suite.
QUICK_TIER = "PYTEST_ARGS=-m 'not slow'"


@pytest.mark.long_running
def test_default_project_make_targets(default_project: Path) -> None:
    """The README's path on the default answers: make audit, make train, make test, make lint."""
    for target in ("audit", "train"):
        check(run(["make", target], cwd=default_project))
    assert " deselected" in pytest_summary(check(run(["make", "test", QUICK_TIER], cwd=default_project)))
    check(run(["make", "lint"], cwd=default_project))
    audit = json.loads((default_project / "reports/audit/audit.json").read_text())
    flagged = json.dumps(audit)
    assert "cancellation_reason" in flagged and "contact_email" in flagged
    schema = json.loads((default_project / "configs/schema.json").read_text())
    roles = {column["name"]: column["role"] for column in schema["columns"]}
    assert roles["cancellation_reason"] == roles["contact_email"] == "excluded"
    assert roles["customer_id"] == "id" and roles["churned"] == "target"
    html = (default_project / "reports/audit/audit.html").read_text()
    assert "http://" not in html and "https://" not in html and "data:image/png;base64" in html
    assert (default_project / "docs/data_dictionary.md").read_text().count("cancellation_reason") >= 1
    card = (default_project / "reports/model_card.md").read_text()
    assert "ROC AUC" in card and "guessing does this 50% of the time" in card
    # The console script is installed and answers at once.
    check(run([default_project / ".venv/bin/acme-churn", "--help"], cwd=default_project))


@pytest.mark.long_running
def test_default_project_slow_tier(default_project: Path) -> None:
    """The rest of `make test`: the generated suite's slow tier (servers, worker processes, the benchmark)."""
    result = check(run(["make", "test", "PYTEST_ARGS=-m slow"], cwd=default_project))
    assert " deselected" in pytest_summary(result)


def pytest_summary(result: subprocess.CompletedProcess) -> str:
    """The last "N passed ..." line of a pytest run (make may print lines of its own after it)."""
    found = [line for line in result.stdout.splitlines() if re.search(r"\b\d+ passed\b", line)]
    assert found, result.stdout[-2000:]
    return found[-1]


def test_notebook_executes(default_project: Path) -> None:
    python = default_project / ".venv" / "bin" / "python"
    script = (
        "import nbformat, nbclient;"
        "nb = nbformat.read('notebooks/01_data_audit.ipynb', as_version=4);"
        "nbclient.NotebookClient(nb, timeout=300, kernel_name='python3',"
        " resources={'metadata': {'path': 'notebooks'}}).execute();"
        "print(sum(len(c.get('outputs', [])) for c in nb.cells))"
    )
    result = check(run([python, "-c", script], cwd=default_project))
    assert int(result.stdout.strip()) > 0


# Generated test files whose outcome does not depend on the rendered problem type: the audit tests build
# their own configs of each type, and the model store's tests move files whatever the model predicts.
ANSWER_FREE = ("test_audit.py", "test_model_store.py")


@pytest.mark.long_running
@pytest.mark.parametrize("family", ["gradient_boosting", "random_forest", "linear"])
@pytest.mark.parametrize("problem_type", ["binary", "multiclass", "regression"])
def test_problem_type_by_model_family(make_project, problem_type: str, family: str) -> None:
    project = make_project(
        project_name=f"Matrix {problem_type} {family}", problem_type=problem_type, model_family=family
    )
    assert project.package == f"matrix_{problem_type}_{family}"
    check(project.cli("audit"))
    check(project.cli("train"))
    metadata = assert_trained(project, problem_type)
    assert metadata["model_family"] == family
    assert_reported(project, metadata)
    # The generated suite depends on the answers through the problem type: it runs once per problem type,
    # but for the files whose tests set their own problem types or only move files (ANSWER_FREE). Its
    # explanation, scoring and drift tests train every model family themselves (test_explain is parametrised
    # by family). The binary one is the default project's (binary, gradient boosting), whose `make test`
    # runs it whole, slow tier included, in test_default_project_make_targets.
    if family == "gradient_boosting" and problem_type != "binary":
        check(project.pytest(*(f"--ignore=tests/{name}" for name in ANSWER_FREE)))
    project.lint()


def test_time_column_backtest(make_project) -> None:
    project = make_project(problem_type="regression", time_column="listed_date")
    check(project.cli("audit"))
    result = check(project.cli("train"))
    assert "time-ordered backtest" in result.stderr
    metadata = assert_trained(project, "regression")
    assert metadata["cv"]["method"].startswith("time-ordered backtest")
    assert "listed_date" not in {feature["name"] for feature in metadata["features"]}
    assert metadata["data"]["time_range"]["start"] < metadata["data"]["time_range"]["end"]
    # The generated tests build their own tables (conftest's make_config replaces the data settings), so
    # data answers change nothing there: the settings test runs on this project's own config.
    check(project.pytest("tests/test_config_and_data.py"))


def test_id_columns_are_never_features(make_project) -> None:
    project = make_project(problem_type="multiclass", id_columns="ticket_id, region")
    check(project.cli("train"))  # no audit first: train infers the contract itself
    metadata = assert_trained(project, "multiclass")
    features = {feature["name"] for feature in metadata["features"]}
    assert not features & {"ticket_id", "region"}
    check(project.pytest("tests/test_config_and_data.py"))


def own_table(rows: int = 1500, seed: int = 7) -> pd.DataFrame:
    """A table a client might send: categoricals, missing values, an ID, a date and a text target."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["retail", "smb", "enterprise"], rows, p=[0.6, 0.3, 0.1])
    channel = rng.choice(["web", "partner", "field"], rows).astype(object)
    spend = rng.lognormal(5, 1, rows)
    visits = rng.poisson(4, rows).astype(float)
    score = 0.8 * np.log(spend) + 0.3 * visits + (segment == "enterprise") * 1.5 + rng.normal(0, 1, rows)
    visits[rng.random(rows) < 0.12] = np.nan
    channel[rng.random(rows) < 0.08] = None
    return pd.DataFrame(
        {
            "account_ref": [f"ACC{i:06d}" for i in range(rows)],
            "opened_on": pd.date_range("2023-03-01", periods=rows, freq="12h").strftime("%Y-%m-%d %H:%M"),
            "segment": segment,
            "channel": channel,
            "monthly_spend": spend.round(2),
            "visits": visits,
            "renewed": np.where(score > np.quantile(score, 0.6), "yes", "no"),
        }
    )


def test_own_csv_with_categoricals_missing_values_and_unseen_category(make_project, tmp_path: Path) -> None:
    data = tmp_path / "client_export.csv"
    table = own_table()
    table.loc[5, "renewed"] = None  # a row without a target is dropped and reported
    table.to_csv(data, index=False)
    project = make_project(data_path=str(data), target_column="renewed", id_columns="account_ref")
    check(project.cli("audit"))
    result = check(project.cli("train"))
    assert "dropped 1 rows with no value in target" in result.stderr
    metadata = assert_trained(project, "binary")
    assert metadata["positive_class"] == "yes"
    # Own data: no sensitive column is guessed, and the model card says how to name one.
    assert metadata["groups"] == {}
    assert "No sensitive column is configured" in (project.root / "reports/model_card.md").read_text()
    assert metadata["data"]["rows_missing_target"] == 1
    # The trained model scores rows with a category it never saw.
    script = (
        "import sys, json, pandas as pd;"
        f"from {project.package}.artifacts.files import load_model;"
        "meta = json.load(open('models/metadata.json'));"
        "model = load_model(__import__('pathlib').Path('models/model.skops'), meta['model_sha256']);"
        "rows = pd.read_csv(sys.argv[1]).head(3).drop(columns='renewed');"
        "rows.loc[0, 'segment'] = 'public-sector'; rows.loc[1, 'monthly_spend'] = None;"
        "print(json.dumps(model.predict_proba(rows).tolist()))"
    )
    result = check(run([project.python, "-c", script, data], cwd=project.root, env=project.env))
    probabilities = json.loads(result.stdout)
    assert len(probabilities) == 3 and all(abs(sum(row) - 1) < 1e-9 for row in probabilities)
    check(project.pytest("tests/test_config_and_data.py"))


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_bad_data_gets_one_clear_line_and_keeps_artifacts(make_project) -> None:
    project = make_project(data_path="data/raw/not_there_yet.csv")
    assert "not_there_yet.csv" in (project.root / "configs/project.yaml").read_text()
    assert "does not exist" in _one_error_line(project.cli("audit"))
    assert "does not exist" in _one_error_line(project.cli("train"))
    assert not (project.root / "reports/audit/audit.json").exists()

    # Point the config at the sample, train once, then break the config in several ways.
    config_path = project.root / "configs/project.yaml"
    settings = yaml.safe_load(config_path.read_text())
    settings["data"]["path"] = "data/sample/customer_churn.csv"
    config_path.write_text(yaml.safe_dump(settings))
    check(project.cli("train"))
    before = (project.root / "models/model.skops").read_bytes()
    cases = [
        ({"target": "no_such_column"}, "target column 'no_such_column' is not in"),
        ({"id_columns": ["missing_id"]}, "id column(s) 'missing_id' is not in"),
        ({"time_column": "missing_time"}, "time column 'missing_time' is not in"),
        ({"path": "data/sample/customer_churn.xlsx"}, "unknown file type"),
        ({"sensitive_columns": ["missing_group"]}, "sensitive column(s) 'missing_group' is not in"),
    ]
    for change, message in cases:
        broken = {**settings, "data": {**settings["data"], **change}}
        config_path.write_text(yaml.safe_dump(broken))
        assert message in _one_error_line(project.cli("train")), change
    config_path.write_text(yaml.safe_dump({**settings, "problem_type": "multiclass"}))
    assert "configs/schema.json was made for another target" in _one_error_line(project.cli("train"))
    broken = {**settings, "problem_type": "regression", "data": {**settings["data"], "target": "plan"}}
    config_path.write_text(yaml.safe_dump(broken))
    assert "must be numeric for regression" in _one_error_line(project.cli("train"))
    assert (project.root / "models/model.skops").read_bytes() == before
