"""The release procedure: `make release VERSION=X.Y.Z` dates the changelog's Unreleased section and tags
the commit `vX.Y.Z`, the tag Copier updates engagements to; anything doubtful is refused untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEMPLATE_ROOT, TEST_IDENTITY, git

SCRIPT = TEMPLATE_ROOT / "scripts" / "release.py"
CHANGELOG = """# Changelog

## Unreleased

### Added
- A drift check.

## 1.0.0 - 2025-01-06

### Added
- Everything.
"""
IDENTITY_ENV = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A template repository whose last release is v1.0.0, with one change waiting in Unreleased."""
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, *TEST_IDENTITY, "commit", "-q", "--no-gpg-sign", "-m", "1.0.0")
    git(tmp_path, *TEST_IDENTITY, "tag", "-a", "v1.0.0", "-m", "1.0.0")
    return tmp_path


def release(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **IDENTITY_ENV}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )


def test_release_dates_the_changelog_and_tags_the_commit(repo: Path) -> None:
    result = release(repo, "1.1.0")
    assert result.returncode == 0, result.stderr
    assert "git push origin HEAD v1.1.0" in result.stdout
    assert git(repo, "tag", "--list", "v*").split() == ["v1.0.0", "v1.1.0"]
    assert git(repo, "rev-parse", "v1.1.0^{commit}") == git(repo, "rev-parse", "HEAD")
    text = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    head, released = text.split("## 1.1.0 - ")
    assert head.endswith("## Unreleased\n\n")
    assert released.index("- A drift check.") < released.index("## 1.0.0")
    assert git(repo, "status", "--porcelain") == ""
    # The next release needs new entries first.
    again = release(repo, "1.2.0")
    assert again.returncode == 2 and "lists no change to release" in again.stderr


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1.1", "is not X.Y.Z"),
        ("v1.1.0", "is not X.Y.Z"),
        ("1.0.0", "v1.0.0 is already released"),
        ("0.9.0", "is not above the latest release 1.0.0"),
    ],
)
def test_doubtful_versions_are_refused_untouched(repo: Path, version: str, message: str) -> None:
    result = release(repo, version)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert (repo / "CHANGELOG.md").read_text(encoding="utf-8") == CHANGELOG
    assert git(repo, "tag", "--list").split() == ["v1.0.0"]


def test_uncommitted_changes_are_refused(repo: Path) -> None:
    (repo / "notes.txt").write_text("work in progress\n")
    result = release(repo, "1.1.0")
    assert result.returncode == 2 and "uncommitted changes" in result.stderr
    assert (repo / "CHANGELOG.md").read_text(encoding="utf-8") == CHANGELOG
