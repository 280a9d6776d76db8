"""After `copier copy`: put the new project under git and say what to do next.

Copier runs this with the new project as the working directory. It never fails the copy: whatever git
does, the rendered files stay and the user is told what happened.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ANSWERS_FILE = Path(".copier-answers.yml")


def git(*args: str) -> subprocess.CompletedProcess[str]:
    """Run git in the project folder and capture its output (never raises on a git error)."""
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def inside_other_repository() -> bool:
    """True when the project sits in an existing work tree that tracks it (so it is not ours to init).

    A folder that the enclosing repository ignores (like a template's own `build/demo`) is not part of
    that repository, so it gets a repository of its own.
    """
    if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        return False
    return git("check-ignore", "-q", ".").returncode != 0


def identity_options(answers: dict) -> list[str]:
    """`-c user.*` options for the first commit, only for what the machine's git config lacks."""
    options = []
    for key, answer in (("user.name", "author_name"), ("user.email", "author_email")):
        if not git("config", key).stdout.strip() and answers.get(answer):
            options += ["-c", f"{key}={answers[answer]}"]
    return options


def first_commit(answers: dict) -> None:
    """`git init` + first commit, unless the project already belongs to a repository."""
    if shutil.which("git") is None:
        print("git is not installed: the project was not put under version control. Install git, then run")
        print("  git init -b main && git add -A && git commit -m 'Start the engagement'")
        return
    if inside_other_repository():
        print("The project is inside an existing git repository: it was left as it is (no commit made).")
        return
    message = f"Start {answers.get('project_name', 'the')} engagement from copier-ml-engagement"
    steps = (
        ["init", "-q"],
        ["symbolic-ref", "HEAD", "refs/heads/main"],  # `init -b main` needs git >= 2.28
        ["add", "-A"],
        [*identity_options(answers), "commit", "-q", "-m", message],
    )
    for step in steps:
        result = git(*step)
        if result.returncode != 0:
            print(f"git {' '.join(step)} failed: {(result.stderr or result.stdout).strip()}")
            print("The files are all there; commit them yourself when git is set up.")
            return
    print(f'Created a git repository with a first commit: "{message}".')


def data_warning(answers: dict) -> str | None:
    """A reminder when the configured data file is not there yet (the audit needs it)."""
    data_path = str(answers.get("data_path", "")).strip()
    if not data_path:
        return None
    path = Path(data_path).expanduser()
    if (path if path.is_absolute() else Path.cwd() / path).exists():
        return None
    return f"Warning: {data_path} does not exist yet: put your data at {data_path} before make audit."


def next_steps(answers: dict) -> None:
    """Print the few commands that take a fresh project to an audited, trained baseline."""
    print()
    print(f"Next steps for {answers.get('project_name', 'your project')}:")
    print(f"  cd {Path.cwd()}")
    print("  make install   # a virtual environment with the project's dependencies (uv)")
    print("  make audit     # data quality audit, data contract and data dictionary")
    print("  make train     # cross-validated baseline and model, quality gate, model card")
    warning = data_warning(answers)
    if warning:
        print()
        print(warning)
    print()
    print("Every setting lives in configs/project.yaml; edit it and rerun to point the project at new data.")
    print("The charter (docs/engagement.md) and the kickoff checklist (docs/onboarding.md) are filled from")
    print("your answers: go through them with the client at kickoff.")


def main() -> int:
    answers = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8")) if ANSWERS_FILE.exists() else {}
    answers = answers if isinstance(answers, dict) else {}
    first_commit(answers)
    next_steps(answers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
