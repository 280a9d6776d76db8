"""The migration scripts of hooks/migrations/ on configs a consultant may really have: they move what they
must, keep every other line, and leave alone (with a message) what they cannot edit safely.

`tests/test_update.py` runs them through a real `copier update` across their version; these cases cover
the layouts that a rendered project does not have.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

from conftest import HOOKS, LAST_1X_RELEASE, TEMPLATE_ROOT, TEST_IDENTITY, git, run_hook


def load_migration(name: str):
    spec = importlib.util.spec_from_file_location(name, HOOKS / "migrations" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


MAX_CATEGORIES = load_migration("v1_0_0_max_categories")

AUDIT_FIRST = """\
problem_type: binary
audit:
  leakage_threshold: 0.97
  max_categories: 25  # the CRM's plan codes stay categories
data:
  path: data/raw/export.csv
  target: churned
  # columns to keep out, with the reason
  drop_columns: []

model:
  family: linear
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "configs").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def migrate(project: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    config = project / "configs" / "project.yaml"
    config.write_text(text, encoding="utf-8")
    assert MAX_CATEGORIES.main() == 0
    return config.read_text(encoding="utf-8"), capsys.readouterr().out


def test_moves_the_line_with_its_comment_whatever_the_section_order(project, capsys) -> None:
    after, output = migrate(project, AUDIT_FIRST, capsys)
    assert "moved audit.max_categories to data.max_categories" in output
    settings = yaml.safe_load(after)
    assert settings["data"]["max_categories"] == 25 and "max_categories" not in settings["audit"]
    assert "  max_categories: 25  # the CRM's plan codes stay categories\n" in after
    assert sorted(after.splitlines()) == sorted(AUDIT_FIRST.splitlines())
    # Moved to the end of data:, before the blank line that separates the sections.
    assert "  drop_columns: []\n  max_categories: 25" in after and "\n\nmodel:" in after
    again, output = migrate(project, after, capsys)
    assert again == after and "nothing to move" in output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (AUDIT_FIRST.replace("  target: churned\n", "  target: churned\n  max_categories: 40\n"), "has both"),
        ("problem_type: binary\naudit: {max_categories: 30}\ndata:\n  path: x.csv\n", "by hand"),
        ("problem_type: binary\naudit:\n  max_categories: 30\n", "by hand"),  # no data: section
    ],
)
def test_leaves_what_it_cannot_edit_safely_and_says_so(project, capsys, text: str, message: str) -> None:
    after, output = migrate(project, text, capsys)
    assert after == text
    assert message in output and "data.max_categories" in output


def test_a_project_without_the_config_is_left_alone(project, capsys) -> None:
    assert MAX_CATEGORIES.main() == 0
    assert "nothing to move" in capsys.readouterr().out
    assert not (project / "configs" / "project.yaml").exists()


# --- 2.0.0: the package's modules moved into stage packages ------------------------------------------------

