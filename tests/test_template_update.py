"""Template updates as pull requests: the generated project's `scripts/template_update.py`, run for real on
engagements copied from a template repository with release tags, and the CI jobs that call it.

The template repository (built as tests/test_update.py builds its own) has its own short CHANGELOG:
- v1.0.0: the template on disk;
- v1.1.0: a change to a template-owned file (the pipeline module's first line), a new dependency, a new
  test of the updated code, and the release's CHANGELOG entry;
- v1.2.0-rc1 and `nightly`: a later commit whose tags are not releases, which the script must ignore.
The script runs in the engagement's checkout as the CI job runs it: it makes a branch, never pushes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_update import commit_all, copy, edit, release

from conftest import PROJECT_ENV, git, render, snapshot_template

pytestmark = pytest.mark.xdist_group("template-update")

V1, V2 = "v1.0.0", "v1.1.0"
BRANCH = f"template-update/{V2}"
PACKAGE = "acme_churn"
PIPELINE = f"src/{PACKAGE}/training/pipeline.py"
FIRST_LINE = '"""The model: one scikit-learn Pipeline from raw records to predictions.\n'
TEMPLATE_LINE = '"""The model: one scikit-learn Pipeline from raw records to predictions (template 1.1.0).\n'
ENGAGEMENT_LINE = '"""The model of the churn engagement: Acme asked for monotone tenure effects.\n'
CHANGELOG_1_0 = """# Changelog

## Unreleased

- Something not released yet, never in an update's description.

## 1.0.0 - 2026-01-05

- The first release: entry of 1.0.0, never in an update's description.
"""
ENTRY_1_1 = "## 1.1.0 - 2026-02-02\n\n### Changed\n- The pipeline module names its template release.\n\n"
# v1.1.0 also adds a dependency (already in the lock, as scikit-learn's) and a test of the updated code.
DEPENDENCY = ('    "threadpoolctl>=3.1",\n', '    "threadpoolctl>=3.1",\n    "joblib>=1.3",\n')
RELEASE_TEST = (
    "tests/test_template_release.py",
    '"""Arrived with template 1.1.0."""\n\nfrom acme_churn.training import pipeline\n\n\n'
    "def test_the_pipeline_module_names_its_release() -> None:\n"
    '    assert "(template 1.1.0)" in pipeline.__doc__\n',
)
SCRIPT = "scripts/template_update.py"
GITLAB_JOB = ".gitlab/template-update.yml"


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repository with v1.0.0 (on disk, with a CHANGELOG of its own) and v1.1.0, and two tags
    that are no releases."""
    repo = snapshot_template(tmp_path_factory.mktemp("releases") / "copier-ml-engagement")
    (repo / "CHANGELOG.md").write_text(CHANGELOG_1_0, encoding="utf-8")
    release(repo, V1)
    edit(repo / "template/src/{{package_name}}/training/pipeline.py", FIRST_LINE, TEMPLATE_LINE)
    edit(repo / "CHANGELOG.md", "## 1.0.0", ENTRY_1_1 + "## 1.0.0")
    edit(repo / "template/pyproject.toml.jinja", *DEPENDENCY)
    (repo / "template" / RELEASE_TEST[0]).write_text(RELEASE_TEST[1], encoding="utf-8")
    release(repo, V2)
    edit(repo / "CHANGELOG.md", "## Unreleased\n", "## Unreleased\n\n- A release candidate's change.\n")
    release(repo, "v1.2.0-rc1")  # a pre-release...
    git(repo, "tag", "nightly")  # ...and a moving tag on the same commit: neither is a release
    return repo


@pytest.fixture(scope="module")
def engagement_1_1(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An engagement copied at v1.1.0, the latest release."""
    return copy(releases, tmp_path_factory.mktemp("engagement-1.1") / "acme-churn", V2)


