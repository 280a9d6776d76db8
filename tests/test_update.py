"""`copier update` on a live engagement: template improvements arrive, the engagement's own work stays.

Built on a temporary git repository of the template with real release tags, the way Copier's own tests
do it: the working tree is committed and tagged as releases, and projects are copied and updated between
them with the `copier` command line, as a consultant would.

- v0.9.0: an older release, from before `max_categories` moved from `audit:` to `data:` (the 1.0.0
  migration).
- v1.0.0: the template as it is on disk.
- v1.1.0: a later release that changes template-owned files (code, Makefile, README, .gitignore, a new
  test) and also the template side of engagement-owned files (configs/project.yaml, features.py, docs/),
  which must not reach a live engagement.

Release 2.0.0 moved the generated package's modules from one flat folder into stage packages; its story
runs on a second repository, whose v1.2.0 is the real last 1.x release (the files of commit
`LAST_1X_RELEASE`, on this repository's history) and whose v2.0.0 is the template on disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from conftest import (
    LAST_1X_RELEASE,
    PROJECT_ENV,
    TEMPLATE_ROOT,
    TEST_IDENTITY,
    check,
    copier_cli,
    git,
    read_answers,
    read_config,
    run,
    snapshot_template,
)

# One worker builds the releases and the worked-on project once for every test here (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("copier-update")

OLD, V1, V2 = "v0.9.0", "v1.0.0", "v1.1.0"
PACKAGE = "acme_churn"  # the default answers' package
# Release 1.2.0 (the last 1.x release, see LAST_1X_RELEASE) and 2.0.0, and the files of a release that
# Copier reads.
V1X, V20 = "v1.2.0", "v2.0.0"
RELEASE_FILES = ("copier.yml", "template", "hooks", "includes")

# v1.1.0 of the template: (file, text to find, text that replaces it); None appends the text instead.
TEMPLATE_OWNED_CHANGES = [
    (
        "template/src/{{package_name}}/training/pipeline.py",
        '"""The model: one scikit-learn Pipeline from raw records to predictions.\n',
        '"""The model: one scikit-learn Pipeline from raw records to predictions (template 1.1.0).\n',
    ),
    (
        "template/Makefile.jinja",
        None,
        "\n.PHONY: template-release\ntemplate-release:  ## the template release of this project\n"
        "\t@grep '^_commit:' .copier-answers.yml\n",
    ),
    (
        "template/README.md.jinja",
        "## The quality gate\n",
        "## The quality gate\n\nEvery retraining passes the same gate (template 1.1.0).\n",
    ),
    ("template/.gitignore", None, "\n# Editor files\n.DS_Store\n"),
]
NEW_TEMPLATE_TEST = (
    "template/tests/test_template_release.py",
    '"""Arrived with template 1.1.0."""\n\nfrom pathlib import Path\n\n\n'
    "def test_makefile_names_the_template_release() -> None:\n"
    '    makefile = Path(__file__).resolve().parents[1] / "Makefile"\n'
    '    assert "template-release:" in makefile.read_text(encoding="utf-8")\n',
)
# A template file in a folder named like an engagement-owned one, deeper down: still the template's.
NEW_TEMPLATE_FIXTURE = ("template/tests/data/README.md", "Fixture data of the tests (template 1.1.0).\n")
ENGAGEMENT_OWNED_MARK = "template 1.1.0 wrote this line"


# --- the template's releases ----------------------------------------------------------------------------


def edit(path: Path, find: str | None, replace: str) -> None:
    text = path.read_text(encoding="utf-8")
    if find is None:
        path.write_text(text + replace, encoding="utf-8")
        return
    assert text.count(find) == 1, f"{find!r} is not once in {path}: update this test's release"
    path.write_text(text.replace(find, replace), encoding="utf-8")