STAGE_PACKAGES = load_migration("v2_0_0_stage_packages")
TEMPLATE_PACKAGE = "template/src/{{package_name}}"
# A template's two releases, each module with its text: 1.x flat, 2.0.0 by stage.
FLAT = {
    "__init__.py": '"""Acme churn."""\n',
    "features.py": "def add_features(frame):\n    return frame\n",
    "config.py": "def load_config():\n    return {}\n",
    "scoring.py": "def score(rows):\n    return rows\n",
    "api/__init__.py": "",
    "api/app.py": "app = None\n",
    "api/routes/__init__.py": "",
}
BY_STAGE = {
    "__init__.py": FLAT["__init__.py"],
    "features.py": FLAT["features.py"],
    "core/__init__.py": "",
    "core/config.py": FLAT["config.py"],
    "serving/__init__.py": "",
    "serving/scoring.py": FLAT["scoring.py"],
    "serving/api/__init__.py": "",
    "serving/api/app.py": FLAT["api/app.py"],
    "serving/api/routes/__init__.py": "",
}


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, *TEST_IDENTITY, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A template repository: v1.2.0 with the flat package, its checkout at 2.0.0 with the stage packages."""
    repo = tmp_path / "template"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo / TEMPLATE_PACKAGE, FLAT)
    commit(repo, "1.2.0")
    git(repo, "tag", "v1.2.0")
    git(repo, "rm", "-rq", ".")
    write_files(repo / TEMPLATE_PACKAGE, BY_STAGE)
    commit(repo, "2.0.0")
    return repo


@pytest.fixture
def updated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An engagement rendered from 1.2.0, with edits of its own and committed, then updated to 2.0.0 the
    way Copier does it: every module of 1.2.0 that 2.0.0 lacks removed, edited or not."""
    project = tmp_path / "project"
    package = project / "src" / "acme"
    package.mkdir(parents=True)
    git(project, "init", "-q")
    write_files(package, FLAT)
    write_files(package, {"scoring.py": FLAT["scoring.py"] + "# Acme: rounded for the dashboard\n"})
    write_files(package, {"api/client_route.py": "from .app import app\n"})
    own_code = "from acme.config import load_config\nfrom acme.serving.scoring import score\n"
    own_module = {"src/acme/client_rules.py": "from . import config\n"}
    write_files(project, {"tests/test_own.py": own_code, **own_module})
    commit(project, "engagement")
    # Not the engagement's code: an environment and the data folder (never walked into).
    write_files(project, {".venv/lib/acme_tools.py": own_code, "data/raw/readme.py": own_code})
    write_files(package, BY_STAGE)
    for name in ("config.py", "scoring.py", "api/__init__.py", "api/app.py", "api/routes/__init__.py"):
        (package / name).unlink()
    (package / "api/routes/__pycache__").mkdir()
    (package / "api/routes/__pycache__/__init__.cpython-312.pyc").write_bytes(b"compiled by an earlier run")
    monkeypatch.chdir(project)
    return project


def files_of(root: Path) -> dict[Path, bytes]:
    files = (path for path in root.rglob("*") if path.is_file() and ".git" not in path.parts)
    return {path: path.read_bytes() for path in files}


def migrate_stage_packages(template: Path, old_release: str, capsys) -> list[str]:
    assert STAGE_PACKAGES.main([str(template), old_release, "acme"]) == 0
    return capsys.readouterr().out.splitlines()


def test_puts_back_the_edited_module_and_names_what_the_engagement_must_move(template, updated, capsys):
    output = migrate_stage_packages(template, "v1.2.0", capsys)
    package = updated / "src" / "acme"
    # The edited module is back as the engagement committed it; the untouched ones stay removed.
    assert (package / "scoring.py").read_text() == FLAT["scoring.py"] + "# Acme: rounded for the dashboard\n"
    assert not (package / "config.py").exists() and not (package / "api" / "app.py").exists()
    assert git(updated, "status", "--porcelain", "--", "src/acme/scoring.py") == ""
    # The engagement's own file stays in the folder that moved; a folder left with a bytecode cache only went.
    assert (package / "api" / "client_route.py").read_text() == "from .app import app\n"
    assert not (package / "api" / "routes").exists()
    assert output == [
        "Migration 2.0.0: kept src/acme/scoring.py: it carries the engagement's edits, and the template's "
        "module is now src/acme/serving/scoring.py; carry the edits over, then delete scoring.py.",
        "Migration 2.0.0: left src/acme/api/client_route.py where it is: the engagement's own file in a "
        "folder that moved to src/acme/serving/api/; move it there and check its imports.",
        "Migration 2.0.0: src/acme/client_rules.py:1 imports acme.config, now acme.core.config (split: also "
        "acme.core.settings): change the import.",
        "Migration 2.0.0: tests/test_own.py:1 imports acme.config, now acme.core.config (split: also "
        "acme.core.settings): change the import.",
    ]
    before = files_of(updated)
    assert migrate_stage_packages(template, "v1.2.0", capsys) == output[1:]  # kept once, not again
    assert files_of(updated) == before


