"""`make template-status` in an engagement and `make fleet` over many: which release, how far behind, and
which template-owned files the engagement changed.

A temporary git repository of the template gets three tagged releases (v1.0.0 as on disk, v1.1.0 and
v1.2.0 with small changes), and engagements are copied from it with the `copier` command line at each
release. The engagement's own copy of `scripts/template_status.py` runs the way `make template-status`
runs it, with the copier of this dev environment on PATH (so nothing is downloaded).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pathspec
import pytest
import yaml

from conftest import TEMPLATE_ROOT, TEST_IDENTITY, check, copier_cli, git, read_answers, snapshot_template

pytestmark = pytest.mark.xdist_group("template-status")

V1, V11, V12 = "v1.0.0", "v1.1.0", "v1.2.0"
PACKAGE = "acme_churn"
PIPELINE = f"src/{PACKAGE}/training/pipeline.py"
# Engagement-owned files (copier.yml's `_skip_if_exists`) that the drifted engagement edits: never drift.
ENGAGEMENT_OWNED_EDITS = ("configs/project.yaml", f"src/{PACKAGE}/features.py", "docs/engagement.md")
OWN_TEST = "tests/test_client_rules.py"  # a file of the engagement's own, where the template owns the rest
OWN_NOTE = "docs/notes.md"  # a file of its own under an engagement-owned folder
DELETED = "scripts/try_drift.py"
ANSWERS_DATES = {V1: "2024-01-15", V12: "2024-05-06"}  # the last commit that changed .copier-answers.yml
FLEET = TEMPLATE_ROOT / "scripts" / "fleet.py"
# What `make template-status` runs: the script, copier from the environment (`--copier` or PATH).
TOOLS_ENV = {
    **{key: value for key, value in os.environ.items() if key != "COPIER"},
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
}


def release(repo: Path, tag: str) -> None:
    git(repo, "add", "-A")
    git(repo, *TEST_IDENTITY, "commit", "-q", "--no-verify", "--no-gpg-sign", "--allow-empty", "-m", tag)
    git(repo, "tag", tag)


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template with v1.0.0 (on disk), v1.1.0 (a README line) and v1.2.0 (a Makefile target)."""
    repo = snapshot_template(tmp_path_factory.mktemp("status-releases") / "copier-ml-engagement")
    release(repo, V1)
    append(repo / "template/README.md.jinja", "\nTemplate 1.1.0 says hello.\n")
    release(repo, V11)
    append(repo / "template/Makefile.jinja", "\n.PHONY: hello\nhello:  ## template 1.2.0\n\t@echo hello\n")
    release(repo, V12)
    return repo


def commit_all(project: Path, message: str, date: str | None = None, amend: bool = False) -> None:
    """Commit every change, at `date` (author and committer) when given."""
    env = {**os.environ, "GIT_COMMITTER_DATE": f"{date}T12:00:00"} if date else None
    options = [f"--date={date}T12:00:00"] if date else []
    options += ["--amend", "--no-edit"] if amend else ["-m", message]
    git(project, "add", "-A", env=env)
    git(project, *TEST_IDENTITY, "commit", "-q", "--no-verify", "--no-gpg-sign", *options, env=env)


def engagement(releases: Path, dest: Path, tag: str) -> Path:
    check(copier_cli("copy", "--trust", "--defaults", "--vcs-ref", tag, releases, dest))
    if tag in ANSWERS_DATES:  # the first copy, dated in the past: the fleet reads this date
        commit_all(dest, "", ANSWERS_DATES[tag], amend=True)
    return dest


def drift(project: Path) -> None:
    """A consultant's month: template-owned files edited and one deleted, engagement-owned ones edited,
    files of the engagement's own added; committed (none of it touches the answers)."""
    append(project / PIPELINE, "\n# client-specific tweak\n")
    append(project / "Makefile", "\nclient-task:\n\t@echo client\n")
    (project / DELETED).unlink()
    for name in ENGAGEMENT_OWNED_EDITS:
        append(project / name, "\n# edited by the engagement\n")
    (project / OWN_TEST).write_text('"""The client\'s rules."""\n', encoding="utf-8")
    (project / OWN_NOTE).write_text("Notes of the engagement.\n", encoding="utf-8")
    commit_all(project, "Client work")


