"""Shared helpers of the template tests: render the template, run the copier CLI, read what came out.

Renders use `vcs_ref="HEAD"`: for a local template Copier then takes the last commit plus every
uncommitted change of the working tree, so the tests always see the files on disk (without a ref, Copier
would pick the latest release tag instead).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import copier
import pytest
import uv
import yaml

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
HOOKS = TEMPLATE_ROOT / "hooks"

# The question keys of the public contract: every one is stored in `.copier-answers.yml`.
QUESTION_KEYS = (
    "project_name",
    "project_slug",
    "package_name",
    "client_name",
    "author_name",
    "author_email",
    "problem_type",
    "data_path",
    "target_column",
    "id_columns",
    "time_column",
    "model_family",
    "api_auth",
    "ci_provider",
    "include_k8s",
    "python_version",
    "license",
    "drift_schedule",
)

# A git identity for commits the tests make themselves, independent of the machine's git config.
TEST_IDENTITY = ("-c", "user.name=Template Tests", "-c", "user.email=tests@example.com")

# Release 1.2.0, the last with the flat package layout, by its commit on main's history (a clone may lack
# the tags, never the history): the old side of the 2.0.0 update and its migration.
LAST_1X_RELEASE = "c6595fdad3be40d061cfacb2fbe5acdcb72f5261"


def render(dest: Path, *, src: Path = TEMPLATE_ROOT, skip_tasks: bool = False, **answers: object) -> Path:
    """Render the template into `dest` with default answers, overridden by `answers`, through Copier's API."""
    copier.run_copy(
        src_path=str(src),
        dst_path=str(dest),
        data=answers,
        defaults=True,
        unsafe=True,  # the template runs its hooks as `_tasks`
        vcs_ref="HEAD",
        skip_tasks=skip_tasks,
        quiet=True,
    )
    return dest


def copier_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None):
    """Run the `copier` command line of the dev environment; returns the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "copier", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in `cwd` and return its stripped output; fails the test on a git error."""
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)} failed in {cwd}: {result.stderr}"
    return result.stdout.strip()


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def read_answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def read_config(project: Path) -> dict:
    return yaml.safe_load((project / "configs" / "project.yaml").read_text(encoding="utf-8"))


def project_files(project: Path) -> list[Path]:
    """Every file of a rendered project, outside `.git`."""
    return sorted(path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts)


def is_empty_or_missing(path: Path) -> bool:
    return not path.exists() or not any(path.iterdir())


def run_hook(name: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one of the template's hooks the way Copier's `_tasks` do: project folder as working directory."""
    return subprocess.run(
        [sys.executable, str(HOOKS / name)], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def env_without_git_config(home: Path) -> dict[str, str]:
    """The environment of a machine where git knows no user: no global or system config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1")
    # An empty file of this home, not os.devnull: git replaces a config file it writes (lock file, then
    # rename), and a rename onto /dev/null would turn the machine's /dev/null into a regular file.
    global_config = home / ".gitconfig-empty"
    global_config.touch()
    env["GIT_CONFIG_GLOBAL"] = str(global_config)
    return env


def snapshot_template(dest: Path) -> Path:
    """A committed git repository holding the template's working tree as it is on disk.

    The exact contract command (`copier copy --vcs-ref HEAD <template> <dest>`) reads a commit; this makes
    one from the current files, uncommitted changes included, without touching the real repository.
    """
    listed = git(TEMPLATE_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE_ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, *TEST_IDENTITY, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "template snapshot")
    return dest


@pytest.fixture(scope="session")
def template_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("template") / "copier-ml-engagement")


def uv_bin() -> str:
    """The uv executable of the dev environment, as an absolute path: every subprocess that needs uv calls
    this, so the tests run where uv is not on PATH (a fresh machine whose Makefile installed uv with pip and
    calls it as `python3 -m uv`; pytest started as `.venv/bin/python -m pytest`)."""
    return uv.find_uv_bin()


# Tests run in parallel on few cores: one OpenMP thread per process avoids oversubscription, which slows
# gradient boosting down many times over. `UV` tells a generated project's Makefile which uv to run (uv
# sets it the same way for the commands of `uv run`), so its targets never install uv on the test machine.
PROJECT_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "UV": uv_bin()}


def run(cmd: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: int = 1200):
    return subprocess.run(
        [str(part) for part in cmd],
        cwd=cwd,
        env=PROJECT_ENV if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"{result.args} failed ({result.returncode}):\n{output}"
    return result


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project rendered with default answers and installed with its own `make install`: the environment
    that the slow tests of every module share (one install per test process)."""
    dest = render(tmp_path_factory.mktemp("default") / "acme-churn")
    check(run(["make", "install"], cwd=dest, timeout=900))
    return dest


class Project:
    """A rendered project whose code runs in the default project's environment."""

    def __init__(self, root: Path, python: Path) -> None:
        self.root = root
        self.python = python
        self.answers = yaml.safe_load((root / ".copier-answers.yml").read_text())
        self.package = self.answers["package_name"]
        self.env = {**PROJECT_ENV, "PYTHONPATH": str(root / "src")}
        self.env.pop("VIRTUAL_ENV", None)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return run([self.python, "-m", self.package, *args], cwd=self.root, env=self.env)

    def pytest(self, *args: str) -> subprocess.CompletedProcess:
        """The project's own tests. Renders other than the default one skip the generated suite's slow
        tier (the schema fuzzing of the API), which `make test` of the default project runs."""
        command = [self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *args]
        return run(command, cwd=self.root, env=self.env)

    def lint(self) -> None:
        """ruff with the project's own settings: clean whatever the package is called."""
        ruff = self.python.parent / "ruff"
        check(run([ruff, "check", "."], cwd=self.root, env=self.env))
        check(run([ruff, "format", "--check", "."], cwd=self.root, env=self.env))

    def json(self, relative: str) -> dict:
        return json.loads((self.root / relative).read_text())


# The corpus of real tables (test_corpus.py) appends each table's wall time here, with the time it finished;
# the run prints the rows of its own session. Nothing deletes the file: a pytest started by a test (the
# uv check of test_ship.py runs one) would otherwise take the rows of the run that started it.
CORPUS_TIMINGS = TEMPLATE_ROOT / "build" / "corpus_timings.jsonl"
SESSION_STARTED = time.time()  # when this process imported the helpers: the main process's session start


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `long_running` tests first, the others in their usual order: a parallel run hands out tests in
    collection order, and a ten-minute test taken last would keep one worker busy long after the others
    are done. The order is the same in every worker, as pytest-xdist requires."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not CORPUS_TIMINGS.exists():
        return
    lines = CORPUS_TIMINGS.read_text(encoding="utf-8").splitlines()
    rows = [row for row in map(json.loads, filter(None, lines)) if row.get("finished", 0) >= SESSION_STARTED]
    if not rows:
        return
    terminalreporter.section("corpus of real tables: wall time per table")
    for row in sorted(rows, key=lambda row: -row["seconds"]):
        terminalreporter.write_line(f"{row['table']:>18}  {row['seconds']:7.1f} s")
    total = sum(row["seconds"] for row in rows)
    terminalreporter.write_line(f"{len(rows)} tables, {total:.0f} s in all (summed over the workers)")