def test_keeps_every_removed_module_when_the_old_release_cannot_be_read(template, updated, capsys):
    output = migrate_stage_packages(template, "v0.0.0-unknown", capsys)
    package = updated / "src" / "acme"
    assert all((package / name).read_text() == FLAT[name] for name in ("config.py", "api/app.py"))
    kept = [line for line in output if line.startswith("Migration 2.0.0: kept ")]
    assert len(kept) == 5  # every module that the update removed


def test_a_project_on_the_stage_layout_or_outside_git_is_left_alone(template, tmp_path, monkeypatch, capsys):
    project = tmp_path / "fresh"
    write_files(project / "src" / "acme", BY_STAGE)
    monkeypatch.chdir(project)
    assert migrate_stage_packages(template, "v1.2.0", capsys) == [
        "Migration 2.0.0: the project is not a git repository; nothing done."
    ]
    git(project, "init", "-q")
    commit(project, "fresh 2.0.0 copy")
    assert migrate_stage_packages(template, "v1.2.0", capsys) == [
        "Migration 2.0.0: no 1.x module of src/acme was left to remove; nothing to do."
    ]


@pytest.mark.parametrize(
    ("imported", "old"),
    [
        ("acme.config.load_config", "acme.config"),
        ("acme.config", "acme.config"),
        ("acme.api.app.app", "acme.api"),
        ("acme.data.load_table", "acme.data"),  # 1.x module, 2.0.0 package: the name is not in it
        ("acme.data", "acme.data"),
        ("acme.data.tables.load_table", None),  # through a 2.0.0 module of the package that took the name
        ("acme.serving.scoring.score", None),
        ("acme.features.add_features", None),
        ("pandas.DataFrame", None),
    ],
)
def test_names_only_imports_of_1_x_module_names(tmp_path, imported: str, old: str | None) -> None:
    write_files(tmp_path / "src" / "acme", {**BY_STAGE, "data/__init__.py": "", "data/tables.py": ""})
    update = STAGE_PACKAGES.Update(tmp_path / "template", "v1.2.0", "acme")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        assert STAGE_PACKAGES.old_name(update, imported) == old


def test_every_1_x_module_has_its_2_0_0_home_in_the_template() -> None:
    """The migration's table against both releases: each module of the last 1.x release that moved, and
    where the template on disk has it now."""
    listed = git(TEMPLATE_ROOT, "ls-tree", "--name-only", f"{LAST_1X_RELEASE}:{TEMPLATE_PACKAGE}/").split()
    stayed = {"__init__", "__main__", "cli", "features", "drift"}
    assert set(STAGE_PACKAGES.NEW_HOME) == {name.removesuffix(".py") for name in listed} - stayed
    package = TEMPLATE_ROOT / TEMPLATE_PACKAGE
    assert set(STAGE_PACKAGES.ALSO_IN) <= set(STAGE_PACKAGES.NEW_HOME)
    split_homes = [home for homes in STAGE_PACKAGES.ALSO_IN.values() for home in homes]
    for home in [*STAGE_PACKAGES.NEW_HOME.values(), *split_homes]:
        path = package.joinpath(*home.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), home


# --- the after-update summary across 2.0.0 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "retrain"),
    [
        ("v1.2.0", "v2.0.0", True),
        ("v1.0.0", "v2.1.0", True),
        ("'v1.2.0-3-g1a2b3c4'", "v2.0.0", True),  # a commit past 1.2.0
        ("v2.0.0", "v2.1.0", False),
        ("v1.1.0", "v1.2.0", False),
        ("1a2b3c4d", "v2.0.0", False),  # a bare commit: no release to compare
    ],
)
def test_the_summary_says_to_retrain_when_the_update_crosses_2_0_0(tmp_path, before, after, retrain) -> None:
    (tmp_path / ".copier-answers.yml").write_text(f"_commit: {before}\n_src_path: gh:acme/template\n")
    git(tmp_path, "init", "-q")
    commit(tmp_path, "engagement")
    (tmp_path / ".copier-answers.yml").write_text(f"_commit: {after}\n_src_path: gh:acme/template\n")
    result = run_hook("after_update.py", tmp_path)
    assert result.returncode == 0, result.stderr
    says = "make train      # models trained before template release 2.0 no longer load" in result.stdout
    assert says is retrain