def release(repo: Path, tag: str) -> None:
    git(repo, "add", "-A")
    git(repo, *TEST_IDENTITY, "commit", "-q", "--no-verify", "--no-gpg-sign", "--allow-empty", "-m", tag)
    git(repo, "tag", tag)


def engagement_owned_template_files(repo: Path) -> list[Path]:
    """The template's side of the engagement-owned files that exist in this template."""
    template = repo / "template"
    files = [template / "configs/project.yaml.jinja", template / "src/{{package_name}}/features.py"]
    return files + sorted(path for path in (template / "docs").rglob("*") if path.is_file())


def engagement_owned_paths(repo: Path) -> set[str]:
    """Where those files land in a project."""
    template = repo / "template"
    return {
        str(path.relative_to(template)).removesuffix(".jinja").replace("{{package_name}}", PACKAGE)
        for path in engagement_owned_template_files(repo)
    }


def write_old_settings_layout(repo: Path) -> None:
    """configs/project.yaml as releases before 1.0.0 wrote it: max_categories under audit:."""
    config = repo / "template/configs/project.yaml.jinja"
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    moved = next(line for line in lines if line.lstrip().startswith("max_categories:"))
    lines.remove(moved)
    after = next(i for i, line in enumerate(lines) if line.lstrip().startswith("id_unique_ratio:"))
    lines.insert(after + 1, moved)
    config.write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of the template with the tags v0.9.0, v1.0.0 and v1.1.0 (see the module doc)."""
    repo = snapshot_template(tmp_path_factory.mktemp("releases") / "copier-ml-engagement")
    on_disk = git(repo, "rev-parse", "HEAD")
    write_old_settings_layout(repo)
    release(repo, OLD)
    git(repo, "checkout", "-q", on_disk, "--", ".")
    release(repo, V1)
    for name, find, replace in TEMPLATE_OWNED_CHANGES:
        edit(repo / name, find, replace)
    for name, content in (NEW_TEMPLATE_TEST, NEW_TEMPLATE_FIXTURE):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content, encoding="utf-8")
    for path in engagement_owned_template_files(repo):
        edit(path, None, f"\n# {ENGAGEMENT_OWNED_MARK}\n")
    release(repo, V2)
    return repo


def extract_release(commit: str, repo: Path) -> None:
    """The release files of one commit of this repository's history, written into `repo`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, *RELEASE_FILES], cwd=TEMPLATE_ROOT, capture_output=True
    )
    assert archive.returncode == 0, f"commit {commit} of release 1.2.0 is missing: {archive.stderr.decode()}"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as files:
        for member in (member for member in files if member.isfile()):  # a release holds plain files only
            target = repo / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files.extractfile(member).read())
            target.chmod(member.mode)


def real_release_then_on_disk(folder: Path, commit: str, old: str, new: str) -> Path:
    """A git repository of the template whose tag `old` is the real release at `commit` (read with `git
    archive`) and whose tag `new` is the template on disk."""
    repo = snapshot_template(folder / "copier-ml-engagement")
    on_disk = git(repo, "rev-parse", "HEAD")
    git(repo, "rm", "-rq", ".")
    extract_release(commit, repo)
    release(repo, old)
    git(repo, "rm", "-rq", ".")
    git(repo, "checkout", "-q", on_disk, "--", ".")
    release(repo, new)
    return repo


@pytest.fixture(scope="module")
def releases_2_0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of the template with v1.2.0 (the real last 1.x release) and v2.0.0 (on disk)."""
    return real_release_then_on_disk(tmp_path_factory.mktemp("releases-2.0"), LAST_1X_RELEASE, V1X, V20)


# --- projects -------------------------------------------------------------------------------------------


def copy(releases: Path, dest: Path, tag: str, *options: str) -> Path:
    """`copier copy` of one release, tasks included (the first commit of the project)."""
    check(copier_cli("copy", "--trust", "--defaults", "--vcs-ref", tag, *options, releases, dest))
    return dest


def update(project: Path, tag: str, *options: str):
    return copier_cli("update", "--trust", "--defaults", "--vcs-ref", tag, *options, cwd=project)


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, *TEST_IDENTITY, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message)


def tree(root: Path) -> dict[str, bytes]:
    """Every file of a project outside .git, by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def rejects_and_markers(root: Path) -> list[str]:
    """.rej files and files with merge conflict markers: anything an update left for a manual merge."""
    markers = (b"<<<<<<< ", b">>>>>>> ")
    return [
        name
        for name, content in tree(root).items()
        if name.endswith((".rej", ".orig")) or any(line.startswith(markers) for line in content.splitlines())
    ]


