"""Bring the latest template release into a branch of its own: `make template-update`, or the scheduled CI
job that turns that branch into one pull (merge) request.

Run in the engagement's git checkout, on a clean tree. It reads the template's address and release from
`.copier-answers.yml`, lists the template's release tags (`vX.Y.Z`), and when a newer release exists:

1. creates (or resets) the branch `template-update/vX.Y.Z` from the current HEAD;
2. `copier update --trust --defaults --skip-answered --conflict inline --vcs-ref vX.Y.Z`: a change that
   does not merge is left as conflict markers for a person to resolve, never resolved here;
3. `uv lock` (a lock with conflict markers is regenerated from HEAD's, never merged), then one commit;
4. the fast tests (`make test PYTEST_ARGS="-m 'not slow'"`);
5. the pull-request description: both versions, the template's CHANGELOG entries between them, the files
   left with conflict markers, the test result.

It never pushes and never opens a pull request: the CI job does, with its own token. Exit codes: 0 a
branch was made, or the project is up to date (nothing is created); 2 an error (one `error:` line).
Only the standard library, git and copier (`COPIER`, else `copier` on PATH, else `uv tool run`) are needed.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BRANCH_PREFIX = "template-update/"
# The trailer of the commit this script makes: how the CI job tells its own branch from one a person has
# pushed fixes to (which it must not overwrite).
TRAILER = "Template-Update"
COPIER_SPEC = "copier>=9.6,<10"  # the template's `_min_copier_version`
RELEASE_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
RELEASE_OF_COMMIT = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-\d+-g[0-9a-f]+)?$")  # v1.2.0 or v1.2.0-3-gabc1234
CHANGELOG_SECTION = re.compile(r"^## \[?v?(\d+)\.(\d+)\.(\d+)\]?(?:\s|$)")
MARKERS = ("<<<<<<< ", ">>>>>>> ")
TEST_COMMAND = ["make", "test", "PYTEST_ARGS=-m 'not slow'"]
TEST_COMMAND_SHOWN = "make test PYTEST_ARGS=\"-m 'not slow'\""  # as a person types it
TEST_TAIL_LINES = 40

Version = tuple[int, int, int]


class UpdateError(Exception):
    """Something the user must fix; printed as one `error:` line, exit 2."""


@dataclass(frozen=True)
class Answers:
    src_path: str  # where the template is: a path, a git URL or a gh:/gl: shortcut
    commit: str  # the release the project is on, as `git describe --tags` said it


@dataclass
class Outcome:
    """What the update did: the pull request's description and the CI outputs are written from it."""

    old: str
    new: str
    changelog: str
    conflicts: list[str]
    lock: str
    tests: str
    tests_passed: bool | None


# --- reading the project and the template --------------------------------------------------------------


