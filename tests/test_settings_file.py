"""configs/project.yaml and the settings the generated code declares tell the same story.

The code declares each setting once, with its default and its check (core/config.py of the generated
package); the template writes the file that a consultant edits. Whatever the answers, the file shows every
declared setting, at the declared default unless an answer chose its value, and that value is the answer's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import QUESTION_KEYS, TEMPLATE_ROOT, read_answers, read_config, render


class _CopierLoader(yaml.SafeLoader):
    """Reads copier.yml's documents, leaving out the ones it `!include`s."""


_CopierLoader.add_constructor("!include", lambda loader, node: {})
COPIER = {}  # copier.yml: its settings, then the questions, as YAML documents
for document in yaml.load_all((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"), _CopierLoader):
    COPIER.update(document)
SAMPLES = COPIER["sample_datasets"]["default"]


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _sensitive(answers: dict) -> list[str]:
    """The embedded sample names its group column; a client's own data starts with none."""
    sample = SAMPLES[answers["problem_type"]]
    return [sample["sensitive"]] if answers["data_path"] == sample["path"] else []


# The settings whose value the answers choose, and that value.
FROM_ANSWERS = {
    "problem_type": lambda answers: answers["problem_type"],
    "project.name": lambda answers: answers["project_name"],
    "project.client": lambda answers: answers["client_name"],
    "data.path": lambda answers: answers["data_path"],
    "data.target": lambda answers: answers["target_column"],
    "data.id_columns": lambda answers: _names(answers["id_columns"]),
    "data.time_column": lambda answers: answers["time_column"].strip() or None,
    "data.sensitive_columns": _sensitive,
    "model.family": lambda answers: answers["model_family"],
    "drift.schedule": lambda answers: answers["drift_schedule"],
    "api.auth": lambda answers: answers["api_auth"],
}

# What the generated package declares, read by the project's own code from its own file.
DECLARED = """
import json, sys
from {package}.core.config import Config, load_config
from {package}.core.settings import as_written, declared_settings

load_config(sys.argv[1])  # the file as written reads without an error: no unknown or bad setting
print(json.dumps([
    {{"key": item.key, "required": item.required, "answer": item.setting.answer,
      "default": None if item.required else as_written(item.default)}}
    for item in declared_settings(Config)
]))
"""

ANSWER_SETS = {
    "defaults": {},
    "multiclass": {
        "project_name": "Globex Tickets",
        "client_name": "Globex",
        "problem_type": "multiclass",
        "model_family": "random_forest",
        "api_auth": "none",
        "drift_schedule": "30 2 * * *",
    },
    "regression, own data": {
        "problem_type": "regression",
        "model_family": "linear",
        "data_path": "data/raw/houses.parquet",
        "target_column": "price",
        "id_columns": "house_id, parcel",
        "time_column": "sold_on",
    },
}


def declared_settings(project: Path) -> list[dict]:
    package = read_answers(project)["package_name"]
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    result = subprocess.run(
        [sys.executable, "-c", DECLARED.format(package=package), str(project / "configs" / "project.yaml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _written(settings: dict, key: str) -> object:
    node: object = settings
    for part in key.split("."):
        assert isinstance(node, dict) and part in node, f"configs/project.yaml does not write {key}"
        node = node[part]
    return node


@pytest.mark.parametrize("answers", ANSWER_SETS.values(), ids=ANSWER_SETS.keys())
def test_the_settings_file_writes_every_declared_setting_at_its_default(tmp_path: Path, answers: dict):
    project = render(tmp_path / "project", skip_tasks=True, **answers)
    settings, given = read_config(project), read_answers(project)
    declared = declared_settings(project)
    answered = {item["key"] for item in declared if item["answer"]}
    assert answered == set(FROM_ANSWERS), "a setting chosen by an answer needs its expected value here"
    for item in declared:
        written = _written(settings, item["key"])
        if item["answer"]:
            assert item["answer"] in QUESTION_KEYS, f"{item['key']} names no question: {item['answer']}"
            assert written == FROM_ANSWERS[item["key"]](given), item["key"]
        else:
            assert not item["required"], f"{item['key']} has no default and no answer writes it"
            assert written == item["default"], f"{item['key']}: the file writes {written!r}"
