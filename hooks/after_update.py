"""After `copier update`: say what to check before the update is committed.

An update merges template improvements into a live engagement; the user reviews and commits it, so this
script never changes the repository.

During an update Copier also renders the old and the new template version into scratch folders and runs
the tasks there; those folders are not git repositories (an update needs one), so the script stays quiet
in them and speaks once, in the project.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

SKIPPED_FOLDERS = {".git", ".venv", "node_modules", "__pycache__"}
ANSWERS = ".copier-answers.yml"
Release = tuple[int, int, int]  # major, minor, patch
# The first release whose code cannot load the model files that earlier releases trained (2.0.0 moved the
# package's modules, and a model file names the modules of its transformers).
MODELS_RETRAINED_AT: Release = (2, 0, 0)


def rejected_hunks(root: Path) -> list[Path]:
    """`.rej` files: template changes that did not apply cleanly and wait for a manual merge."""
    return sorted(
        path.relative_to(root)
        for path in root.rglob("*.rej")
        if not SKIPPED_FOLDERS.intersection(path.relative_to(root).parts)
    )


def lock_has_conflicts(root: Path) -> bool:
    """uv.lock with conflict markers: a lock file is regenerated, never merged by hand."""
    lock = root / "uv.lock"
    if not lock.is_file():
        return False
    lines = lock.read_text(encoding="utf-8", errors="replace").splitlines()
    return any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines)


def in_git_work_tree() -> bool:
    """True in the project; False in Copier's scratch renders (and wherever git is missing)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True, check=False
        )
    except OSError:
        return False
    return result.stdout.strip() == "true"


def release(answers: str | None) -> Release | None:
    """The template release of an answers file's `_commit` (`v1.2.0`, or `v1.2.0-3-g1a2b3c` for a commit
    past it); None when it names no release (a bare commit hash)."""
    found = re.search(r"^_commit:\s*['\"]?v?(\d+)\.(\d+)\.(\d+)", answers or "", re.MULTILINE)
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def models_need_retraining(root: Path) -> bool:
    """Whether the update crosses the release whose code no longer loads older model files: from the
    release in the last commit (Copier updates clean repositories only) to the answers file just written."""
    show = ["git", "show", f"HEAD:./{ANSWERS}"]
    committed = subprocess.run(show, cwd=root, capture_output=True, text=True, check=False)
    current = root / ANSWERS
    before = release(committed.stdout if committed.returncode == 0 else None)
    after = release(current.read_text(encoding="utf-8") if current.is_file() else None)
    return before is not None and after is not None and before < MODELS_RETRAINED_AT <= after


def main() -> int:
    root = Path.cwd()
    if not in_git_work_tree():
        return 0
    print()
    print("The project was updated from the template. Before you commit:")
    print("  git diff        # review every change the update made")
    conflicts = rejected_hunks(root)
    if conflicts:
        print("  resolve these .rej files (merge each change by hand, then delete the .rej):")
        for path in conflicts:
            print(f"    {path}")
    else:
        print("  resolve conflict markers (<<<<<<< before/after >>>>>>>) if the diff shows any")
    if lock_has_conflicts(root):
        print("  uv.lock did not merge: take yours back and lock again from the merged pyproject.toml:")
        print("    git checkout HEAD -- uv.lock && make lock")
    print("  make install    # dependencies may have changed")
    print("  make test       # the project's tests on the updated code")
    if models_need_retraining(root):
        print("  make train      # models trained before template release 2.0 no longer load: retrain them")
    print("  read the template CHANGELOG's Upgrading notes: what a release asks of configs/project.yaml")
    print("Your settings, data contract, features.py and docs/ were not rewritten (a migration says below")
    print("what it moved or kept); data/, models/, reports/ and logs/ were not touched.")
    print("Nothing was committed: commit the update yourself once it is reviewed.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
