"""Supply chain: what a client's security team checks before anything of a generated project (or of the
template) reaches production. Every third-party CI action pinned to a commit, update tooling that keeps the
pins fresh, a vulnerability audit of the lock that fails on a known-vulnerable package, a secret scan that
fails on a new key, an SBOM of the serving image's packages, and a devcontainer with the environment of
`make install`. Each check runs the project's own Makefile target, as its CI does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import tomllib
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker

from conftest import PROJECT_ENV, TEMPLATE_ROOT, read_config, render, uv_bin

BIN = Path(sys.executable).parent  # the linters of the template's dev environment
WORKFLOW_FOLDER = Path(".github") / "workflows"
# `uses: owner/repo[/path]@<40 hex> # vX.Y.Z`: a commit cannot move, the comment says which release it is.
PINNED_USE = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\d+\.\d+\.\d+)$")
DEV_ONLY = (
    "pytest",
    "ruff",
    "hypothesis",
    "schemathesis",
    "pre-commit",
    "evidently",
    "matplotlib",
    "pyspark",
)


def tool(name: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / name), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{name} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result


def make(
    target: str, cwd: Path, *variables: str, makefile: Path | None = None
) -> subprocess.CompletedProcess:
    """A Makefile target as CI runs it (`UV` from PROJECT_ENV: no uv install on the test machine)."""
    command = [
        "make",
        "--no-print-directory",
        *(["-f", str(makefile)] if makefile else []),
        target,
        *variables,
    ]
    return subprocess.run(command, cwd=cwd, env=PROJECT_ENV, capture_output=True, text=True, timeout=600)


def committed_render(dest: Path, **answers: object) -> Path:
    """A render made a git repository with every file added (detect-secrets scans the committed files;
    actionlint only runs inside a repository)."""
    render(dest, skip_tasks=True, **answers)
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return committed_render(tmp_path_factory.mktemp("supply") / "project")


@pytest.fixture(scope="module")
def other_project(tmp_path_factory) -> Path:
    """Other answers that change the workflows (no API key, no Kubernetes, another Python)."""
    answers = {
        "api_auth": "none",
        "include_k8s": False,
        "python_version": "3.11",
        "project_name": "Ticket Triage",
    }
    return committed_render(tmp_path_factory.mktemp("supply-other") / "project", **answers)


# --- Pinned actions and the tooling that keeps them fresh -----------------------------------------------


def action_uses(path: Path) -> list[str]:
    """The raw `uses:` values of a workflow, comment included (YAML parsing would drop the version)."""
    found = []
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(.+?)\s*$", line)
        if match:
            found.append(match.group(1))
    return found


def test_every_action_is_pinned_to_a_commit_with_its_version(project, other_project) -> None:
    workflows = [
        *sorted((project / WORKFLOW_FOLDER).glob("*.yml")),
        *sorted((other_project / WORKFLOW_FOLDER).glob("*.yml")),
        *sorted((TEMPLATE_ROOT / WORKFLOW_FOLDER).glob("*.yml")),
    ]
    commits: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in workflows:
        uses = action_uses(path)
        assert uses, f"{path}: no action used"
        for use in uses:
            if use.startswith("./"):
                continue  # an action of the repository itself
            match = PINNED_USE.match(use)
            assert match, f"{path}: `uses: {use}` is not owner/repo@<40-hex commit> # vX.Y.Z"
            commits[match["action"], match["version"]].add(match["sha"])
    # One release, one commit, in every file: a half-done bump would leave two.
    assert all(len(shas) == 1 for shas in commits.values()), dict(commits)
    assert ("actions/checkout", "v7.0.1") in commits


def test_workflows_and_update_tooling_validate(project, other_project) -> None:
    for rendered in (project, other_project):
        tool("actionlint", cwd=rendered)
    tool("actionlint", *sorted((TEMPLATE_ROOT / WORKFLOW_FOLDER).glob("*.yml")), cwd=TEMPLATE_ROOT)
    dependabot_files = [project / ".github" / "dependabot.yml", TEMPLATE_ROOT / ".github" / "dependabot.yml"]
    tool("check-jsonschema", "--builtin-schema", "vendor.dependabot", *dependabot_files, cwd=project)
    for path in dependabot_files:
        ecosystems = {u["package-ecosystem"]: u for u in yaml.safe_load(path.read_text())["updates"]}
        assert {"github-actions", "uv"} <= ecosystems.keys(), path
        assert all(update["schedule"]["interval"] == "weekly" for update in ecosystems.values())


def test_ci_runs_the_supply_chain_targets_and_uploads_the_sbom(project) -> None:
    ci = yaml.safe_load((project / WORKFLOW_FOLDER / "ci.yml").read_text())
    steps = ci["jobs"]["supply-chain"]["steps"]
    runs = [step.get("run") for step in steps if "run" in step]
    assert runs == ["make audit-deps", "make secrets", "make sbom"]
    # Each check reports even when the one before it failed.
    assert all(step["if"] == "!cancelled()" for step in steps if step.get("run") in runs[1:])
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/sbom.cdx.json"
    template_ci = yaml.safe_load((TEMPLATE_ROOT / WORKFLOW_FOLDER / "ci.yml").read_text())
    (job,) = template_ci["jobs"].values()
    assert {"make audit-deps", "make secrets"} <= {step.get("run") for step in job["steps"]}


def test_gitlab_runs_the_same_targets(tmp_path) -> None:
    project = committed_render(tmp_path / "project", ci_provider="gitlab")
    tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml", cwd=project)
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    for target in ("audit-deps", "secrets", "sbom"):
        job = pipeline[target]
        assert job["script"] == [f"make {target}"] and job["stage"] in pipeline["stages"], target
        # The uv image (from .uv) with make and git added, and no `uv sync`: the tools come with uv tool run.
        assert job["extends"] == ".uv" and job["before_script"] == pipeline[".supply-chain-tools"]
        assert any("install" in command and "make git" in command for command in job["before_script"])
    assert pipeline["sbom"]["artifacts"]["paths"] == ["reports/sbom.cdx.json"]
    assert "Renovate" in (project / ".gitlab-ci.yml").read_text()


# --- Dependency audit -----------------------------------------------------------------------------------

# Real advisories, as OSV serves them (trimmed to the fields pip-audit reads): what a lock pinned to old
# versions must be flagged for. pip-audit queries this stand-in of the OSV API exactly as it queries
# api.osv.dev, which this machine cannot reach; the version ranges are evaluated here as OSV does.
ADVISORIES = [
    {
        "id": "PYSEC-2019-217",
        "aliases": ["GHSA-462w-v97r-4m45", "CVE-2019-10906"],
        "summary": "In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape.",
        "affected": [
            {
                "package": {"name": "jinja2", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}],
            }
        ],
    },
    {
        "id": "GHSA-mh33-7rrq-662w",
        "aliases": ["CVE-2019-11324"],
        "summary": "urllib3 before 1.24.2 mishandles a desired set of CA certificates that differs",
        "affected": [
            {
                "package": {"name": "urllib3", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.24.2"}]}],
            }
        ],
    },
    {
        "id": "PYSEC-2024-110",
        "aliases": ["GHSA-jw8x-6495-233v", "CVE-2024-5206"],
        "summary": "scikit-learn TfidfVectorizer stop_words_ attribute leaks tokens of the training data",
        "affected": [
            {
                "package": {"name": "scikit-learn", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5.0"}]}],
            }
        ],
    },
]


def affects(advisory: dict, name: str, version: str) -> bool:
    from packaging.version import Version

    for affected in advisory["affected"]:
        if affected["package"]["name"] != name:
            continue
        for events in (r["events"] for r in affected["ranges"]):
            low = Version(next(e["introduced"] for e in events if "introduced" in e))
            fixed = [Version(e["fixed"]) for e in events if "fixed" in e]
            if low <= Version(version) and (not fixed or Version(version) < fixed[0]):
                return True
    return False


@pytest.fixture
def osv(tmp_path):
    """A local OSV query API over ADVISORIES; yields (pip-audit arguments that use it, the names queried)."""
    queried: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name, version = query["package"]["name"], query["version"]
            queried.append(name)
            vulns = [a for a in ADVISORIES if affects(a, name, version)]
            body = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    args = f"PIP_AUDIT_ARGS=--vulnerability-service osv --osv-url {url} --cache-dir {tmp_path / 'cache'}"
    yield args, queried
    server.shutdown()


@pytest.fixture(scope="module")
def vulnerable_lock(tmp_path_factory) -> Path:
    """A uv project whose lock pins versions with published advisories."""
    folder = tmp_path_factory.mktemp("vulnerable")
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "old-pins"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["jinja2==2.10", "urllib3==1.24.1"]\n\n[tool.uv]\npackage = false\n'
    )
    subprocess.run([uv_bin(), "lock", "-q"], cwd=folder, check=True, capture_output=True, timeout=300)
    return folder


def test_audit_fails_on_a_lock_pinned_to_vulnerable_versions(project, vulnerable_lock, osv) -> None:
    args, _ = osv
    result = make("audit-deps", vulnerable_lock, args, makefile=project / "Makefile")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for finding in ("jinja2", "PYSEC-2019-217", "2.10.1", "urllib3", "CVE-2019-11324", "1.24.2"):
        assert finding in output, f"{finding} missing from:\n{output}"


def test_audit_passes_on_the_generated_lock(project, osv) -> None:
    """Every locked package is looked up, and none is below an advisory's fix (scikit-learn>=1.5)."""
    args, queried = osv
    result = make("audit-deps", project, args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No known vulnerabilities found" in result.stdout + result.stderr
    exported = (project / "build" / "requirements-audit.txt").read_text()
    pins = [line.partition(" ; ") for line in exported.splitlines() if "==" in line]
    # pip-audit looks up what installs on this platform (Linux, as CI and the image): not appnope (macOS).
    locked = {pin.split("==")[0] for pin, _, marker in pins if not marker or Marker(marker).evaluate()}
    assert {"scikit-learn", "fastapi", "pytest", "evidently", "pyspark"} <= locked  # every group
    assert locked <= set(queried), locked - set(queried)


def test_audit_fails_when_vulnerability_data_cannot_be_had(project, tmp_path) -> None:
    """No service, no pass: an audit that could not look a package up never says "no vulnerabilities"."""
    service = "--vulnerability-service osv --osv-url http://127.0.0.1:9/v1/query --timeout 5"
    unreachable = f"PIP_AUDIT_ARGS={service} --cache-dir {tmp_path}"
    result = make("audit-deps", project, unreachable)
    assert result.returncode != 0, result.stdout
    assert "No known vulnerabilities found" not in result.stdout


# --- Secret scanning ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_secret_scan_passes_on_a_fresh_render_and_flags_a_new_key(tmp_path) -> None:
    project = committed_render(tmp_path / "project")
    baseline = (project / ".secrets.baseline").read_text()
    clean = make("secrets", project)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert (project / ".secrets.baseline").read_text() == baseline, "the scan rewrote the committed baseline"

    leaked = project / "configs" / "cloud.ini"
    leaked.write_text("[default]\naws_access_key_id = AKIAZ3MSJV4WWNKWW5FG\n")  # pragma: allowlist secret
    subprocess.run(["git", "add", str(leaked)], cwd=project, check=True)
    caught = make("secrets", project)
    assert caught.returncode != 0
    assert "AWS Access Key" in caught.stdout and "configs/cloud.ini" in caught.stdout

    # The pre-commit hook (its entry, on the staged file) stops the same commit.
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hook = next(h for repo in config["repos"] for h in repo["hooks"] if h["id"] == "detect-secrets")
    entry = hook["entry"].split("#")[0].split()
    command = [uv_bin(), *entry[1:], "configs/cloud.ini"]
    assert subprocess.run(command, cwd=project, capture_output=True, timeout=300).returncode == 1
    notebook = subprocess.run(
        [*command[:-1], "notebooks/01_data_audit.ipynb"], cwd=project, capture_output=True
    )
    assert notebook.returncode == 0, notebook.stdout


# --- SBOM -----------------------------------------------------------------------------------------------

IMAGE_MARKERS = {
    "python_version": "",
    "python_full_version": "",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "os_name": "posix",
}


def runtime_closure(lock: dict, root: str, python: str) -> dict[str, str]:
    """name -> version of what the lock installs for the project's runtime dependencies (no group) on the
    image's Python on Linux: the walk `uv sync --no-default-groups` makes."""
    env = {**IMAGE_MARKERS, "python_version": python, "python_full_version": f"{python}.0"}
    packages = defaultdict(list)
    for package in lock["package"]:
        packages[package["name"]].append(package)
    chosen: dict[str, str] = {}
    todo = [(dep, ()) for dep in packages[root][0].get("dependencies", [])]
    while todo:
        dep, _ = todo.pop()
        if "marker" in dep and not Marker(dep["marker"]).evaluate({**env, "extra": ""}):
            continue
        candidates = [p for p in packages[dep["name"]] if p["version"] == dep.get("version", p["version"])]
        (package,) = candidates
        extras = [
            d
            for extra in dep.get("extra", [])
            for d in package.get("optional-dependencies", {}).get(extra, [])
        ]
        if package["name"] in chosen and not extras:
            continue
        chosen[package["name"]] = package["version"]
        todo.extend((d, ()) for d in [*package.get("dependencies", []), *extras])
    return chosen


@pytest.mark.slow
@pytest.mark.parametrize("python_version", ["3.12", "3.11"])
def test_sbom_lists_the_image_runtime_set_as_locked(tmp_path, python_version: str) -> None:
    project = committed_render(tmp_path / "project", python_version=python_version)
    result = make("sbom", project)
    assert result.returncode == 0, result.stdout + result.stderr
    sbom = json.loads((project / "reports" / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["metadata"]["component"]["name"] == "acme-churn"
    listed = {c["name"].lower(): c["version"] for c in sbom["components"]}
    assert all(c["purl"] == f"pkg:pypi/{c['name']}@{c['version']}" for c in sbom["components"])

    lock = tomllib.loads((project / "uv.lock").read_text())
    expected = runtime_closure(lock, "acme-churn", python_version)
    assert listed == expected
    assert {"fastapi", "scikit-learn", "shap", "uvicorn", "numpy"} <= listed.keys()
    assert not set(DEV_ONLY) & listed.keys()


# --- Devcontainer ---------------------------------------------------------------------------------------


def read_jsonc(path: Path) -> dict:
    """JSON with // comment lines, as devcontainer.json allows."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("//")]
    return json.loads("\n".join(lines))


def test_devcontainer_gives_the_environment_of_make_install(project, other_project) -> None:
    for rendered in (project, other_project):
        answers = yaml.safe_load((rendered / ".copier-answers.yml").read_text())
        container = read_jsonc(rendered / ".devcontainer" / "devcontainer.json")
        python = re.fullmatch(r"mcr\.microsoft\.com/devcontainers/python:(\d+\.\d+)", container["image"])
        assert python and python.group(1) == answers["python_version"]
        requires = tomllib.loads((rendered / "pyproject.toml").read_text())["project"]["requires-python"]
        floor = tuple(map(int, requires.removeprefix(">=").split(".")))
        assert tuple(map(int, python.group(1).split("."))) >= floor
        assert container["postCreateCommand"] == "make install"
        assert re.search(r"^install: ", (rendered / "Makefile").read_text(), re.MULTILINE)
        assert "uv" in container["onCreateCommand"]
        assert container["forwardPorts"] == [read_config(rendered)["api"]["port"]]
        extensions = container["customizations"]["vscode"]["extensions"]
        assert {"ms-python.python", "charliermarsh.ruff"} <= set(extensions)