# --- 2.2.0: the versioned model store ---------------------------------------------------------------------

MODEL_STORE = load_migration("v2_2_0_model_store")
FLAT_MODEL = {
    "models/model.skops": b"a fitted pipeline",
    "models/metadata.json": b'{"model_version": "20250102T030405-abcdef12", "trained_at": "2025-01-02"}',
    "models/reference.parquet": b"reference rows",
    "reports/model_card.md": b"# Model card\n\nModel version 20250102T030405-abcdef12\n",
    "reports/figures/feature_importance.png": b"a figure",
}


def files_under(root: Path) -> dict[str, bytes]:
    files = (path for path in root.rglob("*") if path.is_file())
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in files}


def store_flat_model(project: Path, capsys) -> str:
    for name, content in FLAT_MODEL.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(content)
    assert MODEL_STORE.main() == 0
    return capsys.readouterr().out


def test_the_flat_model_becomes_the_current_version_and_a_second_run_does_nothing(project, capsys) -> None:
    output = store_flat_model(project, capsys)
    version = "20250102T030405-abcdef12"
    assert output == (
        f"Migration 2.2.0: stored the trained model as version {version} (models/versions/{version}/ with "
        "its model card), current.\n"
    )
    stored = files_under(project / "models" / "versions" / version)
    manifest = json.loads(stored.pop("manifest.json"))
    assert stored == {
        "model.skops": FLAT_MODEL["models/model.skops"],
        "metadata.json": FLAT_MODEL["models/metadata.json"],
        "reference.parquet": FLAT_MODEL["models/reference.parquet"],
        "model_card.md": FLAT_MODEL["reports/model_card.md"],
        "figures/feature_importance.png": FLAT_MODEL["reports/figures/feature_importance.png"],
    }
    assert manifest["files"] == {name: hashlib.sha256(data).hexdigest() for name, data in stored.items()}
    pointer = json.loads((project / "models" / "current.json").read_text())
    assert (pointer["current"], pointer["shadow"], pointer["previous"]) == (version, None, [])
    assert [event["action"] for event in pointer["history"]] == ["adopt"]
    assert all((project / name).read_bytes() == content for name, content in FLAT_MODEL.items())
    assert not [path for path in (project / "models").rglob(".*")]  # no temporary file left

    before = files_under(project)
    assert MODEL_STORE.main() == 0
    assert "already a versioned store" in capsys.readouterr().out
    assert files_under(project) == before


def test_a_card_of_another_model_stays_in_reports(project, capsys) -> None:
    (project / "reports").mkdir()
    (project / "reports" / "model_card.md").write_text("# Model card\n\nModel 20240101T000000-00000000\n")
    for name, content in FLAT_MODEL.items():
        if not name.startswith("reports/"):
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_bytes(content)
    assert MODEL_STORE.main() == 0
    assert "with its model card" not in capsys.readouterr().out
    stored = project / "models" / "versions" / "20250102T030405-abcdef12"
    assert sorted(path.name for path in stored.iterdir()) == [
        "manifest.json",
        "metadata.json",
        "model.skops",
        "reference.parquet",
    ]


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({}, "no trained model in models/; nothing to do"),
        ({"models/metadata.json": b"{}"}, "no trained model in models/; nothing to do"),
        ({**FLAT_MODEL, "models/current.json": b"{}"}, "already a versioned store"),
        ({"models/model.skops": b"m", "models/metadata.json": b"not json"}, "names no model_version"),
        ({"models/model.skops": b"m", "models/metadata.json": b'{"model_version": "../x"}'}, "not a version"),
    ],
)
def test_a_project_without_a_flat_model_is_left_alone(project, capsys, files: dict, says: str) -> None:
    for name, content in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(content)
    before = files_under(project)
    assert MODEL_STORE.main() == 0
    output = capsys.readouterr().out
    assert output.startswith("Migration 2.2.0: ") and says in output and output.count("\n") == 1
    assert files_under(project) == before
