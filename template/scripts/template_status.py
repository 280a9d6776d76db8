"""Is this engagement up to date with its template, and where has it diverged from it? `make template-status`.

Reads `.copier-answers.yml`: `_commit` is the template release in use, `_src_path` the template. Reports

- the release in use, the latest release of the template (its `vX.Y.Z` tags, from `git ls-remote`) and how
  many releases the engagement is behind;
- the template-owned files that differ from a fresh render of the engagement's own release with its own
  answers: `modified` and `deleted`. These are the engagement's edits that the next `copier update` has to
  merge (and may stop on, as a conflict), while `_commit` alone says nothing of them;
- `added`: files the engagement made itself where the template owns the rest. They are the engagement's
  own, never drift; they are listed apart, for information only.

Who owns what comes from `copier.yml` of that release (`_skip_if_exists`: the engagement's once created;
`_exclude`: never rendered), read from the template at `_commit`, or from the list below when a release
has no readable `copier.yml`. Jinja conditions in a pattern count as true (the update-only excludes of
`data/`, `models/`, `reports/`, `logs/`), and those four folders are never compared in any case.

Exit codes: 0 up to date, 1 behind the latest release, 2 an error (not a Copier project, template or
copier unreachable), printed as one `error:` line. `--json` prints the same report for machines.

Needs git and copier (`--copier "uvx --from copier==X.Y.Z copier"`, else $COPIER, else `copier` on PATH);
Python's standard library only, so that the template repository's `make fleet` can import it too.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

ANSWERS_FILE = ".copier-answers.yml"
# Out of the template's reach after the first copy: never compared, whatever copier.yml says.
NEVER_COMPARED = ("/data", "/models", "/reports", "/logs")
# copier.yml's rules, for a release whose copier.yml cannot be read (a test keeps them equal to the file's).
FALLBACK_SKIP_IF_EXISTS = ("configs/project.yaml", "configs/schema.json", "src/*/features.py", "docs/**")
FALLBACK_EXCLUDE = ("~*", "*.py[co]", "__pycache__", ".DS_Store", "/data", "/models", "/reports", "/logs")
RELEASE_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
# `git describe` output, which Copier records for a commit past a tag: v1.2.0-3-gabc1234.
DESCRIBED = re.compile(r"^(v\d+\.\d+\.\d+)-\d+-g[0-9a-f]+$")
SHORTHANDS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}


class StatusError(Exception):
    """What went wrong, in one line for the user."""


@dataclass(frozen=True)
class Ownership:
    """copier.yml's ownership patterns (gitignore syntax) and where they were read."""

    skip_if_exists: tuple[str, ...]
    exclude: tuple[str, ...]
    source: str

    def template_owns(self, path: str) -> bool:
        """A file the template writes and updates (neither engagement-owned nor out of reach)."""
        patterns = (*self.skip_if_exists, *self.exclude, *NEVER_COMPARED)
        return path != ANSWERS_FILE and not matches_any(path, patterns)

    def compared(self, path: str) -> bool:
        """A file of the project that may be drift or the engagement's own addition."""
        return path != ANSWERS_FILE and not matches_any(path, (*self.exclude, *NEVER_COMPARED))


@dataclass
class Status:
    """The report on one engagement."""

    project: str
    template: str
    current: str
    latest: str | None
    behind: int
    newer: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    ownership: str = ""

    @property
    def drifted(self) -> list[str]:
        return sorted(self.modified + self.deleted)


# --- gitignore-style patterns, as Copier applies them ------------------------------------------------


# The pieces of a gitignore pattern and their regex: `**/` any folders, `**` anything, `*` and `?` within a
# name, `[...]` / `[!...]` a class; any other character stands for itself.
GLOB_TOKEN = re.compile(r"\*\*/|\*\*|\*|\?|\[!?[^]/]+\]|.", re.DOTALL)
GLOB_REGEX = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}


@functools.cache
def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex for one gitignore pattern: anchored at the root when it has a slash before its end,
    matching a file or anything below a matching folder."""
    body = pattern.rstrip("/")
    parts = []
    for token in GLOB_TOKEN.findall(body.lstrip("/")):
        if token in GLOB_REGEX:
            parts.append(GLOB_REGEX[token])
        elif len(token) > 1:
            parts.append("[^" + token[2:] if token.startswith("[!") else token)
        else:
            parts.append(re.escape(token))
    prefix = "" if "/" in body else "(?:.*/)?"
    return re.compile(f"^{prefix}{''.join(parts)}(?:/.*)?$")


def matches_any(path: str, patterns: tuple[str, ...]) -> bool:
    return any(pattern_regex(pattern).match(path) for pattern in patterns)


# A Jinja statement tag, spelled in two parts so that this file holds no tag of its own (a rendered project
# must contain no unrendered template text).
JINJA_TAG = re.compile(re.escape("{" + "%") + ".*?" + re.escape("%" + "}"))


def without_jinja(pattern: str) -> str:
    """A pattern with its Jinja statement tags removed: a conditional exclude counts as always on."""
    return JINJA_TAG.sub("", pattern).strip()


def yaml_block_list(text: str, key: str) -> list[str] | None:
    """The items of a top-level block list `key:` of a YAML file (None when there is no such list).
    Enough for copier.yml's plain or quoted patterns, without a YAML library."""
    lines = text.splitlines()
    if f"{key}:" not in lines:
        return None
    items = []
    for line in lines[lines.index(f"{key}:") + 1 :]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line.startswith(" ") and not line.startswith("-"):
            break
        if not stripped.startswith("- "):
            return None
        items.append(unquote(stripped[2:].strip()))
    return items


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    return value