CLIENT_README_NOTE = (
    "Client note: the churn export arrives every Monday from the CRM team; ask Dana for VPN access.\n\n"
)
CLIENT_FEATURE = '''

def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Charges per month of tenure: how the client's retention team reads value at risk."""
    if {"total_charges", "tenure_months"} <= set(frame.columns):
        tenure = frame["tenure_months"].clip(lower=1)
        return frame.assign(charges_per_month=frame["total_charges"] / tenure)
    return frame
'''
CLIENT_TEST = '''"""The engagement's own test of its feature."""

import pandas as pd

from acme_churn.features import add_features


def test_charges_per_month() -> None:
    frame = pd.DataFrame({"total_charges": [1200.0, 50.0], "tenure_months": [12, 0]})
    assert add_features(frame)["charges_per_month"].tolist() == [100.0, 50.0]
'''


def make_client_edits(project: Path) -> dict[str, bytes]:
    """What a consultant does in the first weeks; returns every file it touched with its content."""
    sample = pd.read_csv(project / "data/sample/customer_churn.csv")
    export = project / "data/raw/client_export.csv"
    sample.rename(columns={"churned": "cancelled"}).head(800).to_csv(export, index=False)

    config = project / "configs/project.yaml"
    edit(config, 'path: "data/sample/customer_churn.csv"', 'path: "data/raw/client_export.csv"')
    edit(config, 'target: "churned"', 'target: "cancelled"')
    edit(config, "drop_columns: []", "drop_columns: [nps_score]  # asked after the customer left")

    features = project / f"src/{PACKAGE}/features.py"
    text = features.read_text(encoding="utf-8")
    start = text.index("\n\ndef add_features")
    features.write_text(text[:start] + CLIENT_FEATURE, encoding="utf-8")

    (project / "tests/test_client_rules.py").write_text(CLIENT_TEST, encoding="utf-8")
    readme = project / "README.md"
    edit(readme, "## Quick start\n\n", "## Quick start\n\n" + CLIENT_README_NOTE)
    # Records the engagement commits (the model files themselves are never committed).
    (project / "models/metadata.json").write_text('{"model_version": "2025-01-06T09:00:00Z"}\n')
    (project / "reports/experiments.jsonl").write_text('{"run": 1, "roc_auc": 0.81}\n')
    (project / "docs/kickoff_notes.md").parent.mkdir(exist_ok=True)
    (project / "docs/kickoff_notes.md").write_text("# Kickoff\n\nSponsor: the CFO.\n")
    (project / "models/model.skops").write_bytes(b"weights the client paid for")  # ignored by git
    touched = ["configs/project.yaml", f"src/{PACKAGE}/features.py", "tests/test_client_rules.py"]
    touched += ["README.md", "models/metadata.json", "reports/experiments.jsonl", "docs/kickoff_notes.md"]
    touched += ["models/model.skops", "data/raw/client_export.csv"]
    return {name: (project / name).read_bytes() for name in touched}


# What only a 1.x engagement can do: edit a template module that 2.0.0 moves, add its own module in a folder
# that moves, and import the package's modules by their 1.x names in a script of its own.
FLAT_MODULE_EDIT = "\n# Acme: the retention dashboard reads these scores every morning.\n"
CLIENT_ROUTE = '"""The engagement\'s own endpoint, beside the template\'s routes."""\n'
CLIENT_SCRIPT = '''"""The engagement's export of the week's scores."""

from acme_churn.config import load_config

print(load_config().data.path)
'''