def run(command: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A command with its output captured; with `check`, a failure is an UpdateError that quotes it."""
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as missing:
        raise UpdateError(f"{command[0]} is not installed (needed to run {shlex.join(command)})") from missing
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise UpdateError(f"{shlex.join(command)} failed: {detail[-1] if detail else result.returncode}")
    return result


def git(root: Path, *args: str, check: bool = True) -> str:
    return run(["git", *args], cwd=root, check=check).stdout.strip()


def read_answers(path: Path) -> Answers:
    """`_src_path` and `_commit` of the answers file (flat `key: value` lines: no YAML library needed)."""
    if not path.is_file():
        raise UpdateError(f"{path.name} not found in {path.parent}: run this in a project made by copier")
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^(_src_path|_commit):\s*(.*?)\s*$", line)
        if found:
            values[found[1]] = found[2].strip("'\"")
    missing = [key for key in ("_src_path", "_commit") if not values.get(key)]
    if missing:
        raise UpdateError(f"{path.name} has no {' or '.join(missing)}: copier update needs both")
    return Answers(src_path=values["_src_path"], commit=values["_commit"])


def git_url(src_path: str) -> str:
    """The git address of Copier's `_src_path` (`gh:` and `gl:` shortcuts, `git+` prefixes, local paths)."""
    for short, host in (("gh:", "https://github.com/"), ("gl:", "https://gitlab.com/")):
        if src_path.startswith(short):
            return host + src_path.removeprefix(short)
    return os.path.expanduser(src_path.removeprefix("git+"))


def list_tags(src: str, root: Path) -> dict[str, str]:
    """Every tag of the template with the commit it points at (annotated tags peeled)."""
    listed = run(["git", "ls-remote", "--tags", src], cwd=root, check=False)
    if listed.returncode != 0:
        reason = (listed.stderr.strip().splitlines() or ["no answer"])[-1]
        raise UpdateError(f"cannot list the release tags of the template {src}: {reason}")
    tags: dict[str, str] = {}
    for line in sorted(listed.stdout.splitlines(), key=lambda line: line.endswith("^{}")):
        sha, _, ref = line.partition("\t")
        tags[ref.removeprefix("refs/tags/").removesuffix("^{}")] = sha  # the peeled line, sorted last, wins
    return tags


def releases_of(tags: dict[str, str], src: str) -> dict[Version, str]:
    """The release tags (`vX.Y.Z` only: pre-releases and other tags are not releases) by version."""
    found = {version_of(name): name for name in tags if RELEASE_TAG.match(name)}
    if not found:
        raise UpdateError(f"the template {src} has no release tag (vX.Y.Z): nothing to update to")
    return found


def version_of(commit: str) -> Version | None:
    """The release an answers file's `_commit` names: `v1.2.0`, or `v1.2.0-3-gabc1234` past it."""
    found = RELEASE_OF_COMMIT.match(commit)
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def release_in_use(commit: str, tags: dict[str, str], releases: dict[Version, str]) -> Version | None:
    """The release of `_commit`. Copier writes what `git describe --tags` says, which is another tag's
    name when one shares the release's commit, or a commit hash: both are traced to the release tag of
    that commit. None when `_commit` is no release."""
    if (version := version_of(commit)) is not None:
        return version
    sha = tags.get(commit) or next(
        (sha for sha in tags.values() if len(commit) >= 7 and sha.startswith(commit)), commit
    )
    return next((version for version, name in releases.items() if tags[name] == sha), None)


def changelog_at(src: str, tag: str, root: Path) -> str | None:
    """CHANGELOG.md of the template at the release tag (a shallow clone of that tag alone)."""
    with tempfile.TemporaryDirectory(prefix="template-update-") as scratch:
        clone = ["git", "clone", "--quiet", "--depth", "1", "--branch", tag, "--no-checkout", src, scratch]
        run(clone, cwd=root)
        shown = run(["git", "show", "HEAD:CHANGELOG.md"], cwd=Path(scratch), check=False)
    return shown.stdout if shown.returncode == 0 else None


def changelog_between(text: str, old: Version | None, new: Version) -> str:
    """The `## X.Y.Z - date` sections with old < X.Y.Z <= new, newest first as the file has them (only
    the new release's section when the old release is unknown)."""
    kept, keep = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            found = CHANGELOG_SECTION.match(line)
            version = tuple(int(part) for part in found.groups()) if found else None
            keep = version is not None and (version == new if old is None else old < version <= new)
        if keep:  # one heading level down: the sections sit under the description's own headings
            kept.append("#" + line if line.startswith("##") else line)
    return "\n".join(kept).strip()


# --- the update on its branch ----------------------------------------------------------------------------


def uv_command() -> list[str] | None:
    """`UV` (as the Makefile passes it, e.g. `python3 -m uv`), else `uv` on PATH; None when there is none."""
    if os.environ.get("UV"):
        return shlex.split(os.environ["UV"])
    return [found] if (found := shutil.which("uv")) else None


def copier_command() -> list[str]:
    """`COPIER` (a command line), else `copier` on PATH, else copier run by uv's tool runner."""
    if os.environ.get("COPIER"):
        return shlex.split(os.environ["COPIER"])
    if shutil.which("copier"):
        return ["copier"]
    if (uv := uv_command()) is not None:
        return [*uv, "tool", "run", "--from", COPIER_SPEC, "copier"]
    raise UpdateError("copier not found: install it (`uv tool install copier`) or set COPIER to its command")


def start_branch(root: Path, branch: str) -> list[str]:
    """Create or reset `branch` at HEAD and switch to it; returns the `git switch` arguments that go back."""
    if git(root, "status", "--porcelain"):
        raise UpdateError("the working tree has uncommitted changes: commit or stash them first")
    name = git(root, "symbolic-ref", "--short", "-q", "HEAD", check=False)
    back = [name] if name else ["--detach", git(root, "rev-parse", "HEAD")]
    git(root, "switch", "-q", "-C", branch, "HEAD")
    return back


def abandon(root: Path, back: list[str], branch: str) -> None:
    """After a failed update: drop what it wrote (the tree was clean before), go back, delete the branch."""
    git(root, "reset", "-q", "--hard", check=False)
    git(root, "clean", "-q", "-fd", check=False)
    git(root, "switch", "-q", *back, check=False)
    git(root, "branch", "-q", "-D", branch, check=False)


def copier_update(root: Path, tag: str, answers_file: str) -> None:
    """`copier update` to the tag, non-interactive; conflicts stay in the files as markers."""
    options = ["--trust", "--defaults", "--skip-answered", "--conflict", "inline", "--vcs-ref", tag]
    result = run(
        [*copier_command(), "update", *options, "--answers-file", answers_file], cwd=root, check=False
    )
    print((result.stdout + result.stderr).rstrip())
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise UpdateError(f"copier update to {tag} failed: {lines[-1] if lines else result.returncode}")


def has_markers(path: Path) -> bool:
    """Whether a file has lines that start like git's conflict markers."""
    return any(line.startswith(MARKERS) for line in path.read_text("utf-8", errors="replace").splitlines())


def changed_files(root: Path) -> list[str]:
    """Files the update changed or added (paths relative to the project; -z: any file name)."""
    listed = git(root, "status", "--porcelain", "-z", "--untracked-files=all")
    entries = [entry[3:] for entry in listed.split("\0") if len(entry) > 3]
    return sorted(name for name in entries if (root / name).is_file())


def conflicted(root: Path, changed: list[str]) -> list[str]:
    """Changed files with conflict markers, and `.rej` files: what a person has to merge."""
    return [name for name in changed if name.endswith(".rej") or has_markers(root / name)]


def relock(root: Path, enabled: bool) -> str:
    """Re-resolve uv.lock for the updated pyproject.toml; returns what happened, for the description."""
    lock = root / "uv.lock"
    if not enabled:
        return "not re-resolved (--no-lock)"
    uv = uv_command()
    if uv is None:
        print("uv not found: uv.lock was not re-resolved (run `make lock` on the branch)")
        return "not re-resolved: uv is not installed where the update ran (run `make lock` on the branch)"
    if lock.is_file() and has_markers(lock):
        git(root, "checkout", "HEAD", "--", "uv.lock")  # regenerated from the last good lock, never merged
    print("re-resolving uv.lock (uv lock)")
    result = run([*uv, "lock"], cwd=root, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no output"]
        return f"**`uv lock` failed**: {lines[-1]} (fix pyproject.toml on the branch, then `make lock`)"
    return "re-resolved with `uv lock`"


def commit(root: Path, old: str, new: str) -> None:
    """Everything the update wrote, conflict markers included, in one commit with the script's trailer."""
    identity = []
    if not git(root, "config", "user.email", check=False):
        identity = ["-c", "user.name=template-update", "-c", "user.email=template-update@localhost"]
    git(root, "add", "-A")
    message = [f"Template update: {old} -> {new}", f"{TRAILER}: {new}"]
    git(root, *identity, "commit", "-q", "--no-verify", "--allow-empty", "-m", message[0], "-m", message[1])


def fast_tests(root: Path, enabled: bool) -> tuple[bool | None, str]:
    """The quick tier of the project's tests on the updated code: (passed, last lines of the output)."""
    if not enabled:
        return None, "not run (--no-tests)"
    print(f"running the fast tests: {TEST_COMMAND_SHOWN}")
    try:
        result = run(TEST_COMMAND, cwd=root, check=False)
    except UpdateError as missing:  # no make: the branch is still worth a review, said so
        return None, f"not run: {missing}"
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-TEST_TAIL_LINES:])
    return result.returncode == 0, tail


