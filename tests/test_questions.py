"""The questions: a bad answer is refused with a message that says what is allowed, and nothing is written;
good answers are accepted and the derived defaults follow the answers they come from."""

from __future__ import annotations

import re

import pytest

from conftest import copier_cli, is_empty_or_missing, read_answers, render

BAD_ANSWERS = {
    "slug with spaces": ({"project_slug": "acme churn"}, "use lowercase letters, digits and hyphens"),
    "slug with uppercase": ({"project_slug": "Acme-churn"}, "(pattern ^[a-z][a-z0-9-]*$)"),
    "slug starting with a digit": ({"project_slug": "2024-churn"}, "starting with a letter"),
    "package is a keyword": ({"package_name": "class"}, "is a Python keyword or standard-library module"),
    "package is a stdlib module": (
        {"package_name": "json"},
        "is a Python keyword or standard-library module",
    ),
    "package is a layout name": ({"package_name": "tests"}, "is a Python keyword or standard-library module"),
    "package starts with a digit": ({"package_name": "1abc"}, "is not a valid Python identifier"),
    "package with a hyphen": ({"package_name": "my-pkg"}, "use letters, digits and underscores"),
    "package with uppercase": ({"package_name": "AcmeChurn"}, 'must be lowercase (PEP 8), e.g. "acmechurn"'),
    "empty project name": ({"project_name": "  "}, "project_name must not be empty"),
    "empty client name": ({"client_name": ""}, "client_name must not be empty"),
    "email without @": ({"author_email": "jane.example.com"}, "expected name@domain.tld"),
    "email without domain": ({"author_email": "jane@example"}, "is not an email address"),
    "spreadsheet data": ({"data_path": "data/raw/train.xlsx"}, "it must end in .csv, .parquet or .pq"),
    "empty data path": ({"data_path": " "}, "data_path must not be empty: give a .csv or .parquet file"),
    "empty target": ({"target_column": ""}, "target_column must not be empty"),
    "target among the ids": (
        {"id_columns": "customer_id, churned"},
        'id_columns must not include the target column "churned"',
    ),
    "empty id name": ({"id_columns": "customer_id,,account_id"}, "has an empty name: use comma-separated"),
    "time column is the target": (
        {"time_column": "churned"},
        'time_column must differ from the target column "churned"',
    ),
    "time column is an id": ({"time_column": "customer_id"}, "a column has one role"),
    "several time columns": ({"time_column": "signup_date,closed_date"}, "takes one column name, not a list"),
    "cron in words": ({"drift_schedule": "every monday"}, "is not a 5-field cron expression"),
    "cron with 4 fields": ({"drift_schedule": "0 6 * *"}, "(minute hour day-of-month month day-of-week)"),
    "unknown problem type": ({"problem_type": "classification"}, "'binary', 'multiclass', 'regression'"),
    "unknown model family": ({"model_family": "xgboost"}, "'gradient_boosting', 'random_forest', 'linear'"),
    "unsupported python": ({"python_version": "3.10"}, "'3.11', '3.12', '3.13'"),
    "unknown ci provider": ({"ci_provider": "jenkins"}, "'github', 'gitlab', 'none'"),
    "unknown license": ({"license": "GPL"}, "'proprietary', 'MIT', 'Apache-2.0'"),
}


@pytest.mark.parametrize(("answers", "expected"), BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_bad_answer_is_refused_and_nothing_is_written(tmp_path, answers, expected):
    dest = tmp_path / "project"
    with pytest.raises(ValueError, match=re.escape(expected)):
        render(dest, skip_tasks=True, **answers)
    assert is_empty_or_missing(dest)


def test_bad_answer_on_the_command_line_exits_with_the_message(tmp_path, template_snapshot):
    dest = tmp_path / "project"
    result = copier_cli(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        "HEAD",
        "-d",
        "package_name=json",
        template_snapshot,
        dest,
    )
    assert result.returncode != 0
    assert 'package_name "json" is a Python keyword or standard-library module name' in result.stderr
    assert is_empty_or_missing(dest)


def test_slug_and_package_are_derived_from_the_project_name(tmp_path):
    answers = read_answers(render(tmp_path / "p", skip_tasks=True, project_name="Big Client Forecast 2"))
    assert answers["project_slug"] == "big-client-forecast-2"
    assert answers["package_name"] == "big_client_forecast_2"
    assert (tmp_path / "p" / "src" / "big_client_forecast_2" / "cli.py").is_file()


@pytest.mark.parametrize(
    ("problem_type", "data_path", "target", "ids"),
    [
        ("binary", "data/sample/customer_churn.csv", "churned", "customer_id"),
        ("multiclass", "data/sample/support_tickets.csv", "priority", "ticket_id"),
        ("regression", "data/sample/house_prices.csv", "sale_price", "listing_id"),
    ],
)
def test_data_defaults_follow_the_problem_type(tmp_path, problem_type, data_path, target, ids):
    answers = read_answers(render(tmp_path / "p", skip_tasks=True, problem_type=problem_type))
    assert (answers["data_path"], answers["target_column"], answers["id_columns"]) == (data_path, target, ids)
    assert (tmp_path / "p" / data_path).is_file(), "the default data path points at a shipped sample"


def test_own_data_has_no_id_columns_by_default(tmp_path):
    answers = read_answers(
        render(tmp_path / "p", skip_tasks=True, data_path="data/raw/customers.parquet", target_column="left")
    )
    assert answers["id_columns"] == ""
    assert answers["time_column"] == ""


def test_unusual_but_valid_answers_are_accepted(tmp_path):
    good = {
        "project_name": "Zürich Energy: Load Forecast",
        "package_name": "json_tools",
        "author_email": "jane.doe+client@mail.example.co.uk",
        "problem_type": "regression",
        "data_path": "/srv/client/Load.PARQUET",
        "target_column": "load_mw",
        "id_columns": "meter_id, site_id",
        "time_column": "read_at",
        "drift_schedule": "*/15 8-18 * * MON-FRI",
        "python_version": "3.13",
        "license": "Apache-2.0",
        "include_k8s": False,
    }
    answers = read_answers(render(tmp_path / "p", skip_tasks=True, **good))
    assert {key: answers[key] for key in good} == good
    assert re.fullmatch(r"[a-z][a-z0-9-]*", answers["project_slug"]), answers["project_slug"]
