"""Rendering: what a consultant gets from `copier copy`, before anything is installed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from conftest import (
    QUESTION_KEYS,
    TEMPLATE_ROOT,
    TEST_IDENTITY,
    commit_count,
    copier_cli,
    env_without_git_config,
    git,
    project_files,
    read_answers,
    read_config,
    render,
    run_hook,
)

# The contract's make targets that exist so far; drift arrives with its command.
CONTRACT_MAKE_TARGETS = ("install", "audit", "train", "serve", "report", "test", "lint", "all")


@pytest.fixture(scope="module")
def default_project(tmp_path_factory):
    """One project rendered with every default answer, hooks included."""
    return render(tmp_path_factory.mktemp("default") / "acme-churn")


def test_every_template_expression_is_rendered(default_project):
    """No Jinja left in the project; GitHub Actions expressions (`${{ ... }}`) in its workflows are theirs."""
    leftovers = []
    for path in project_files(default_project):
        text = path.read_bytes()
        if ".github/workflows" in path.as_posix():
            text = re.sub(rb"\$\{\{[^}]*\}\}", b"", text)
        if path.suffix == ".jinja" or b"{{" in text or b"{%" in text:
            leftovers.append(str(path.relative_to(default_project)))
    assert not leftovers, f"unrendered template text in {leftovers}"


def test_answers_file_records_every_question(default_project):
    answers = read_answers(default_project)
    assert set(QUESTION_KEYS) <= answers.keys(), set(QUESTION_KEYS) - answers.keys()
    assert answers["_src_path"] == str(TEMPLATE_ROOT)
    if (TEMPLATE_ROOT / ".git").exists():
        assert answers["_commit"], "copier update needs the template commit"


def test_project_starts_as_a_clean_git_repository_with_one_commit(default_project):
    assert git(default_project, "rev-parse", "--show-toplevel") == str(default_project)
    assert commit_count(default_project) == 1
    assert git(default_project, "status", "--porcelain") == ""
    assert git(default_project, "log", "-1", "--format=%s") == (
        "Start Acme Churn engagement from copier-ml-engagement"
    )
    assert git(default_project, "branch", "--show-current") == "main"


def test_client_data_and_model_files_are_never_committed(default_project):
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=default_project).returncode == 0

    assert ignored("data/raw/clients_export.csv")
    assert ignored("models/model.skops") and ignored("models/reference.parquet")
    assert ignored("logs/predictions/2025-01-01.jsonl") and ignored(".env")
    assert not ignored("models/metadata.json") and not ignored("reports/model_card.md")
    assert "data/raw/.gitkeep" in git(default_project, "ls-files", "data/raw")


def test_generated_package_metadata(default_project):
    pyproject = tomllib.loads((default_project / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    assert project["name"] == "acme-churn"
    assert project["requires-python"] == ">=3.11"
    assert project["scripts"] == {"acme-churn": "acme_churn.cli:main"}
    assert "pandas>=2.2,<3.1" in project["dependencies"]
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/acme_churn"]
    assert pyproject["tool"]["ruff"]["line-length"] == 110


def test_makefile_has_every_contract_target(default_project):
    makefile = (default_project / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.MULTILINE))
    assert set(CONTRACT_MAKE_TARGETS) <= targets, set(CONTRACT_MAKE_TARGETS) - targets
    assert "$(UV) run $(APP) audit" in makefile and "APP := acme-churn" in makefile


def test_readme_names_the_engagement_and_the_first_commands(default_project):
    readme = (default_project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Acme Churn\n")
    assert "**Acme Corp**" in readme and "`churned`" in readme
    for command in ("make install", "make audit", "make train", "configs/project.yaml"):
        assert command in readme


def test_config_reflects_non_default_answers(tmp_path):
    project = render(
        tmp_path / "p",
        skip_tasks=True,
        id_columns="a, b",
        time_column="signup_date",
        model_family="linear",
        api_auth="none",
        drift_schedule="30 7 * * 1-5",
    )
    config = read_config(project)
    assert config["data"]["id_columns"] == ["a", "b"]
    assert config["data"]["time_column"] == "signup_date"
    assert config["data"]["target"] == "churned"
    assert config["model"]["family"] == "linear"
    assert config["api"]["auth"] == "none"
    assert config["drift"]["schedule"] == "30 7 * * 1-5"


def test_a_long_package_name_keeps_the_code_lint_clean(tmp_path):
    """Lines that hold the package name grow with it: ruff (the project's own settings) must pass for the
    longest names the answers produce, not only for the default one, before anything is installed."""
    project = render(tmp_path / "p", skip_tasks=True, project_name="Matrix multiclass gradient boosting")
    ruff = [sys.executable, "-m", "ruff"]
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([*ruff, *command], cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("problem_type", ["binary", "multiclass", "regression"])
def test_config_is_accepted_by_the_generated_code(tmp_path, problem_type):
    """The generated config loader (it needs only PyYAML) reads the rendered settings without complaint."""
    project = render(tmp_path / "p", skip_tasks=True, problem_type=problem_type)
    check = (
        "from acme_churn.core.config import load_config; c = load_config('configs/project.yaml'); "
        "print(c.problem_type, c.data_path.is_file())"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=project,
        env={"PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [problem_type, "True"]


def test_rendering_into_an_existing_repository_makes_no_commit(tmp_path):
    repo = tmp_path / "client-monorepo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "NOTES.md").write_text("existing work\n")
    git(repo, "add", "-A")
    git(repo, *TEST_IDENTITY, "commit", "-q", "-m", "existing work")
    render(repo / "churn-model")
    assert commit_count(repo) == 1
    assert not (repo / "churn-model" / ".git").exists()
    assert "churn-model/" in git(repo, "status", "--porcelain")


def test_an_ignored_folder_of_another_repository_gets_its_own(tmp_path):
    repo = tmp_path / "template-checkout"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("build/\n")
    render(repo / "build" / "demo")
    assert commit_count(repo / "build" / "demo") == 1


def test_contract_command_line_renders_a_committed_template(tmp_path, template_snapshot):
    dest = tmp_path / "acme-churn"
    result = copier_cli("copy", "--trust", "--defaults", "--vcs-ref", "HEAD", template_snapshot, dest)
    assert result.returncode == 0, result.stderr
    answers = read_answers(dest)
    assert answers["_src_path"] == str(template_snapshot)
    assert answers["_commit"] == git(template_snapshot, "describe", "--tags", "--always")
    assert "make install" in result.stdout and "make audit" in result.stdout
    assert commit_count(dest) == 1


def test_first_commit_works_without_any_git_identity(tmp_path):
    project = render(tmp_path / "p", skip_tasks=True, author_name="Ana Lytic", author_email="ana@example.org")
    result = run_hook("after_copy.py", project, env=env_without_git_config(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    assert git(project, "log", "-1", "--format=%an <%ae>") == "Ana Lytic <ana@example.org>"


def test_missing_git_is_reported_and_the_copy_still_succeeds(tmp_path):
    project = render(tmp_path / "p", skip_tasks=True)
    env = env_without_git_config(tmp_path / "home")
    env["PATH"] = str(tmp_path / "no-tools")
    result = run_hook("after_copy.py", project, env=env)
    assert result.returncode == 0, result.stderr
    assert "git is not installed" in result.stdout
    assert "make install" in result.stdout
    assert not (project / ".git").exists()


def test_next_steps_warn_when_the_data_is_not_there_yet(tmp_path):
    project = render(tmp_path / "p", skip_tasks=True, data_path="data/raw/train.csv", target_column="y")
    result = run_hook("after_copy.py", project)
    assert result.returncode == 0, result.stderr
    assert "put your data at data/raw/train.csv before make audit" in result.stdout
    assert f"cd {project}" in result.stdout


def test_after_update_lists_rejected_changes_and_commits_nothing(tmp_path):
    project = render(tmp_path / "p")
    (project / "Makefile.rej").write_text("@@ a hunk that did not apply @@\n")
    result = run_hook("after_update.py", project)
    assert result.returncode == 0, result.stderr
    assert "Makefile.rej" in result.stdout and "git diff" in result.stdout and "make test" in result.stdout
    assert commit_count(project) == 1


def test_after_update_says_how_to_redo_a_lock_that_did_not_merge(tmp_path):
    project = render(tmp_path / "p")
    lock = project / "uv.lock"
    lock.write_text("<<<<<<< before updating\nversion = 1\n=======\nversion = 2\n>>>>>>> after updating\n")
    result = run_hook("after_update.py", project)
    assert result.returncode == 0, result.stderr
    assert "git checkout HEAD -- uv.lock && make lock" in result.stdout


def test_copier_update_runs_the_update_task_only(tmp_path, template_snapshot):
    """A real `copier update` to a newer template commit: the change arrives, the after-update task prints
    what to review, the after-copy task does not run again, and nothing is committed for the user."""
    template = tmp_path / "template"
    git(tmp_path, "clone", "-q", str(template_snapshot), str(template))
    project = tmp_path / "project"
    assert copier_cli("copy", "--trust", "--defaults", "--vcs-ref", "HEAD", template, project).returncode == 0
    readme = template / "template" / "README.md.jinja"
    readme.write_text(
        readme.read_text(encoding="utf-8") + "\nA new section from the template.\n", encoding="utf-8"
    )
    git(template, "add", "-A")
    git(template, *TEST_IDENTITY, "commit", "-q", "-m", "template v2")

    result = copier_cli("update", "--trust", "--defaults", "--vcs-ref", "HEAD", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "A new section from the template." in (project / "README.md").read_text(encoding="utf-8")
    assert "The project was updated from the template" in result.stdout + result.stderr
    assert "Created a git repository" not in result.stdout + result.stderr
    assert commit_count(project) == 1
    assert git(project, "status", "--porcelain")  # the update waits for the user's review


ENGAGEMENT_DOCUMENTS = (
    "docs/engagement.md",
    "docs/onboarding.md",
    "docs/model_health.md",
    "docs/decisions/0001-record-decisions.md",
    "docs/decisions/0002-scikit-learn-models.md",
    "docs/decisions/0003-fastapi-service.md",
    "docs/decisions/0004-skops-model-files.md",
    "docs/decisions/0005-drift-monitoring.md",
    "docs/decisions/0006-ci-and-deployment.md",
    "docs/decisions/0007-training-at-scale.md",
    "docs/decisions/0008-conformal-uncertainty.md",
    "docs/decisions/0009-robustness.md",
)


def test_engagement_documents_are_filled_from_the_default_answers(default_project):
    for name in ENGAGEMENT_DOCUMENTS:
        assert (default_project / name).is_file(), name
    charter = (default_project / "docs/engagement.md").read_text(encoding="utf-8")
    for text in (
        "**Acme Corp** (the client) and **Jane Consultant**",
        "Kill switch",
        "two-week sprints",
        "uncertainty buffer",
        "Acme Corp's cloud account",
        "budget alerts",
        "GDPR",
        "CCPA",
        "EU AI Act",
        "Liability",
        "Data access",
    ):
        assert text in charter, text
    # Phase exit criteria point at what the commands write; the gate metric is the problem type's.
    phases = charter.split("## Phases and exit criteria")[1].split("## Kill switch")[0]
    assert "`reports/audit/audit.json`" in phases and "`models/metadata.json`" in phases
    assert "ROC AUC" in phases and "gradient boosting" in phases and "`deploy/k8s/`" in phases
    assert "Generic code stays with the consultant" in charter.replace("**", "")  # proprietary licence
    assert "`X-API-Key`" in (default_project / "docs/decisions/0003-fastapi-service.md").read_text()
    assert "GitHub Actions" in (default_project / "docs/decisions/0006-ci-and-deployment.md").read_text()
    assert "jane@example.com" in (default_project / "docs/model_health.md").read_text()


def test_engagement_documents_follow_other_answers(tmp_path):
    project = render(
        tmp_path / "globex",
        skip_tasks=True,
        project_name="Globex Tickets",
        client_name="Globex",
        problem_type="multiclass",
        model_family="linear",
        license="MIT",
        api_auth="none",
        ci_provider="gitlab",
        include_k8s=False,
    )
    charter = (project / "docs/engagement.md").read_text(encoding="utf-8")
    assert "**Globex** (the client)" in charter and "macro F1" in charter and "linear model" in charter
    assert "released under the **MIT** licence" in charter and "stay with the client" in charter
    assert "deploy/k8s" not in charter and "X-API-Key" not in charter
    decisions = project / "docs/decisions"
    assert "behind a gateway" in (decisions / "0003-fastapi-service.md").read_text()
    ci = (decisions / "0006-ci-and-deployment.md").read_text()
    assert ci.startswith("# 6. GitLab CI and a container image") and "No Kubernetes manifests" in ci
    assert "GitLab CI variables" in (project / "docs/onboarding.md").read_text()
    assert read_config(project)["data"]["sensitive_columns"] == ["region"]
    # Another data file than the sample: no sensitive column is guessed.
    other = render(tmp_path / "own-data", skip_tasks=True, data_path="data/raw/export.csv", target_column="y")
    assert read_config(other)["data"]["sensitive_columns"] == []