# --- what the pull request says ------------------------------------------------------------------------


def description(outcome: Outcome) -> str:
    """The pull request's Markdown: versions, changelog, conflicts (loudly), lock and test results."""
    lines = [f"Template update from **{outcome.old}** to **{outcome.new}** (`copier update`).", ""]
    if outcome.conflicts:
        lines += [
            "> [!WARNING]",
            "> **Conflicts: a person must resolve these before merging.** The update left conflict markers",
            "> (`<<<<<<<`, `=======`, `>>>>>>>`) where a template change met an edit of this project:",
            ">",
            *(f"> - `{name}`" for name in outcome.conflicts),
            ">",
            "> Nothing was resolved automatically. Check out this branch, edit each file, commit.",
            "",
        ]
    else:
        lines += ["No conflicts: every template change merged with this project's edits.", ""]
    if outcome.tests_passed is None:
        tests = outcome.tests
    else:
        verdict = "passed" if outcome.tests_passed else "**FAILED**"
        tests = (
            f"{verdict}\n\n<details><summary>output</summary>\n\n```text\n{outcome.tests}\n```\n</details>"
        )
    lines += [f"- uv.lock: {outcome.lock}", f"- Fast tests (`{TEST_COMMAND_SHOWN}`): {tests}", ""]
    lines += ["## What changed in the template", "", outcome.changelog, ""]
    lines += [
        "Review the diff like any change: template-owned files carry the release's changes, merged with",
        "this project's edits; engagement-owned files (configs/project.yaml, features.py, docs/) are",
        "never rewritten by an update.",
    ]
    return "\n".join(lines) + "\n"


