"""The shape of the generated package, as the engineer who inherits it finds it.

One package per stage in data-flow order, each with a map of its modules; no module so long that it hides
several jobs; no import cycle (imports inside functions count: they only postpone a cycle); and every file the
project writes named in one place (`artifacts/paths.py`), never as a literal next to its reader or writer
outside the `artifacts` package that owns the folders.

The package has no Jinja in it, so it is read straight from the template.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import TEMPLATE_ROOT

PACKAGE = TEMPLATE_ROOT / "template" / "src" / "{{package_name}}"
STAGES = (
    "core",
    "data",
    "audit",
    "training",
    "artifacts",
    "serving",
    "drift",
    "monitoring",
    "registry",
    "reporting",
)
# What stays at the top: the command line, the engagement's own features module, `python -m` and the map.
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "features.py"}
MAX_LINES = 400


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module by dotted name relative to the package ('' is the package itself), and whether it is a
    package's __init__."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def imports_of(name: str, path: Path, is_package: bool, known: set[str]) -> set[str]:
    """The package's own modules that `name` imports, wherever in the file the import statement sits."""
    here = name.split(".") if name else []
    base = here if is_package else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        anchor = base[: len(base) - (node.level - 1)]
        target = ".".join([*anchor, node.module] if node.module else anchor)
        candidates = {target} | {f"{target}.{alias.name}".lstrip(".") for alias in node.names}
        found |= {candidate for candidate in candidates if candidate in known and candidate != name}
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_top_level_holds_only_the_stages_and_the_entry_points() -> None:
    files = {path.name for path in PACKAGE.iterdir() if path.is_file() and path.suffix == ".py"}
    folders = {path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert files == TOP_LEVEL
    assert folders == set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_maps_its_modules_in_its_init(stage: str) -> None:
    """A reader opening a stage's __init__ finds each of its modules named with what it does."""
    folder = PACKAGE / stage
    doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))) or ""
    members = sorted(
        path.stem if path.is_file() else path.name
        for path in folder.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()
    )
    assert members, f"{stage}/ has no modules"
    unnamed = [member for member in members if not re.search(rf"(?<![\w.]){member}\b", doc)]
    assert not unnamed, f"{stage}/__init__.py does not map {unnamed}"


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        name: lines
        for name, (path, _) in modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_there_is_no_import_cycle() -> None:
    found = modules()
    known = set(found)
    graph = {name: imports_of(name, path, is_package, known) for name, (path, is_package) in found.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above must be able to fail: a three-module loop and a self-contained pair are found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(cycles(graph)) == [["a", "b", "c"], ["d", "e"]]


def file_names() -> set[str]:
    """The names artifacts/paths.py gives the project's files (its upper-case string constants)."""
    tree = ast.parse((PACKAGE / "artifacts" / "paths.py").read_text(encoding="utf-8"))
    return {
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and all(isinstance(target, ast.Name) and target.id.isupper() for target in node.targets)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def test_file_names_live_only_in_artifacts_paths() -> None:
    names = file_names()
    assert {"metadata.json", "model.skops", "reference.parquet", "experiments.jsonl", "drift.json"} <= names
    literals = []
    for name, (path, _) in modules().items():
        if name.startswith("artifacts."):
            continue  # the package that owns the folders (model_file.py reads skops's own schema.json)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                literals.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}")
    assert not literals, literals
