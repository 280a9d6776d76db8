"""Migration to 1.0.0: `audit.max_categories` moves to `data.max_categories` in configs/project.yaml.

The setting decides which text columns the data contract calls categorical, for `train` and the API as
much as for the audit, so it now sits with the other data settings. configs/project.yaml belongs to the
engagement and updates never rewrite it: this script moves the one line in place, keeping its value, its
comment and every other line of the file as they are.

Copier runs it after the files of an update that crosses 1.0.0, with the project as working directory.
It never fails the update: when the file is missing, has nothing to move or is laid out in a way this
script cannot edit safely, it says so and leaves the file alone (the project's config loader then names
the setting to move).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

CONFIG = Path("configs") / "project.yaml"
OLD, NEW = ("audit", "max_categories"), ("data", "max_categories")
TOP_LEVEL_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")


def section_bounds(lines: list[str], name: str) -> tuple[int, int] | None:
    """First and last+1 line index of a top-level block `name:` (its indented lines)."""
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{name}\s*:\s*(#.*)?$", line)), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and not TOP_LEVEL_KEY.match(lines[end]):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():  # blank lines belong to the gap, not the block
        end -= 1
    return start, end


def moved_text(text: str) -> str | None:
    """The file with the setting's line moved into `data:`; None when it cannot be done safely."""
    lines = text.splitlines(keepends=True)
    audit, data = section_bounds(lines, OLD[0]), section_bounds(lines, NEW[0])
    if audit is None or data is None:
        return None
    found = [i for i in range(*audit) if re.match(rf"^\s+{OLD[1]}\s*:", lines[i])]
    block = lines[data[0] + 1 : data[1]]
    children = [line for line in block if line.strip() and not line.lstrip().startswith("#")]
    if len(found) != 1 or not children:
        return None
    line = lines[found[0]]
    indent = re.match(r"^\s*", children[0]).group(0)
    moved = indent + line.lstrip()
    moved += "" if moved.endswith("\n") else "\n"
    insert_at = data[1]
    if found[0] < insert_at:
        insert_at -= 1
    del lines[found[0]]
    lines.insert(insert_at, moved)
    return "".join(lines)


def lookup(settings: dict, path: tuple[str, str]) -> object:
    section = settings.get(path[0])
    return section.get(path[1], None) if isinstance(section, dict) else None


def main() -> int:
    if not CONFIG.is_file():
        print(f"Migration 1.0.0: no {CONFIG}; nothing to move.")
        return 0
    text = CONFIG.read_text(encoding="utf-8")
    try:
        before = yaml.safe_load(text)
    except yaml.YAMLError:
        before = None
    if not isinstance(before, dict) or lookup(before, OLD) is None:
        print(f"Migration 1.0.0: {'.'.join(OLD)} is not in {CONFIG}; nothing to move.")
        return 0
    old_key, new_key = ".".join(OLD), ".".join(NEW)
    if lookup(before, NEW) is not None:
        print(
            f"Migration 1.0.0: {CONFIG} has both {old_key} and {new_key}; {new_key} is the one used now: "
            f"delete {old_key} by hand."
        )
        return 0
    after_text = moved_text(text)
    after = yaml.safe_load(after_text) if after_text else None
    expected = {key: dict(value) if isinstance(value, dict) else value for key, value in before.items()}
    if isinstance(expected.get(OLD[0]), dict) and isinstance(expected.get(NEW[0]), dict):
        expected[NEW[0]][NEW[1]] = expected[OLD[0]].pop(OLD[1])
    if after != expected:
        print(f"Migration 1.0.0: could not move {old_key} in {CONFIG} safely: move it to {new_key} by hand.")
        return 0
    temporary = CONFIG.with_name(f".{CONFIG.name}.migrating")
    temporary.write_text(after_text, encoding="utf-8")
    os.replace(temporary, CONFIG)
    print(f"Migration 1.0.0: moved {old_key} to {new_key} in {CONFIG} (value {lookup(after, NEW)!r}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