def changelog_text(src: str, tag: str, old: Version | None, new: Version, root: Path) -> str:
    """The description's changelog part, or a line that says why there is none."""
    text = changelog_at(src, tag, root)
    if text is None:
        return f"(the template has no CHANGELOG.md at {tag})"
    entries = changelog_between(text, old, new)
    if old is None:
        entries = "(the previous release is not a tagged one: only the new release's entry)\n\n" + entries
    return entries or f"(CHANGELOG.md at {tag} has no entry between the two releases)"


def outputs(values: dict[str, str], github_output: Path | None) -> None:
    """`key=value` lines on stdout, and appended to GitHub's step output file when one is given."""
    text = "".join(f"{key}={value}\n" for key, value in values.items())
    print(text, end="")
    if github_output is not None:
        with github_output.open("a", encoding="utf-8") as handle:
            handle.write(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("."), help="the engagement's checkout (.)")
    parser.add_argument("--answers-file", default=".copier-answers.yml", help="Copier's answers file")
    parser.add_argument("--body-file", type=Path, help="the PR description (default: in the .git folder)")
    parser.add_argument("--github-output", type=Path, help="append branch=, version=, body=, conflicts=")
    parser.add_argument("--no-lock", action="store_true", help="do not re-resolve uv.lock")
    parser.add_argument("--no-tests", action="store_true", help="do not run the fast tests")
    return parser.parse_args(argv)


def update(args: argparse.Namespace) -> int:
    root = Path(git(args.project.resolve(), "rev-parse", "--show-toplevel"))
    answers = read_answers(root / args.answers_file)
    src = git_url(answers.src_path)
    tags = list_tags(src, root)
    releases = releases_of(tags, src)
    newest = max(releases)
    current = release_in_use(answers.commit, tags, releases)
    if current is not None and current >= newest:
        print(f"up to date: {answers.commit} is the template's latest release ({releases[newest]})")
        outputs({"branch": "", "version": releases[newest]}, args.github_output)
        return 0
    new, branch = releases[newest], BRANCH_PREFIX + releases[newest]
    print(f"template {answers.commit} -> {new}: updating on branch {branch}")
    changelog = changelog_text(src, new, current, newest, root)  # before anything is made: it may fail
    back = start_branch(root, branch)
    try:
        copier_update(root, new, args.answers_file)
        lock = relock(root, not args.no_lock)  # before the conflicts are listed: a lock is never merged
        conflicts = conflicted(root, changed_files(root))
        commit(root, answers.commit, new)
    except BaseException:
        abandon(root, back, branch)
        raise
    passed, tests = fast_tests(root, not args.no_tests)
    outcome = Outcome(answers.commit, new, changelog, conflicts, lock, tests, passed)
    body = args.body_file or Path(git(root, "rev-parse", "--absolute-git-dir")) / "template-update.md"
    body.parent.mkdir(parents=True, exist_ok=True)
    body.write_text(description(outcome), encoding="utf-8")
    for name in conflicts:
        print(f"CONFLICT (resolve by hand): {name}")
    print(f"branch {branch} committed and checked out (`git switch -` goes back); pull-request text: {body}")
    values = {"branch": branch, "version": new, "body": str(body), "conflicts": ",".join(conflicts)}
    outputs(values, args.github_output)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return update(parse_args(argv))
    except UpdateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
