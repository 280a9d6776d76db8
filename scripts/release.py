"""Release the template: `python scripts/release.py 1.2.0` (or `make release VERSION=1.2.0`).

Copier updates engagements from git tags `vX.Y.Z`, so a release is a tag on a commit whose CHANGELOG has
the section of that version. This script turns the "Unreleased" section into "X.Y.Z - <date>" with a new
empty "Unreleased" above it, commits that, and tags the commit `vX.Y.Z`. It pushes nothing: check the
commit, then `git push origin HEAD vX.Y.Z`.

It refuses (one line, exit code 2, nothing changed) a version that is not X.Y.Z, not above the latest
release, or already tagged; a working tree with uncommitted changes; and an empty "Unreleased" section.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

CHANGELOG = "CHANGELOG.md"
UNRELEASED = "## Unreleased\n"
VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class ReleaseError(Exception):
    """A reason not to release, said in one line."""


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def parse(version: str) -> tuple[int, int, int]:
    match = VERSION.match(version)
    if not match:
        raise ReleaseError(f"version {version!r} is not X.Y.Z (semantic versioning), e.g. 1.2.0")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def released_versions() -> list[tuple[int, int, int]]:
    """The versions of the existing `vX.Y.Z` tags."""
    tags = git("tag", "--list", "v*").split()
    return sorted(parse(tag[1:]) for tag in tags if VERSION.match(tag[1:]))


def changelog_with_release(text: str, version: str, day: str) -> str:
    """The changelog whose Unreleased entries now sit under `## version - day`."""
    if text.count(UNRELEASED) != 1:
        raise ReleaseError(f"{CHANGELOG} needs exactly one '{UNRELEASED.strip()}' heading")
    start = text.index(UNRELEASED) + len(UNRELEASED)
    following = text.find("\n## ", start)
    entries = text[start : following if following != -1 else len(text)]
    if not re.search(r"^\s*[-*] ", entries, flags=re.MULTILINE):
        raise ReleaseError(f"the '{UNRELEASED.strip()}' section of {CHANGELOG} lists no change to release")
    return text[:start] + f"\n## {version} - {day}\n" + text[start:]


def release(version: str, root: Path) -> str:
    wanted = parse(version)
    tag = f"v{version}"
    if git("tag", "--list", tag):
        raise ReleaseError(f"{tag} is already released")
    earlier = released_versions()
    if earlier and wanted <= earlier[-1]:
        raise ReleaseError(f"{version} is not above the latest release {'.'.join(map(str, earlier[-1]))}")
    if git("status", "--porcelain"):
        raise ReleaseError("the working tree has uncommitted changes: commit or stash them first")
    changelog = root / CHANGELOG
    day = datetime.now(UTC).date().isoformat()
    changelog.write_text(changelog_with_release(changelog.read_text(encoding="utf-8"), version, day))
    git("add", CHANGELOG)
    git("commit", "-q", "-m", f"Release {version}")
    git("tag", "-a", tag, "-m", f"Release {version}")
    return tag


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/release.py X.Y.Z", file=sys.stderr)
        return 2
    try:
        tag = release(argv[0], Path(git("rev-parse", "--show-toplevel")))
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Tagged {tag}. Check it (git show {tag}), then publish it: git push origin HEAD {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