@pytest.fixture(scope="module")
def fleet(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three engagements: at v1.0.0 with drift, at v1.1.0 untouched, at v1.2.0 untouched."""
    root = tmp_path_factory.mktemp("fleet")
    projects = {tag: engagement(releases, root / f"engagement-{tag}", tag) for tag in (V1, V11, V12)}
    drift(projects[V1])
    return projects


def template_status(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The engagement's own copy of the script, run in the engagement as `make template-status` does."""
    command = [sys.executable, "scripts/template_status.py", *args]
    return subprocess.run(command, cwd=project, env=TOOLS_ENV, capture_output=True, text=True, check=False)


# --- template-status -----------------------------------------------------------------------------------


def test_an_engagement_two_releases_behind_sees_them_and_its_drift(fleet: dict[str, Path]) -> None:
    result = template_status(fleet[V1], "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["current"], report["latest"], report["behind"]) == (V1, V12, 2)
    assert report["newer"] == [V11, V12]
    assert report["modified"] == ["Makefile", PIPELINE]
    assert report["deleted"] == [DELETED]
    assert report["drifted"] == sorted(["Makefile", PIPELINE, DELETED])
    # The engagement's own files: its new test is listed apart; under docs/ (engagement-owned) not at all.
    assert report["added"] == [OWN_TEST]
    listed = set(report["modified"] + report["deleted"] + report["added"])
    assert not listed & {*ENGAGEMENT_OWNED_EDITS, OWN_NOTE, ".copier-answers.yml"}
    assert report["ownership"] == "copier.yml"


def test_an_up_to_date_engagement_exits_0_with_no_drift(fleet: dict[str, Path]) -> None:
    result = template_status(fleet[V12])
    assert result.returncode == 0, result.stderr
    assert re.search(rf"in use +{V12}\n", result.stdout)
    assert f"latest      {V12} (up to date)" in result.stdout
    assert "all as a fresh render of v1.2.0 has them" in result.stdout
    assert "modified" not in result.stdout and "deleted" not in result.stdout


def test_a_folder_that_is_not_an_engagement_is_an_error(tmp_path: Path) -> None:
    script = TEMPLATE_ROOT / "template" / "scripts" / "template_status.py"
    result = subprocess.run(
        [sys.executable, script, "--project", tmp_path], env=TOOLS_ENV, capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {tmp_path} is not a Copier project: .copier-answers.yml is missing"
    ]


def test_an_unreachable_template_is_an_error(fleet: dict[str, Path], tmp_path: Path) -> None:
    project = tmp_path / "moved"
    (project / "scripts").mkdir(parents=True)
    (project / "scripts/template_status.py").write_bytes(
        (fleet[V12] / "scripts/template_status.py").read_bytes()
    )
    answers = (fleet[V12] / ".copier-answers.yml").read_text(encoding="utf-8")
    gone = tmp_path / "no-such-template"
    (project / ".copier-answers.yml").write_text(re.sub(r"_src_path: .*", f"_src_path: {gone}", answers))
    result = template_status(project)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: template {gone} is unreachable: git ls-remote failed")


def test_the_answers_are_read_as_yaml_reads_them(fleet: dict[str, Path]) -> None:
    """The script reads `.copier-answers.yml` without a YAML library: every answer as YAML has it."""
    module = load_script()
    for project in fleet.values():
        expected = {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in read_answers(project).items()
        }
        assert module.read_answers(project) == expected


def load_script():
    sys.path.insert(0, str(TEMPLATE_ROOT / "template" / "scripts"))
    try:
        import template_status as module
    finally:
        sys.path.pop(0)
    return module


def test_the_ownership_rules_are_copier_yml_s_and_match_as_copier_matches() -> None:
    """Read from copier.yml as YAML reads it, equal to the fallback list, and matched like pathspec (what
    Copier uses) matches them."""
    module = load_script()
    text = (TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8")
    settings = yaml.safe_load(text.split("\n---\n", 1)[0])
    rules = module.ownership_from(text)
    assert rules.skip_if_exists == tuple(settings["_skip_if_exists"]) == module.FALLBACK_SKIP_IF_EXISTS
    expected_exclude = tuple(module.without_jinja(pattern) for pattern in settings["_exclude"])
    assert rules.exclude == expected_exclude == module.FALLBACK_EXCLUDE
    paths = [
        "configs/project.yaml", "configs/other.yaml", f"src/{PACKAGE}/features.py", f"src/{PACKAGE}/cli.py",
        "docs/engagement.md", "docs/decisions/0001.md", "data/sample/x.csv", "tests/data/README.md",
        "models/model.skops", "src/a/__pycache__/b.pyc", "x.pyo", "notes/~draft.md", "sub/.DS_Store",
        "Makefile", "src/docs/x.md", "mydata/x", "scripts/template_status.py",
    ]  # fmt: skip
    for pattern in (*rules.skip_if_exists, *rules.exclude):
        spec = pathspec.PathSpec.from_lines("gitignore", [pattern])  # as Copier reads its patterns
        for path in paths:
            assert bool(module.pattern_regex(pattern).match(path)) == spec.match_file(path), (pattern, path)


def test_a_commit_between_releases_counts_from_its_nearest_release(releases: Path) -> None:
    """`_commit` of a copy made from an untagged commit is `git describe` output; the release it follows
    is read from the template's history, so a tag added later to that very commit counts."""
    module = load_script()
    v11 = git(releases, "rev-parse", f"{V11}^{{commit}}")
    assert module.base_release(f"{V1}-1-g{v11[:7]}", releases) == V11
    assert module.base_release(v11, releases) == V11
    assert module.base_release(f"{V1}-3-gdeadbee", releases) == V1  # not in this history: its name says
    assert module.base_release(V12, releases) == V12


# --- make targets --------------------------------------------------------------------------------------


def test_make_template_status_runs_the_copier_release_the_template_is_tested_with(
    fleet: dict[str, Path],
) -> None:
    lock = (TEMPLATE_ROOT / "uv.lock").read_text(encoding="utf-8")
    pinned = re.search(r'name = "copier"\nversion = "([^"]+)"', lock).group(1)
    result = subprocess.run(
        ["make", "-n", "template-status", "UV=uv"], cwd=fleet[V12], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (
        f'uv run python scripts/template_status.py --copier "uv tool run --from copier=={pinned} copier"'
        in result.stdout
    )
    assert f"uv tool run --from copier=={pinned} copier" in (fleet[V12] / "README.md").read_text()


# --- make fleet ---------------------------------------------------------------------------------------


def fleet_list(fleet: dict[str, Path], tmp_path: Path) -> list[str]:
    """A path relative to the list, a file:// URL, an absolute path, a typo."""
    relative = os.path.relpath(fleet[V1], tmp_path)
    return [relative, f"file://{fleet[V11]}", str(fleet[V12]), str(tmp_path / "missing")]


def run_fleet(tmp_path: Path, entries: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """scripts/fleet.py on a list file of `entries`, with comments and a blank line as people write them."""
    listing = tmp_path / "fleet.txt"
    lines = ["# engagements of the practice", f"{entries[0]}  # the oldest", "", *entries[1:]]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [sys.executable, FLEET, listing, *args]
    return subprocess.run(command, env=TOOLS_ENV, capture_output=True, text=True, check=False)


def expected_rows(fleet: dict[str, Path], tmp_path: Path) -> list[list[str]]:
    """The rows of fleet_list's engagements, in its order."""
    today = git(fleet[V11], "log", "-1", "--format=%cs")
    drifted = f"Makefile, {DELETED} (deleted), {PIPELINE}"
    missing = str(tmp_path / "missing")
    return [
        [os.path.relpath(fleet[V1], tmp_path), V1, V12, "2", ANSWERS_DATES[V1], drifted],
        [f"file://{fleet[V11]}", V11, V12, "1", today, "none"],
        [str(fleet[V12]), V12, V12, "0", ANSWERS_DATES[V12], "none"],
        [missing, f"error: {missing}: no such folder", "", "", "", ""],
    ]


def test_make_fleet_markdown_has_a_row_per_engagement(fleet: dict[str, Path], tmp_path: Path) -> None:
    result = run_fleet(tmp_path, fleet_list(fleet, tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| engagement | template version | latest | behind | last update |")
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]
    assert rows == expected_rows(fleet, tmp_path)


class Cells(HTMLParser):
    """The text of every table cell, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
            self.in_cell = True

    def handle_endtag(self, tag: str) -> None:
        self.in_cell = self.in_cell and tag not in ("td", "th")

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.rows[-1][-1] += data


def test_make_fleet_html_writes_the_same_rows(fleet: dict[str, Path], tmp_path: Path) -> None:
    """The drifted engagement and the error row (one render keeps the test short)."""
    output = tmp_path / "fleet.html"
    entries = fleet_list(fleet, tmp_path)
    result = run_fleet(tmp_path, [entries[0], entries[3]], "--format", "html", "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"2 engagement(s): {output}"
    cells = Cells()
    cells.feed(output.read_text(encoding="utf-8"))
    assert cells.rows[0][:3] == ["engagement", "template version", "latest"]
    rows = expected_rows(fleet, tmp_path)
    assert cells.rows[1:] == [rows[0], rows[3]]
