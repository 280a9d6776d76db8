"""`make fleet`: one table of every engagement made from this template, and how far each is from it.

Reads a list of engagements, one a line: a local path (relative to the list's folder) or a git URL
(`https://...`, `ssh://...`, `git@host:...`, `file://...`), which is cloned into a temporary folder; `#`
starts a comment. For each one: the template release in use, the latest release, how many releases
behind, the last update (the date of the last commit that changed `.copier-answers.yml`) and the drifted
template-owned files (modified or deleted since that release). The report on one engagement is the
generated project's own `scripts/template_status.py`, imported from `template/scripts/`: one
implementation. An engagement that cannot be read is a row with its error; the table is still written.

Output: Markdown (default) or HTML (`--format html`), to stdout or `--output FILE`. Exit 0 when the table
is written, 2 when the list itself cannot be read.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATUS_SCRIPT = ROOT / "template" / "scripts" / "template_status.py"
URL_PREFIXES = ("https://", "http://", "ssh://", "git://", "file://", "git@")
COLUMNS = (
    "engagement",
    "template version",
    "latest",
    "behind",
    "last update",
    "drifted template-owned files",
)


def load_template_status():
    """template/scripts/template_status.py as a module (it is a script of the generated project)."""
    spec = importlib.util.spec_from_file_location("template_status", STATUS_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


template_status = load_template_status()


@dataclass(frozen=True)
class Row:
    """One engagement's line of the table: its status, or the error that stopped it."""

    engagement: str
    version: str = ""
    latest: str = ""
    behind: str = ""
    last_update: str = ""
    drifted: tuple[str, ...] = ()
    error: str = ""

    def cells(self) -> tuple[str, ...]:
        if self.error:
            return (self.engagement, f"error: {self.error}", "", "", "", "")
        drifted = ", ".join(self.drifted) or "none"
        return (self.engagement, self.version, self.latest, self.behind, self.last_update, drifted)


def read_fleet(path: Path) -> list[str]:
    """The engagements of a list file: one a line, blank lines and `#` comments skipped."""
    if not path.is_file():
        raise template_status.StatusError(
            f"fleet list {path} not found: one engagement path or git URL a line"
        )
    lines = (line.split(" #", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def checkout(entry: str, base: Path, scratch: Path) -> Path:
    """The engagement's folder: a clone for a URL, the path itself (relative to the list) otherwise."""
    if entry.startswith(URL_PREFIXES):
        dest = Path(tempfile.mkdtemp(prefix="engagement-", dir=scratch))
        template_status.run_git("clone", "--quiet", entry, str(dest))
        return dest
    path = (base / entry).expanduser()
    if not path.is_dir():
        raise template_status.StatusError(f"{entry}: no such folder")
    return path


def last_update(project: Path) -> str:
    """The date of the last commit that changed the answers file (a copy or an update): YYYY-MM-DD."""
    if not (project / ".git").exists():
        return "not a git repository"
    log = subprocess.run(
        ["git", "log", "-1", "--format=%cs", "--", template_status.ANSWERS_FILE],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    return log.stdout.strip() or "never committed"


def row(entry: str, base: Path, workspace) -> Row:
    print(f"fleet: {entry}", file=sys.stderr)  # a render takes seconds: show which engagement is being read
    try:
        project = checkout(entry, base, workspace.root)
        report = template_status.status(project, workspace)
    except template_status.StatusError as error:
        return Row(entry, error=str(error))
    behind = str(report.behind) if report.latest else "no releases"
    drifted = tuple(f"{name} (deleted)" if name in report.deleted else name for name in report.drifted)
    return Row(entry, report.current, report.latest or "", behind, last_update(project), drifted)


def markdown(rows: list[Row]) -> str:
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return (
        "\n".join([line(COLUMNS), line(tuple("---" for _ in COLUMNS)), *(line(r.cells()) for r in rows)])
        + "\n"
    )


def html_table(rows: list[Row]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in COLUMNS)
    body = []
    for item in rows:
        cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in item.cells())
        body.append(f'<tr class="{"error" if item.error else "ok"}">{cells}</tr>')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Engagement fleet</title>\n'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}tr.error td{color:#a00}</style></head>\n"
        f"<body>\n<h1>Engagement fleet</h1>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>\n</body>\n</html>\n"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "fleet", nargs="?", type=Path, default=Path("fleet.txt"), help="the list of engagements"
    )
    parser.add_argument("--format", choices=("markdown", "html"), default="markdown")
    parser.add_argument("--output", type=Path, help="write the table here (default: stdout)")
    parser.add_argument("--copier", help="command that runs copier (default: $COPIER, else copier on PATH)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        entries = read_fleet(args.fleet)
        with template_status.Workspace(template_status.copier_command(args.copier)) as workspace:
            rows = [row(entry, args.fleet.resolve().parent, workspace) for entry in entries]
    except template_status.StatusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    table = html_table(rows) if args.format == "html" else markdown(rows)
    if args.output:
        args.output.write_text(table, encoding="utf-8")
        print(f"{len(rows)} engagement(s): {args.output}")
    else:
        sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
