"""Migration to 2.0.0: the package's modules moved from one flat folder into stage packages.

`copier update` brings the new modules and removes every file that the old release rendered and 2.0.0 no
longer ships (`scoring.py`, `config.py`, `api/`, ...), whether the engagement had edited it or not. Run
after the files of an update that crosses 2.0.0, with the project as working directory, this script:

- puts back each removed module that carried the engagement's edits (compared, blob for blob, with the
  release the project was updated from), and names its new home, so the edits can be carried over by hand;
- names the engagement's own files left in a folder that moved (`api/` is now `serving/api/`), and removes
  folders that the update left with nothing but Python's `__pycache__`;
- names the engagement's own code (modules, tests, scripts, notebooks) that imports the package's modules
  by their 1.x names.

It never deletes a file the engagement wrote, never fails the update, and says when there was nothing to do.
Arguments: the template's checkout, the release the project was updated from, the package name.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LABEL = "Migration 2.0.0"
# Where the package's modules sit in the template repository (copier.yml `_subdirectory`; no Jinja inside).
TEMPLATE_PACKAGE = "template/src/{{package_name}}"
# Each 1.x module of the package and its module in 2.0.0 (dotted, under the package).
NEW_HOME = {
    "config": "core.config",
    "errors": "core.errors",
    "progress": "core.progress",
    "wording": "core.wording",
    "data": "data.tables",
    "contract": "data.contract",
    "audit": "audit.checks",
    "audit_report": "audit.report",
    "pipeline": "training.pipeline",
    "evaluate": "training.evaluate",
    "groups": "training.groups",
    "model_card": "training.model_card",
    "train": "training.train",
    "artifacts": "artifacts.files",
    "model_file": "artifacts.model_file",
    "signing": "artifacts.signing",
    "scoring": "serving.scoring",
    "explain": "serving.explain",
    "batch": "serving.batch",
    "serve": "serving.serve",
    "row_checks": "serving.row_checks",
    "api": "serving.api",
    "report": "reporting.weekly",
    "html_report": "reporting.html",
    "plots": "reporting.plots",
}
# The 1.x modules whose code 2.0.0 split over several modules: where the rest of it went.
ALSO_IN = {
    "config": ("core.settings",),
    "data": ("data.dates", "data.training_data"),
    "audit": ("audit.command", "audit.tables", "audit.columns", "audit.leakage", "audit.findings"),
    "audit_report": ("audit.figures", "audit.dictionary"),
    "evaluate": ("training.gate", "training.folds", "training.classes"),
    "train": ("training.write",),
    "scoring": ("serving.trained_model", "serving.encoder"),
    "report": ("reporting.sources", "reporting.weekly_render"),
}
# Never the engagement's code: hidden folders (.git, .venv, tool caches), environments and caches anywhere,
# and the project's folders of data and outputs.
SKIPPED_FOLDERS = {"venv", "node_modules", "__pycache__"}
SKIPPED_AT_THE_ROOT = {"data", "models", "reports", "logs"}


def git(*args: str, cwd: Path | str = ".") -> str | None:
    """git's output, or None when git fails (or is missing): the caller then knows less, never more."""
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return result.stdout if result.returncode == 0 else None


def blob(revision: str, cwd: Path | str = ".") -> str | None:
    """The id of a git object (`<commit>:<path>`), or None when there is no such object."""
    found = git("rev-parse", "--verify", "--quiet", revision, cwd=cwd)
    return found.strip() if found else None


@dataclass(frozen=True)
class Update:
    """What the migration works from: the template's checkout, the old release, the package's folder."""

    template: Path
    old_release: str
    package: str

    @property
    def folder(self) -> Path:
        return Path("src") / self.package

    def old_blob(self, path: Path) -> str | None:
        """The git object of `path` (a file of the package) as the old release shipped it."""
        inside = path.relative_to(self.folder).as_posix()
        return blob(f"{self.old_release}:{TEMPLATE_PACKAGE}/{inside}", cwd=self.template)

    def ships(self, folder: Path) -> bool:
        """Whether the new release has this folder of the package."""
        return (self.template / TEMPLATE_PACKAGE / folder.relative_to(self.folder)).is_dir()


def removed_by_update(update: Update) -> list[Path]:
    """Files of the package that the update deleted: in the last commit, gone from the working tree (Copier
    refuses to update a repository with uncommitted changes, so nothing else deleted them)."""
    folder = update.folder.as_posix()
    listed = git("diff", "--relative", "--name-only", "-z", "--diff-filter=D", "HEAD", "--", folder)
    return sorted(Path(name) for name in (listed or "").split("\0") if name)


def edited_by_engagement(update: Update, path: Path) -> bool:
    """True unless the committed file is byte for byte the old release's (when in doubt, it was edited)."""
    committed, old = blob(f"HEAD:./{path.as_posix()}"), update.old_blob(path)
    return committed is None or old is None or committed != old


def restore(path: Path) -> None:
    """The committed file back in the working tree (the index already holds it)."""
    content = subprocess.run(
        ["git", "cat-file", "blob", f"HEAD:./{path.as_posix()}"], capture_output=True, check=True
    ).stdout
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def new_home(update: Update, path: Path) -> Path:
    """Where the template's module of a 1.x path lives in 2.0.0 (the path itself when it did not move)."""
    parts = path.relative_to(update.folder).with_suffix("").parts
    moved = NEW_HOME.get(parts[0])
    if moved is None:
        return path
    return update.folder.joinpath(*moved.split("."), *parts[1:]).with_suffix(path.suffix)