@pytest.fixture(scope="module")
def engagement_1_0(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An engagement copied at v1.0.0 (the copy task makes its first commit on `main`)."""
    return copy(releases, tmp_path_factory.mktemp("engagement") / "acme-churn", V1)


def fresh_clone(project: Path, dest: Path) -> Path:
    """A checkout of the engagement of its own, as a CI runner has one."""
    subprocess.run(["git", "clone", "-q", str(project), str(dest)], check=True)
    return dest


def template_update(project: Path, *args: str, env: dict[str, str] | None = None):
    """The project's script, with copier from the template's dev environment (as `COPIER` names it)."""
    env = {**PROJECT_ENV, "COPIER": f"{sys.executable} -m copier", **(env or {})}
    env.pop("VIRTUAL_ENV", None)
    command = [sys.executable, SCRIPT, *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)


def outputs(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


def branches(project: Path) -> list[str]:
    return git(project, "branch", "--list", "--format=%(refname:short)").splitlines()


def shown(project: Path, ref: str, name: str) -> str:
    return git(project, "show", f"{ref}:{name}")


def run_update(project: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """The script as the CI job runs it; returns the process, the description file and the outputs file."""
    body, github_output = tmp_path / "body.md", tmp_path / "github_output"
    result = template_update(
        project, "--no-tests", "--no-lock", "--body-file", str(body), "--github-output", str(github_output)
    )
    return result, body, github_output


# --- an engagement behind the template --------------------------------------------------------------------


def test_an_engagement_behind_gets_one_branch_with_the_update_committed(
    engagement_1_0: Path, tmp_path: Path
) -> None:
    project = fresh_clone(engagement_1_0, tmp_path / "checkout")
    main = git(project, "rev-parse", "main")
    result, body, github_output = run_update(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    assert BRANCH in branches(project) and git(project, "rev-parse", f"{BRANCH}^") == main
    assert git(project, "rev-parse", "main") == main  # main untouched; the working tree clean
    assert git(project, "status", "--porcelain") == ""
    assert yaml.safe_load(shown(project, BRANCH, ".copier-answers.yml"))["_commit"] == V2
    assert shown(project, BRANCH, PIPELINE).startswith(TEMPLATE_LINE.strip())
    assert shown(project, "main", PIPELINE).startswith(FIRST_LINE.strip())
    assert f"Template-Update: {V2}" in git(project, "log", "-1", "--format=%B", BRANCH)
    changed = git(project, "diff", "--name-only", "main", BRANCH).splitlines()
    assert sorted(changed) == [".copier-answers.yml", "pyproject.toml", PIPELINE, RELEASE_TEST[0]]

    assert outputs(github_output) == {"branch": BRANCH, "version": V2, "body": str(body), "conflicts": ""}
    text = body.read_text(encoding="utf-8")
    assert f"from **{V1}** to **{V2}**" in text
    assert "### 1.1.0 - 2026-02-02" in text and "The pipeline module names its template release." in text
    assert "entry of 1.0.0" not in text and "not released yet" not in text
    assert "No conflicts" in text and "WARNING" not in text
    assert "not re-resolved (--no-lock)" in text and "not run (--no-tests)" in text


def test_an_edit_of_the_same_lines_is_committed_as_conflict_markers_and_named(
    engagement_1_0: Path, tmp_path: Path
) -> None:
    project = fresh_clone(engagement_1_0, tmp_path / "checkout")
    edit(project / PIPELINE, FIRST_LINE, ENGAGEMENT_LINE)
    commit_all(project, "Say what the client asked of the model")
    main = git(project, "rev-parse", "main")
    result, body, github_output = run_update(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    committed = shown(project, BRANCH, PIPELINE)
    # Both sides are kept between the markers, for a person to choose: nothing was resolved.
    assert committed.startswith("<<<<<<< ")
    assert ENGAGEMENT_LINE.strip() in committed and TEMPLATE_LINE.strip() in committed
    assert "\n=======\n" in committed and "\n>>>>>>> " in committed
    assert git(project, "rev-parse", "main") == main and shown(project, "main", PIPELINE).startswith(
        ENGAGEMENT_LINE.strip()
    )
    assert outputs(github_output)["conflicts"] == PIPELINE
    text = body.read_text(encoding="utf-8")
    assert "a person must resolve these before merging" in text and f"> - `{PIPELINE}`" in text
    assert f"CONFLICT (resolve by hand): {PIPELINE}" in result.stdout


@pytest.mark.slow
def test_the_branch_is_relocked_and_the_fast_tests_run_on_the_updated_code(
    engagement_1_0: Path, default_project: Path, tmp_path: Path
) -> None:
    """`uv lock` for real, and `make test` for real in the installed default project's environment (the
    same dependencies; the project's own code first on the path), narrowed by pytest's PYTEST_ADDOPTS to
    the test that the release brought, which imports the updated module."""
    project = fresh_clone(engagement_1_0, tmp_path / "checkout")
    env = {
        "UV_PROJECT_ENVIRONMENT": str(default_project / ".venv"),
        "UV_NO_SYNC": "1",  # use that environment as it is: never install this project into it
        "PYTHONPATH": str(project / "src"),
        "PYTEST_ADDOPTS": f"-p no:cacheprovider {RELEASE_TEST[0]}",
    }
    body = tmp_path / "body.md"
    result = template_update(project, "--body-file", str(body), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    joblib = '{ name = "joblib", specifier = ">=1.3" }'
    assert joblib in shown(project, BRANCH, "uv.lock") and joblib not in shown(project, "main", "uv.lock")
    assert git(project, "status", "--porcelain") == ""  # the new lock is in the branch's one commit
    text = body.read_text(encoding="utf-8")
    assert "- uv.lock: re-resolved with `uv lock`" in text
    assert """- Fast tests (`make test PYTEST_ARGS="-m 'not slow'"`): passed""" in text
    assert "1 passed" in text


# --- nothing to do, or something wrong ------------------------------------------------------------------


def test_an_engagement_on_the_latest_release_is_up_to_date_and_gets_nothing(
    engagement_1_1: Path, tmp_path: Path
) -> None:
    """Run through the project's Makefile, as a consultant runs it."""
    project = fresh_clone(engagement_1_1, tmp_path / "checkout")
    head = git(project, "rev-parse", "HEAD")
    body, github_output = tmp_path / "body.md", tmp_path / "github_output"
    options = f"ARGS=--body-file {body} --github-output {github_output}"
    result = subprocess.run(
        ["make", "template-update", options], cwd=project, env=PROJECT_ENV, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"up to date: {V2} is the template's latest release" in result.stdout
    assert branches(project) == ["main"] and git(project, "rev-parse", "HEAD") == head
    assert not body.exists()
    assert outputs(github_output) == {"branch": "", "version": V2}


def test_a_commit_hash_in_the_answers_is_traced_to_its_release(
    releases: Path, engagement_1_1: Path, tmp_path: Path
) -> None:
    """Copier records `git describe --tags`, a bare hash where it finds no tag: the hash of the latest
    release's commit is that release."""
    project = fresh_clone(engagement_1_1, tmp_path / "checkout")
    edit(project / ".copier-answers.yml", f"_commit: {V2}", f"_commit: {git(releases, 'rev-parse', V2)}")
    commit_all(project, "Answers with a hash")
    result, body, _ = run_update(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout and branches(project) == ["main"] and not body.exists()


def test_uncommitted_work_is_refused_with_one_error_line(engagement_1_0: Path, tmp_path: Path) -> None:
    project = fresh_clone(engagement_1_0, tmp_path / "checkout")
    (project / "README.md").write_text("half-written\n", encoding="utf-8")
    result = run_update(project, tmp_path)[0]
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: the working tree has uncommitted changes: commit or stash them first")
    assert branches(project) == ["main"]


def test_an_unreachable_template_is_an_error_that_names_it(engagement_1_0: Path, tmp_path: Path) -> None:
    project = fresh_clone(engagement_1_0, tmp_path / "checkout")
    answers = project / ".copier-answers.yml"
    source = yaml.safe_load(answers.read_text(encoding="utf-8"))["_src_path"]
    edit(answers, source, str(tmp_path / "moved-away"))
    commit_all(project, "The template moved")
    result = run_update(project, tmp_path)[0]
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot list the release tags of the template {tmp_path / 'moved-away'}")
    assert branches(project) == ["main"]


# --- the CI jobs that run it ------------------------------------------------------------------------------

BIN = Path(sys.executable).parent  # the linters of the template's dev environment


def lint(name: str, *args: str | Path, cwd: Path) -> None:
    result = subprocess.run([str(BIN / name), *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{name} failed in {cwd}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def github_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default render, made a git repository (actionlint only runs inside one)."""
    project = render(tmp_path_factory.mktemp("github") / "project", skip_tasks=True)
    git(project, "init", "-q")
    return project


def test_the_github_workflow_is_weekly_minimal_and_lint_clean(github_render: Path) -> None:
    lint("actionlint", ".github/workflows/template-update.yml", cwd=github_render)
    text = (github_render / ".github/workflows/template-update.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML 1.1 reads the key `on` as True
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    steps = workflow["jobs"]["update"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == 0
    # The same actions, at the same versions, as the project's other workflows.
    ci = (github_render / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    assert all(f"uses: {step['uses']}" in ci for step in steps if "uses" in step)
    [run] = [step["run"] for step in steps if SCRIPT in step.get("run", "")]
    assert "--github-output" in run and "--no-tests" not in run and "--no-lock" not in run
    push = steps[-1]
    assert push["if"] == "steps.update.outputs.branch != ''"
    assert all(command in push["run"] for command in ("--force-with-lease=", "gh pr edit", "gh pr create"))
    assert "workflows" in text and "TEMPLATE_UPDATE_TOKEN" in text and "--trust" in text


@pytest.fixture(scope="module")
def gitlab_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(
        tmp_path_factory.mktemp("gitlab") / "project",
        skip_tasks=True,
        ci_provider="gitlab",
        python_version="3.11",
    )


def test_the_gitlab_job_validates_in_the_projects_pipeline(
    github_render: Path, gitlab_render: Path, tmp_path: Path
) -> None:
    """The job file, included into the rendered .gitlab-ci.yml as GitLab includes a local file (the
    including file's keys win), validates against GitLab's schema and runs only in its own schedule."""
    project = gitlab_render
    job_file = yaml.safe_load((project / GITLAB_JOB).read_text(encoding="utf-8"))
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    included = [entry.get("local") for entry in pipeline.get("include", []) if isinstance(entry, dict)]
    pipeline.pop("include", None)
    merged = {**job_file, **pipeline}
    (tmp_path / "merged.yml").write_text(yaml.safe_dump(merged, sort_keys=False), encoding="utf-8")
    lint(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.gitlab-ci",
        tmp_path / "merged.yml",
        GITLAB_JOB,
        cwd=project,
    )

    job = merged["template-update"]
    assert job["stage"] in merged["stages"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule" && $TEMPLATE_UPDATE'}]
    assert job["image"].endswith("python3.11-trixie-slim") and job["image"] == merged[".uv"]["image"]
    assert job["variables"]["GIT_DEPTH"] == "0" and job["variables"]["UV_CACHE_DIR"].startswith("/")
    [script] = job["script"]
    assert f"python3 {SCRIPT} " in script and "--force-with-lease=" in script and "merge_requests" in script
    # Once .gitlab-ci.yml includes it, through its path in the project.
    assert included in ([], [f"/{GITLAB_JOB}"], [GITLAB_JOB])
    assert not (github_render / ".gitlab").exists()


FAKE_GH = """#!{python}
import json, os, sys
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
# No pull request is open: `pr list` prints nothing, whatever it asks.
"""


def recorder(folder: Path, name: str, source: str) -> str:
    """An executable `name` in folder/bin from a Python source (a GitHub or GitLab client that records its
    arguments: neither service is reachable here); returns a PATH that finds it first."""
    fake = folder / "bin" / name
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(source.format(python=sys.executable), encoding="utf-8")
    fake.chmod(0o755)
    return f"{fake.parent}:{PROJECT_ENV['PATH']}"


def push_step(project: Path, outputs_file: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list]:
    """The workflow's push step, run by bash as GitHub runs it, with `gh` replaced by a recorder (GitHub is
    not reachable here); returns the process and the `gh` calls."""
    workflow = yaml.safe_load((project / ".github/workflows/template-update.yml").read_text(encoding="utf-8"))
    step = workflow["jobs"]["update"]["steps"][-1]
    values = outputs(outputs_file)
    log = tmp_path / "gh.log"
    env = {**PROJECT_ENV, "PATH": recorder(tmp_path, "gh", FAKE_GH), "GH_LOG": str(log)}
    env |= {"BRANCH": values["branch"], "VERSION": values["version"], "BODY": values["body"], "BASE": "main"}
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def test_the_push_step_pushes_refreshes_and_never_overwrites_a_persons_fixes(
    engagement_1_0: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(engagement_1_0), str(remote)], check=True)
    runner = fresh_clone(remote, tmp_path / "runner")
    result, body, github_output = run_update(runner, tmp_path / "first")
    assert result.returncode == 0, result.stdout + result.stderr
    pushed, calls = push_step(runner, github_output, tmp_path / "first")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert git(remote, "rev-parse", BRANCH) == git(runner, "rev-parse", BRANCH)
    create = ["pr", "create", "--head", BRANCH, "--base", "main", "--title", f"Template update to {V2}"]
    assert [*create, "--body-file", str(body)] in calls

    # The team works on; next week's run makes the branch again from main as it is then, and replaces it.
    git(runner, "switch", "-q", "main")
    (runner / "notes.md").write_text("Meeting notes.\n", encoding="utf-8")
    commit_all(runner, "Notes")
    git(runner, "push", "-q", "origin", "main")
    result, body, github_output = run_update(runner, tmp_path / "next-week")
    assert result.returncode == 0, result.stdout + result.stderr
    assert push_step(runner, github_output, tmp_path / "next-week")[0].returncode == 0
    assert git(remote, "rev-parse", f"{BRANCH}^") == git(remote, "rev-parse", "main")
    assert git(remote, "rev-list", "--count", f"main..{BRANCH}") == "1"

    # A person resolves something on the branch and pushes; the next weekly run leaves that branch alone.
    person = fresh_clone(remote, tmp_path / "person")
    git(person, "switch", "-q", BRANCH)
    (person / "notes.md").write_text("Resolved by hand.\n", encoding="utf-8")
    commit_all(person, "Resolve the update")
    git(person, "push", "-q", "origin", BRANCH)
    fixed = git(remote, "rev-parse", BRANCH)
    git(runner, "fetch", "-q", "origin")  # the remote as the next run's checkout (fetch-depth 0) sees it
    pushed, calls = push_step(runner, github_output, tmp_path / "the-week-after")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert f"{BRANCH} has commits made by a person: not overwritten" in pushed.stdout
    assert git(remote, "rev-parse", BRANCH) == fixed and calls == []


OPEN_MERGE_REQUESTS = [
    {"iid": 7, "source_branch": "template-update/v1.0.5"},
    {"iid": 8, "source_branch": "fix"},
]
FAKE_CURL = """#!{python}
import json, os, sys
with open(os.environ["CURL_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if "--get" in sys.argv:  # the open merge requests: one of an earlier update, one of a person
    print(os.environ["OPEN_MERGE_REQUESTS"])
"""
GITLAB = {
    "CI_SERVER_PROTOCOL": "https",
    "CI_SERVER_HOST": "gitlab.example.com",
    "CI_SERVER_PORT": "443",
    "CI_PROJECT_PATH": "consulting/acme-churn",
    "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
    "CI_PROJECT_ID": "42",
    "CI_COMMIT_REF_NAME": "main",
    "TEMPLATE_UPDATE_TOKEN": "glpat-for-tests",
}


def test_the_gitlab_job_pushes_the_branch_opens_one_merge_request_and_closes_older_ones(
    engagement_1_0: Path, gitlab_render: Path, tmp_path: Path
) -> None:
    """The job's script, run by bash as the runner runs it: git reaches the project's URL through an
    `insteadOf` rewrite to a local repository, and `curl` (the GitLab API) is a recorder."""
    job = yaml.safe_load((gitlab_render / GITLAB_JOB).read_text(encoding="utf-8"))["template-update"]
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(engagement_1_0), str(remote)], check=True)
    runner = fresh_clone(remote, tmp_path / "runner")
    git(runner, "switch", "-q", "--detach", "main")  # a runner checks out the commit

    url = "https://oauth2:glpat-for-tests@gitlab.example.com:443/consulting/acme-churn.git"
    env = {
        **PROJECT_ENV,
        **GITLAB,
        "COPIER": f"{sys.executable} -m copier",
        "CURL_LOG": str(tmp_path / "log"),
    }
    env |= {
        "PATH": recorder(tmp_path, "curl", FAKE_CURL),
        "OPEN_MERGE_REQUESTS": json.dumps(OPEN_MERGE_REQUESTS),
    }
    env |= {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{remote}.insteadOf", "GIT_CONFIG_VALUE_0": url}
    env.pop("VIRTUAL_ENV", None)
    script = "\n".join(job["script"]).replace(f"{SCRIPT} ", f"{SCRIPT} --no-tests --no-lock ")
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script], cwd=runner, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(remote, "rev-parse", BRANCH) == git(runner, "rev-parse", BRANCH)

    calls = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
    api = "https://gitlab.example.com/api/v4/projects/42/merge_requests"
    [create] = [call for call in calls if "POST" in call]
    assert create[-1] == api and "PRIVATE-TOKEN: glpat-for-tests" in create
    fields = [create[i + 1] for i, arg in enumerate(create) if arg == "--data-urlencode"]
    assert fields[:3] == [f"source_branch={BRANCH}", "target_branch=main", f"title=Template update to {V2}"]
    description = Path(fields[3].removeprefix("description@"))
    assert "### 1.1.0 - 2026-02-02" in description.read_text(encoding="utf-8")
    closed = [call for call in calls if "state_event=close" in call]
    assert [call[-1] for call in closed] == [f"{api}/7"]  # the earlier update's, not the other one