def make_flat_layout_edits(project: Path) -> dict[str, bytes]:
    edit(project / f"src/{PACKAGE}/scoring.py", None, FLAT_MODULE_EDIT)
    (project / f"src/{PACKAGE}/api/routes/client_report.py").write_text(CLIENT_ROUTE, encoding="utf-8")
    (project / "scripts/export_scores.py").write_text(CLIENT_SCRIPT, encoding="utf-8")
    touched = [f"src/{PACKAGE}/scoring.py", f"src/{PACKAGE}/api/routes/client_report.py"]
    return {name: (project / name).read_bytes() for name in [*touched, "scripts/export_scores.py"]}


@dataclass
class Story:
    project: Path
    edits: dict[str, bytes]
    output: str


@pytest.fixture(scope="module")
def story(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Story:
    """Copied at v1.0.0, worked on by the consultant and committed, then updated to v1.1.0."""
    project = copy(releases, tmp_path_factory.mktemp("story") / "acme-churn", V1)
    edits = make_client_edits(project)
    commit_all(project, "First weeks of the engagement")
    result = check(update(project, V2))
    return Story(project, edits, result.stdout + result.stderr)


@pytest.fixture(scope="module")
def fresh_v2(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copied straight from v1.1.0 with the same answers."""
    return copy(releases, tmp_path_factory.mktemp("fresh") / "acme-churn", V2)


@pytest.fixture(scope="module")
def story_2_0(releases_2_0: Path, tmp_path_factory: pytest.TempPathFactory) -> Story:
    """Copied at v1.2.0, worked on by the consultant and committed, then updated to v2.0.0."""
    project = copy(releases_2_0, tmp_path_factory.mktemp("story-2.0") / "acme-churn", V1X)
    edits = make_client_edits(project) | make_flat_layout_edits(project)
    commit_all(project, "First weeks of the engagement")
    result = check(update(project, V20))
    return Story(project, edits, result.stdout + result.stderr)


@pytest.fixture(scope="module")
def fresh_2_0(releases_2_0: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copied straight from v2.0.0 with the same answers."""
    return copy(releases_2_0, tmp_path_factory.mktemp("fresh-2.0") / "acme-churn", V20)


# --- the update of a worked-on engagement ---------------------------------------------------------------


def test_update_moves_the_commit_and_leaves_nothing_to_merge(story: Story) -> None:
    assert read_answers(story.project)["_commit"] == V2
    assert rejects_and_markers(story.project) == []
    assert git(story.project, "diff", "--name-only", "--diff-filter=U") == ""
    # The after-update summary speaks once, in the project (not in Copier's scratch renders).
    assert story.output.count("The project was updated from the template") == 1
    assert "Migration 1.0.0" not in story.output  # 1.0.0 -> 1.1.0 does not cross 1.0.0: it never ran


def test_every_client_edit_survives(story: Story) -> None:
    for name, content in story.edits.items():
        if name == "README.md":
            continue  # merged with a template change: checked below
        assert (story.project / name).read_bytes() == content, f"{name} lost the engagement's edit"
    readme = (story.project / "README.md").read_text(encoding="utf-8")
    assert "## Quick start\n\n" + CLIENT_README_NOTE in readme
    config = read_config(story.project)
    assert config["data"]["path"] == "data/raw/client_export.csv" and config["data"]["target"] == "cancelled"


def test_every_template_change_arrives_and_engagement_files_stay_the_engagements(story: Story) -> None:
    project = story.project
    pipeline = project / f"src/{PACKAGE}/training/pipeline.py"
    assert "(template 1.1.0)" in pipeline.read_text(encoding="utf-8")
    assert "template-release:" in (project / "Makefile").read_text(encoding="utf-8")
    assert "Every retraining passes the same gate (template 1.1.0)." in (project / "README.md").read_text()
    assert ".DS_Store" in (project / ".gitignore").read_text(encoding="utf-8")
    assert (project / "tests/test_template_release.py").read_text() == NEW_TEMPLATE_TEST[1]
    assert (project / "tests/data/README.md").read_text() == NEW_TEMPLATE_FIXTURE[1]
    for name, content in tree(project).items():
        assert ENGAGEMENT_OWNED_MARK.encode() not in content, f"the template rewrote {name}"


def test_updated_project_equals_a_fresh_copy_but_for_the_client_edits(
    story: Story, fresh_v2: Path, releases: Path
) -> None:
    """Apart from the engagement's edits and the engagement-owned files (whose v1.1.0 side never arrives),
    the updated project is what a fresh copy of v1.1.0 is."""
    updated, fresh = tree(story.project), tree(fresh_v2)
    owned = engagement_owned_paths(releases)
    edited = set(story.edits) | owned | {".copier-answers.yml"}
    added_by_client = {name for name in story.edits if name not in fresh}
    assert set(updated) - added_by_client == set(fresh)
    differing = {name for name in fresh if updated[name] != fresh[name]}
    assert differing <= edited, differing - edited
    # The README differs by exactly the consultant's note; the engagement-owned files by their edits.
    assert updated["README.md"].decode().replace(CLIENT_README_NOTE, "") == fresh["README.md"].decode()
    assert {"configs/project.yaml", f"src/{PACKAGE}/features.py"} <= owned
    assert differing - {"README.md", ".copier-answers.yml"} == owned
    assert read_answers(story.project) == read_answers(fresh_v2)


def run_the_projects_tests(project: Path, default_project: Path, *names: str) -> str:
    """The project's test files `tests/test_<name>.py`, in the shared environment of the installed default
    project (same dependencies), on the updated code; also checks that its settings load with that code.
    Returns pytest's report."""
    python = default_project / ".venv" / "bin" / "python"
    env = {**PROJECT_ENV, "PYTHONPATH": str(project / "src")}
    env.pop("VIRTUAL_ENV", None)
    files = [f"tests/test_{name}.py" for name in names]
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", "-rA", *files]
    result = check(run(command, cwd=project, env=env))
    script = f"from {PACKAGE}.core.config import load_config; c = load_config(); print(c.data.target)"
    assert check(run([python, "-c", script], cwd=project, env=env)).stdout.strip() == "cancelled"
    return result.stdout


@pytest.mark.slow
def test_the_projects_tests_pass_after_the_update(story: Story, default_project: Path) -> None:
    """The engagement's own test and the test the new release brought run on the updated code. (The
    generated tests that train, save, load and score through the engagement's edited features.py and
    settings run after the update to 2.0.0 below; the whole generated suite on fresh renders in
    test_generated.py.)"""
    touched = ("client_rules", "template_release")
    report = run_the_projects_tests(story.project, default_project, *touched)
    assert "PASSED tests/test_client_rules.py::test_charges_per_month" in report
    assert "PASSED tests/test_template_release.py::test_makefile_names_the_template_release" in report


# --- updates that must change nothing -------------------------------------------------------------------


def test_same_version_changes_nothing_and_answer_changes_add_and_remove_files(
    releases: Path, fresh_v2: Path, tmp_path: Path
) -> None:
    project = tmp_path / "acme-churn"
    shutil.copytree(fresh_v2, project)  # a project at v1.1.0, git history included
    before = tree(project)
    check(update(project, V2))
    assert git(project, "status", "--porcelain") == ""
    assert tree(project) == before

    # Deployment answers: the update brings the files of the new answers and takes those of the old ones,
    # exactly as a fresh copy with the new answers has them.
    answers = ("-d", "include_k8s=false", "-d", "ci_provider=gitlab")
    check(update(project, V2, *answers))
    expected = copy(releases, tmp_path / "expected", V2, *answers)
    updated, wanted, owned = tree(project), tree(expected), engagement_owned_paths(releases)
    assert set(updated) == set(wanted)
    # Template-owned files are those of the new answers; engagement-owned ones stay as they were.
    assert {name for name in wanted if updated[name] != wanted[name]} <= owned
    assert all(updated[name] == before[name] for name in owned if name in before)
    # Whatever the default answers deploy with (GitHub workflows, Kubernetes manifests) left with them.
    shipped_by_default = {name for name in tree(fresh_v2) if name.startswith((".github/", "deploy/k8s/"))}
    assert not shipped_by_default & set(tree(project))
    assert read_answers(project)["include_k8s"] is False and read_answers(project)["ci_provider"] == "gitlab"


# --- the 1.0.0 migration --------------------------------------------------------------------------------


def test_dirty_repository_is_refused_then_the_migration_runs_once_on_the_1_0_0_boundary(
    releases: Path, tmp_path: Path
) -> None:
    project = copy(releases, tmp_path / "acme-churn", OLD)
    config = project / "configs/project.yaml"
    assert read_config(project)["audit"]["max_categories"] == 50
    assert "max_categories" not in read_config(project)["data"]
    edit(config, "  max_categories: 50", "  max_categories: 30")  # the consultant tuned it...

    # ...and has not committed yet: Copier refuses, and nothing changes.
    dirty = tree(project)
    refused = update(project, V1)
    assert refused.returncode != 0
    assert "Destination repository is dirty; cannot continue" in refused.stderr
    assert tree(project) == dirty and read_answers(project)["_commit"] == OLD

    commit_all(project, "Tune the categorical limit")
    old_lines = config.read_text(encoding="utf-8").splitlines()
    crossing = check(update(project, V1))
    output = crossing.stdout + crossing.stderr
    assert output.count("Migration 1.0.0") == 1
    assert "Migration 1.0.0: moved audit.max_categories to data.max_categories" in output
    settings = read_config(project)
    assert settings["data"]["max_categories"] == 30 and "max_categories" not in settings["audit"]
    new_lines = config.read_text(encoding="utf-8").splitlines()
    assert sorted(new_lines) == sorted(old_lines)  # one line moved, comment and all; nothing else touched
    assert new_lines != old_lines
    assert read_answers(project)["_commit"] == V1


# --- 2.0.0: the package's modules moved into stage packages ---------------------------------------------


def test_the_update_to_2_0_0_leaves_nothing_to_merge_and_says_to_retrain(story_2_0: Story) -> None:
    project, output = story_2_0.project, story_2_0.output
    assert read_answers(project)["_commit"] == V20
    assert rejects_and_markers(project) == []
    assert git(project, "diff", "--name-only", "--diff-filter=U") == ""
    assert output.count("The project was updated from the template") == 1
    # 1.x model files name the 1.x modules of their transformers, which 2.0.0 refuses to load.
    assert "make train      # models trained before template release 2.0 no longer load" in output
    assert "Migration 1.0.0" not in output


def test_the_1_x_modules_are_gone_but_what_the_engagement_wrote(story_2_0: Story, fresh_2_0: Path) -> None:
    """Every file that only the 1.x release had is removed, except the 1.x module the engagement had edited,
    which the 2.0.0 migration puts back and names; the engagement's own module in a folder that moved stays
    where it was, named too, and so does its script that imports a 1.x module name."""
    project, package = story_2_0.project, f"src/{PACKAGE}"
    committed = set(git(project, "ls-tree", "-r", "--name-only", "HEAD").splitlines())  # 1.2.0 and edits
    only_1x = committed - set(tree(fresh_2_0)) - set(story_2_0.edits)
    assert {f"{package}/pipeline.py", f"{package}/config.py", f"{package}/api/app.py"} <= only_1x
    assert sorted(name for name in only_1x if (project / name).exists()) == []
    stages = ("core", "data", "audit", "training", "artifacts", "serving", "drift", "reporting")
    assert all((project / package / stage / "__init__.py").is_file() for stage in stages)
    left_in_api = sorted(path.name for path in (project / package / "api").rglob("*") if path.is_file())
    assert left_in_api == ["client_report.py"]

    output = story_2_0.output
    assert f"Migration 2.0.0: kept {package}/scoring.py: it carries the engagement's edits" in output
    assert f"the template's module is now {package}/serving/scoring.py" in output
    assert f"Migration 2.0.0: left {package}/api/routes/client_report.py where it is" in output
    assert f"in a folder that moved to {package}/serving/api/routes/" in output
    old_import = "scripts/export_scores.py:3 imports acme_churn.config, now acme_churn.core.config"
    assert f"Migration 2.0.0: {old_import}" in output
    assert output.count("Migration 2.0.0:") == 3


def test_every_client_edit_survives_the_update_to_2_0_0(story_2_0: Story) -> None:
    for name, content in story_2_0.edits.items():
        if name == "README.md":
            continue  # merged with the template's changes: checked below
        assert (story_2_0.project / name).read_bytes() == content, f"{name} lost the engagement's edit"
    readme = (story_2_0.project / "README.md").read_text(encoding="utf-8")
    assert "## Quick start\n\n" + CLIENT_README_NOTE in readme
    config = read_config(story_2_0.project)
    assert config["data"]["path"] == "data/raw/client_export.csv" and config["data"]["target"] == "cancelled"


def test_the_project_updated_to_2_0_0_equals_a_fresh_copy_but_for_the_client_edits(
    story_2_0: Story, fresh_2_0: Path, releases_2_0: Path
) -> None:
    updated, fresh = tree(story_2_0.project), tree(fresh_2_0)
    added_by_client = {name for name in story_2_0.edits if name not in fresh}
    assert set(updated) - added_by_client == set(fresh)
    edited = set(story_2_0.edits) | engagement_owned_paths(releases_2_0) | {".copier-answers.yml"}
    differing = {name for name in fresh if updated[name] != fresh[name]}
    assert differing <= edited, differing - edited
    assert updated["README.md"].decode().replace(CLIENT_README_NOTE, "") == fresh["README.md"].decode()
    assert read_answers(story_2_0.project) == read_answers(fresh_2_0)


@pytest.mark.slow
def test_the_projects_tests_pass_after_the_update_to_2_0_0(story_2_0: Story, default_project: Path) -> None:
    """The engagement's own test and the generated tests that train, save, load and score a model through
    its features.py and settings, on the 2.0.0 code (nothing imports the 1.x module kept for its edits)."""
    touched = ("client_rules", "config_and_data", "cli", "scoring", "model_files")
    report = run_the_projects_tests(story_2_0.project, default_project, *touched)
    assert "PASSED tests/test_client_rules.py::test_charges_per_month" in report


# --- 2.2.0: the versioned model store ---------------------------------------------------------------------

# Release 2.1.0, the last with one model at the top of models/, by its commit on main's history.
RELEASE_2_1 = "eb7fe0dbe92d9fb0c696533b482136a252c85680"
V21, V22 = "v2.1.0", "v2.2.0"


@pytest.fixture(scope="module")
def releases_2_2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of the template with v2.1.0 (the real release) and v2.2.0 (the template on disk)."""
    return real_release_then_on_disk(tmp_path_factory.mktemp("releases-2.2"), RELEASE_2_1, V21, V22)


def project_cli(project: Path, default_project: Path, *args: str) -> str:
    """A command of the project's own code, in the installed default project's environment; its output."""
    env = {**PROJECT_ENV, "PYTHONPATH": str(project / "src")}
    env.pop("VIRTUAL_ENV", None)
    python = default_project / ".venv" / "bin" / "python"
    return check(run([python, "-m", PACKAGE, *args], cwd=project, env=env)).stdout


def scored(project: Path, default_project: Path) -> bytes:
    """`predict` on rows of the sample: the file it writes."""
    project_cli(
        project, default_project, "predict", "--input", "data/raw/incoming.csv", "--output", "out.csv"
    )
    return (project / "out.csv").read_bytes()


# Columns `predict` gained after 2.1.0, and their value on rows like the training rows: no input warnings.
NEW_OUTPUT_COLUMNS = {"warnings": "[]"}


def assert_scored_as_before(after: bytes, before: bytes) -> None:
    """The same rows, predictions and probabilities, byte for byte as text; only columns added since."""
    old, new = (pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False) for data in (before, after))
    assert set(new.columns) - set(old.columns) <= set(NEW_OUTPUT_COLUMNS), new.columns
    pd.testing.assert_frame_equal(new[list(old.columns)], old)
    for column in set(new.columns) - set(old.columns):
        assert (new[column] == NEW_OUTPUT_COLUMNS[column]).all(), new[column]


@pytest.mark.slow
def test_the_update_to_2_2_0_keeps_the_trained_model_as_the_first_version(
    releases_2_2: Path, default_project: Path, tmp_path: Path
) -> None:
    """An engagement of 2.1.0 with a trained model: after the update the model is version 1 of the store,
    current, served and scored as before; the next `train` adds a second one and `rollback` returns."""
    project = copy(releases_2_2, tmp_path / "acme-churn", V21)
    sample = pd.read_csv(project / "data/sample/customer_churn.csv").head(1000)
    sample.to_csv(project / "data/raw/small.csv", index=False)
    sample.drop(columns="churned").head(50).to_csv(project / "data/raw/incoming.csv", index=False)
    edit(
        project / "configs/project.yaml",
        'path: "data/sample/customer_churn.csv"',
        'path: "data/raw/small.csv"',
    )
    edit(project / "configs/project.yaml", "cv_folds: 5", "cv_folds: 3")
    project_cli(project, default_project, "train")
    models = project / "models"
    flat = {path.name: path.read_bytes() for path in models.iterdir() if path.is_file()}
    version = json.loads(flat["metadata.json"])["model_version"]
    before = scored(project, default_project)
    commit_all(project, "Trained on the client's rows")  # what git tracks of it: Copier wants a clean tree
    assert not (models / "current.json").exists() and not (models / "versions").exists()

    result = check(update(project, V22))
    output = result.stdout + result.stderr
    assert output.count("Migration 2.2.0:") == 1
    assert f"Migration 2.2.0: stored the trained model as version {version} " in output

    pointer = json.loads((models / "current.json").read_text(encoding="utf-8"))
    assert (pointer["current"], pointer["shadow"], pointer["previous"]) == (version, None, [])
    stored = models / "versions" / version
    manifest = json.loads((stored / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == version
    assert {"model.skops", "metadata.json", "reference.parquet", "model_card.md"} <= set(manifest["files"])
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((stored / name).read_bytes()).hexdigest() == digest, name
    assert {name: (models / name).read_bytes() for name in flat} == flat  # the top-level files as they were
    listed = json.loads(project_cli(project, default_project, "models", "list", "--json"))
    assert [(entry["version"], entry["status"]) for entry in listed] == [(version, "current")]
    assert_scored_as_before(scored(project, default_project), before)

    project_cli(project, default_project, "train")
    second = json.loads((models / "current.json").read_text(encoding="utf-8"))["current"]
    assert second != version
    assert sorted(path.name for path in (models / "versions").iterdir()) == sorted([version, second])
    project_cli(project, default_project, "models", "rollback")
    assert json.loads((models / "current.json").read_text(encoding="utf-8"))["current"] == version
    assert_scored_as_before(scored(project, default_project), before)