def own_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def dropped_folders(update: Update, removed: list[Path]) -> list[Path]:
    """Folders of the package that held removed files, that 2.0.0 does not ship, and that are still there;
    deepest first."""
    folders = {parent for path in removed for parent in path.parents if update.folder in parent.parents}
    kept = [folder for folder in folders if folder.is_dir() and not update.ships(folder)]
    return sorted(kept, key=lambda folder: len(folder.parts), reverse=True)


def tidy(folders: list[Path]) -> None:
    """Remove the folders left with nothing but compiled-bytecode caches (deepest first)."""
    for folder in folders:
        if folder.is_dir() and not own_files(folder):
            shutil.rmtree(folder)


# --- code of the engagement's that imports 1.x names ------------------------------------------------------


def code_files(root: Path) -> list[Path]:
    """The project's Python files and notebooks, outside environments, caches and data folders (never
    walked into: a virtual environment holds thousands of files)."""
    found = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        skipped = SKIPPED_FOLDERS | (SKIPPED_AT_THE_ROOT if here == root else set())
        subfolders[:] = [name for name in subfolders if not name.startswith(".") and name not in skipped]
        found += [(here / name).relative_to(root) for name in files if name.endswith((".py", ".ipynb"))]
    return sorted(found)


def source_of(path: Path) -> str:
    """A module's text; a notebook's code cells, without IPython's `%magic` and `!shell` lines."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return text
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return ""
    lines = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            lines += [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def imported_names(update: Update, path: Path, tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of everything the file imports, relative imports resolved inside the package."""
    here = path.relative_to(update.folder).with_suffix("").parts if update.folder in path.parents else None
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                if here is None:
                    continue
                anchor = [update.package, *here[: len(here) - node.level]]
                module = ".".join([*anchor, module] if module else anchor)
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if alias.name != "*"]
    return found


def is_module_now(update: Update, dotted: str) -> bool:
    """Whether a dotted name under the package is a module or package of the updated project."""
    inside = update.folder.joinpath(*dotted.split(".")[1:])
    return inside.with_suffix(".py").is_file() or (inside / "__init__.py").is_file()


def old_name(update: Update, dotted: str) -> str | None:
    """The 1.x module a name goes through, unless the name goes through a module of 2.0.0 below a package
    that took the old module's name (`<package>.data.tables.load_table` is fine, `<package>.data.load_table`
    and `<package>.config.load_config` are not)."""
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] != update.package or parts[1] not in NEW_HOME:
        return None
    prefixes = (".".join(parts[:end]) for end in range(3, len(parts) + 1))
    if any(is_module_now(update, prefix) for prefix in prefixes):
        return None
    return f"{update.package}.{parts[1]}"


def old_name_imports(update: Update, skip: set[Path]) -> list[str]:
    """One line per import of a 1.x module name in the engagement's code: file:line, old and new name."""
    lines = []
    for path in code_files(Path(".")):
        if path in skip:
            continue
        try:
            tree = ast.parse(source_of(path))
        except (SyntaxError, ValueError):
            continue
        seen = set()
        for line, dotted in imported_names(update, path, tree):
            old = old_name(update, dotted)
            if old and (line, old) not in seen:
                seen.add((line, old))
                new = homes(update, old)
                lines.append(f"{path.as_posix()}:{line} imports {old}, now {new}: change the import.")
    return lines


# --- the migration ----------------------------------------------------------------------------------------


def homes(update: Update, old: str) -> str:
    """Where a 1.x module's code is now, in words: its main module, and the others when it was split."""
    module = old.split(".")[1]
    main, *others = [f"{update.package}.{home}" for home in (NEW_HOME[module], *ALSO_IN.get(module, ()))]
    return f"{main} (split: also {', '.join(others)})" if others else main


def say(message: str) -> None:
    print(f"{LABEL}: {message}")


def migrate(update: Update) -> None:
    removed = removed_by_update(update)
    kept = [path for path in removed if edited_by_engagement(update, path)]
    for path in kept:
        restore(path)
        say(
            f"kept {path.as_posix()}: it carries the engagement's edits, and the template's module is now "
            f"{new_home(update, path).as_posix()}; carry the edits over, then delete {path.name}."
        )
    folders = dropped_folders(update, removed)
    left = sorted({file for folder in folders for file in own_files(folder)} - set(kept))
    for path in left:
        say(
            f"left {path.as_posix()} where it is: the engagement's own file in a folder that moved to "
            f"{new_home(update, path.parent).as_posix()}/; move it there and check its imports."
        )
    tidy(folders)
    for line in old_name_imports(update, skip=set(kept) | set(left)):
        say(line)
    if not (kept or left) and removed:
        say(f"the 1.x modules of src/{update.package} are gone; none carried the engagement's edits.")
    elif not removed:
        say(f"no 1.x module of src/{update.package} was left to remove; nothing to do.")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        say("expected the template's folder, the release updated from and the package name; nothing done.")
        return 0
    if (git("rev-parse", "--is-inside-work-tree") or "").strip() != "true":
        say("the project is not a git repository; nothing done.")
        return 0
    template, old_release, package = argv
    migrate(Update(Path(template), old_release, package))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
