"""The migration scripts of hooks/migrations/ on configs a consultant may really have: they move what they
must, keep every other line, and leave alone (with a message) what they cannot edit safely.

`tests/test_update.py` runs them through a real `copier update` across their version; these cases cover
the layouts that a rendered project does not have.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from conftest import HOOKS


def load_migration(name: str):
    spec = importlib.util.spec_from_file_location(name, HOOKS / "migrations" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
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
