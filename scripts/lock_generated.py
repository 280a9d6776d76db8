"""Write `template/uv.lock.jinja`: the lock file every generated project starts with.

A lock file names the project it belongs to, so it cannot be copied verbatim: this script renders the
template with a placeholder slug, runs `uv lock` in the render, and turns every occurrence of that slug back
into `{{ project_slug }}`. Nothing else in the lock depends on the answers (`requires-python` stays
`>=3.11` whatever `python_version` says; the lock is universal over platforms and Python versions).

Run it (`make lock-generated`) after changing the dependencies in `template/pyproject.toml.jinja`;
tests/test_ship.py fails while the lock and the pyproject disagree.

    uv run python scripts/lock_generated.py            # keep the locked versions that still fit
    uv run python scripts/lock_generated.py --upgrade  # newest versions of everything
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import copier

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
LOCK_TEMPLATE = TEMPLATE_ROOT / "template" / "uv.lock.jinja"
# A slug that cannot occur anywhere else in a lock file (no package on an index is called like this).
PLACEHOLDER_SLUG = "zz-lock-placeholder-slug"
SLUG_EXPRESSION = "{{ project_slug }}"
JINJA_MARKERS = re.compile(r"\{\{|\{%|\{#")


def render_placeholder_project(dest: Path) -> Path:
    """The template rendered with default answers and the placeholder slug; no tasks (no git, no output)."""
    copier.run_copy(
        src_path=str(TEMPLATE_ROOT),
        dst_path=str(dest),
        data={"project_slug": PLACEHOLDER_SLUG},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        skip_tasks=True,
        quiet=True,
    )
    return dest


def lock_to_template(lock_text: str) -> str:
    """The lock with the slug as a Jinja expression. Should the lock ever hold Jinja markers itself, every
    literal part goes into a raw block, so Copier writes it back unchanged."""
    parts = lock_text.split(PLACEHOLDER_SLUG)
    if len(parts) < 2:
        raise SystemExit(f"error: the lock does not name the project {PLACEHOLDER_SLUG!r}; nothing written")
    if JINJA_MARKERS.search(lock_text):
        parts = ["{% raw %}" + part + "{% endraw %}" for part in parts]
    return SLUG_EXPRESSION.join(parts)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lock-generated-") as folder:
        project = render_placeholder_project(Path(folder) / "project")
        # The render holds the current lock: uv keeps its versions where they still fit, unless --upgrade.
        command = ["uv", "lock", *sys.argv[1:]]
        print(f"resolving the generated project's dependencies: {' '.join(command)} ...", file=sys.stderr)
        result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"error: uv lock failed in the rendered project:\n{result.stderr}", file=sys.stderr)
            return 2
        text = lock_to_template((project / "uv.lock").read_text(encoding="utf-8"))
    LOCK_TEMPLATE.write_text(text, encoding="utf-8")
    print(f"wrote {LOCK_TEMPLATE.relative_to(TEMPLATE_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