def ownership_from(copier_yml: str | None) -> Ownership:
    """The ownership rules of a release's copier.yml, or the fallback list when it has none."""
    skip = yaml_block_list(copier_yml, "_skip_if_exists") if copier_yml else None
    exclude = yaml_block_list(copier_yml, "_exclude") if copier_yml else None
    if skip is None or exclude is None:
        return Ownership(FALLBACK_SKIP_IF_EXISTS, FALLBACK_EXCLUDE, "fallback list")
    patterns = [without_jinja(pattern) for pattern in exclude]
    return Ownership(tuple(skip), tuple(filter(None, patterns)), "copier.yml")


# --- the engagement and its template -----------------------------------------------------------------


def read_answers(project: Path) -> dict[str, str]:
    """The top-level scalars of `.copier-answers.yml` (folded continuation lines joined)."""
    path = project / ANSWERS_FILE
    if not path.is_file():
        raise StatusError(f"{project} is not a Copier project: {ANSWERS_FILE} is missing")
    answers: dict[str, str] = {}
    key = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith(" ") and key:
            answers[key] = f"{answers[key]} {line.strip()}"
        elif ":" in line:
            key, _, value = line.partition(":")
            answers[key] = value.strip()
    answers = {key: unquote(value) for key, value in answers.items()}
    missing = [key for key in ("_commit", "_src_path") if not answers.get(key)]
    if missing:
        raise StatusError(f"{path} has no {' or '.join(missing)}: not copied by Copier from a git template")
    return answers


def git_source(src_path: str, project: Path) -> str:
    """A location git understands: Copier's `gh:` / `gl:` shorthands expanded, and a relative local path
    taken from the engagement's folder, where `copier update` runs."""
    for short, url in SHORTHANDS.items():
        if src_path.startswith(short):
            return url + src_path.removeprefix(short)
    if "://" in src_path or src_path.startswith("git@") or Path(src_path).is_absolute():
        return src_path
    return str((project / src_path).resolve())


def run_git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StatusError(f"git {args[0]} failed: {(result.stderr.strip() or 'no output').splitlines()[-1]}")
    return result.stdout


def version(tag: str) -> tuple[int, int, int]:
    major, minor, patch = RELEASE_TAG.match(tag).groups()
    return int(major), int(minor), int(patch)


def release_tags(source: str) -> list[str]:
    """The template's `vX.Y.Z` tags, oldest first, from `git ls-remote` (nothing is cloned)."""
    try:
        listed = run_git("ls-remote", "--tags", source)
    except StatusError as error:
        raise StatusError(f"template {source} is unreachable: {error}") from None
    names = {line.split("refs/tags/", 1)[1].removesuffix("^{}") for line in listed.splitlines() if line}
    return sorted((name for name in names if RELEASE_TAG.match(name)), key=version)


def base_release(commit: str, clone: Path) -> str | None:
    """The release `_commit` is (a tag) or follows: the nearest tag in the template's history, else the
    tag named in `git describe` output (v1.2.0-3-gabc1234), else None."""
    if RELEASE_TAG.match(commit):
        return commit
    command = ["git", "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", commit]
    nearest = subprocess.run(command, cwd=clone, capture_output=True, text=True, check=False).stdout.strip()
    described = DESCRIBED.match(commit)
    return nearest if RELEASE_TAG.match(nearest) else described.group(1) if described else None


class Workspace:
    """A temporary folder with one clone per template, shared by every engagement reported on."""

    def __init__(self, copier: list[str]) -> None:
        self.copier = copier
        self.root = Path(tempfile.mkdtemp(prefix="template-status-"))
        self.clones: dict[str, Path] = {}

    def clone(self, source: str) -> Path:
        if source not in self.clones:
            dest = self.root / f"template-{len(self.clones)}"
            try:
                run_git("clone", "--quiet", "--no-checkout", source, str(dest))
            except StatusError as error:
                raise StatusError(f"template {source} could not be cloned: {error}") from None
            self.clones[source] = dest
        return self.clones[source]

    def render(self, clone: Path, commit: str, answers: Path) -> Path:
        """A fresh copy of release `commit` with the engagement's own answers (no tasks: no git init)."""
        dest = Path(tempfile.mkdtemp(prefix="render-", dir=self.root))
        command = [*self.copier, "copy", "--trust", "--defaults", "--skip-tasks", "--quiet", "--overwrite"]
        command += ["--vcs-ref", commit, "--data-file", str(answers), str(clone), str(dest)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise StatusError(
                f"copier not found: {shlex.join(self.copier)} (give --copier or COPIER)"
            ) from None
        if result.returncode != 0:
            last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
            raise StatusError(
                f"copier could not render {commit} of the template (is it in the template's history?): {last}"
            )
        return dest

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- comparison --------------------------------------------------------------------------------------


def files_under(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def engagement_files(project: Path) -> set[str]:
    """The engagement's files: what git tracks or would track (ignored ones, like .venv, left out)."""
    if (project / ".git").exists():
        listed = run_git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=project)
        return {name for name in listed.split("\0") if name and (project / name).is_file()}
    return {name for name in files_under(project) if not name.startswith(".venv/")}


def compare(project: Path, render: Path, ownership: Ownership) -> tuple[list[str], list[str], list[str]]:
    """(modified, deleted, added): template-owned files that differ or are gone, and the engagement's own."""
    rendered = files_under(render)
    owned = sorted(name for name in rendered if ownership.template_owns(name))
    deleted = [name for name in owned if not (project / name).is_file()]
    modified = [
        n for n in owned if n not in deleted and (project / n).read_bytes() != (render / n).read_bytes()
    ]
    own = engagement_files(project) - rendered
    added = sorted(name for name in own if ownership.compared(name) and ownership.template_owns(name))
    return modified, deleted, added


def status(project: Path, workspace: Workspace, template: str | None = None) -> Status:
    """The full report on one engagement checkout; `template` overrides a `_src_path` that has moved."""
    project = project.resolve()
    answers = read_answers(project)
    source = template or git_source(answers["_src_path"], project)
    if Path(source).resolve() == project:
        raise StatusError(
            f"_src_path {answers['_src_path']!r} is this project, not its template: give --template"
        )
    commit = answers["_commit"]
    tags = release_tags(source)
    clone = workspace.clone(source)
    base = base_release(commit, clone)
    newer = [tag for tag in tags if base is None or version(tag) > version(base)]
    copier_yml = subprocess.run(
        ["git", "show", f"{commit}:copier.yml"], cwd=clone, capture_output=True, text=True
    )
    ownership = ownership_from(copier_yml.stdout if copier_yml.returncode == 0 else None)
    print(f"rendering {commit} of {source} with this engagement's answers...", file=sys.stderr)
    render = workspace.render(clone, commit, project / ANSWERS_FILE)
    drift = compare(project, render, ownership)
    latest = tags[-1] if tags else None
    return Status(str(project), source, commit, latest, len(newer), newer, *drift, ownership=ownership.source)


# --- output ------------------------------------------------------------------------------------------


def text_report(report: Status) -> str:
    if report.latest is None:
        latest = "no release tag (vX.Y.Z) in the template: nothing to be behind"
    elif report.behind:
        latest = f"{report.latest} ({report.behind} release(s) behind: {', '.join(report.newer)})"
    else:
        latest = f"{report.latest} (up to date)"
    lines = [f"engagement  {report.project}", f"template    {report.template}"]
    lines += [f"in use      {report.current}", f"latest      {latest}", ""]
    if report.drifted:
        lines.append(f"Template-owned files that differ from a fresh render of {report.current}")
        lines.append("(your edits: the next update must merge them with the template's changes):")
        lines += [f"  modified  {name}" for name in report.modified]
        lines += [f"  deleted   {name}" for name in report.deleted]
    else:
        lines.append(f"Template-owned files: all as a fresh render of {report.current} has them.")
    if report.added:
        lines.append("Files of the engagement's own (not the template's, not drift):")
        lines += [f"  added     {name}" for name in report.added]
    lines.append(f"(ownership rules from {report.ownership})")
    if report.behind:
        lines.append("\nTo update: commit your work, then `copier update --trust --defaults` (see README).")
    return "\n".join(lines)


def copier_command(given: str | None) -> list[str]:
    """The command that runs copier: --copier, else $COPIER, else `copier` on PATH."""
    command = given or os.environ.get("COPIER")
    if command:
        return shlex.split(command)
    if shutil.which("copier"):
        return ["copier"]
    raise StatusError("copier not found: put it on PATH, or give --copier 'uvx --from copier==X.Y.Z copier'")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="the engagement (default: here)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--template", help="the template's path or URL, when _src_path is relative or moved")
    parser.add_argument("--copier", help="command that runs copier (default: $COPIER, else copier on PATH)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with Workspace(copier_command(args.copier)) as workspace:
            report = status(args.project, workspace, args.template)
    except StatusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    as_json = json.dumps({**asdict(report), "drifted": report.drifted}, indent=2)
    print(as_json if args.json else text_report(report))
    return 1 if report.behind else 0


if __name__ == "__main__":
    sys.exit(main())
