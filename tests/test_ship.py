"""Shipping: the Dockerfile, the CI files, the Kubernetes manifests and the lock file of a generated project,
checked with the tools a platform team would use, and the serving dependency set installed and run for real.

No Docker engine runs here, so the image is checked by its contract (what it copies, runs, exposes and
installs) and by building its environment with exactly its install step, then starting its `CMD`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import TEMPLATE_ROOT, read_config, render, uv_bin
from serving import free_port, http, wait_ready

BIN = Path(sys.executable).parent  # the linters of the template's dev environment
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")

# Answer combinations that together switch every shipping file on and off.
VARIANTS = {
    "github": {},
    "gitlab": {
        "ci_provider": "gitlab",
        "api_auth": "none",
        "include_k8s": False,
        "python_version": "3.11",
        "problem_type": "regression",
    },
    "none": {
        "ci_provider": "none",
        "project_name": "Ticket Triage",
        "problem_type": "multiclass",
        "python_version": "3.13",
        "drift_schedule": "30 2 * * *",
    },
}
# GitHub workflows with other answers than the defaults.
GITHUB_VARIANTS = {
    "defaults": {},
    "other": {
        "api_auth": "none",
        "include_k8s": False,
        "python_version": "3.13",
        "drift_schedule": "0 */6 * * *",
    },
}


def tool(name: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / name), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{name} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result


def render_shippable(dest: Path, **answers: object) -> Path:
    """A render without the copy tasks, made a git repository (actionlint only runs inside one)."""
    render(dest, skip_tasks=True, **answers)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def rendered(tmp_path_factory, name: str, answers: dict) -> tuple[Path, dict]:
    project = render_shippable(tmp_path_factory.mktemp(name) / "project", **answers)
    return project, yaml.safe_load((project / ".copier-answers.yml").read_text())


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request, tmp_path_factory) -> tuple[Path, dict]:
    """A render per CI provider (with other answers changed along)."""
    return rendered(tmp_path_factory, request.param, VARIANTS[request.param])


@pytest.fixture(scope="module", params=sorted(GITHUB_VARIANTS))
def github_variant(request, tmp_path_factory) -> tuple[Path, dict]:
    """Renders with GitHub workflows."""
    return rendered(tmp_path_factory, f"github-{request.param}", GITHUB_VARIANTS[request.param])


# --- Dockerfile -----------------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str
    stage: int  # index of the FROM it belongs to

    def exec_form(self) -> list[str]:
        """The JSON array of CMD/ENTRYPOINT/HEALTHCHECK CMD (after any options)."""
        return json.loads(self.arguments[self.arguments.index("[") :])


def parse_dockerfile(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped (enough for our own Dockerfile)."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    instructions, stage = [], -1
    for line in logical:
        keyword, _, arguments = line.strip().partition(" ")
        stage += keyword.upper() == "FROM"
        instructions.append(Instruction(keyword.upper(), arguments.strip(), stage))
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(item.stage for item in instructions)
    return [item for item in instructions if item.stage == last]


def install_commands(instructions: list[Instruction]) -> list[list[str]]:
    """The `uv sync` commands of the RUN instructions, as argument lists (cache mounts left out)."""
    commands = []
    for item in instructions:
        if item.keyword == "RUN" and "uv sync" in item.arguments:
            words = shlex.split(item.arguments)
            commands.append(words[words.index("uv") :])
    return commands


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    env = {}
    for item in instructions:
        if item.keyword == "ENV":
            for pair in shlex.split(item.arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def dockerignore(project: Path) -> set[str]:
    lines = (project / ".dockerignore").read_text().splitlines()
    return {line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")}


def copies(instructions: list[Instruction]) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context (not `--from=` another stage)."""
    result = []
    for item in instructions:
        if item.keyword == "COPY" and "--from=" not in item.arguments:
            *sources, destination = item.arguments.split()
            result.append((sources, destination))
    return result


def test_hadolint_is_clean(variant) -> None:
    project, _ = variant
    tool("hadolint", "--failure-threshold", "style", "Dockerfile", cwd=project)


def test_dockerfile_contract(variant) -> None:
    project, answers = variant
    instructions = parse_dockerfile(project / "Dockerfile")
    runtime = final_stage(instructions)
    ignored = dockerignore(project)

    # Every file copied from the build context exists and is not kept out of it by .dockerignore.
    for sources, _ in copies(instructions):
        for source in sources:
            assert (project / source).exists(), f"COPY {source}: not in the rendered project"
            assert source.rstrip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"
    # Client data, environments, reports and logs never reach the build context.
    assert {"data", ".venv", "reports", "logs", ".git", ".env"} <= ignored

    # The entry point is the project's console script, serving on every interface.
    cmd = next(item for item in runtime if item.keyword == "CMD").exec_form()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert cmd == [answers["project_slug"], "serve", "--host", "0.0.0.0"]
    assert pyproject["project"]["scripts"][cmd[0]] == f"{answers['package_name']}.cli:main"

    # The exposed port is the serve default; the health check asks a path the API serves.
    port = read_config(project)["api"]["port"]
    assert [item.arguments for item in runtime if item.keyword == "EXPOSE"] == [str(port)]
    healthcheck = next(item for item in runtime if item.keyword == "HEALTHCHECK")
    assert f"http://127.0.0.1:{port}/health" in " ".join(healthcheck.exec_form())
    api = project / "src" / answers["package_name"] / "serving" / "api"
    routes = (api / "routes" / "health.py").read_text()
    assert '@router.get("/health"' in routes

    # The server does not run as root.
    users = [item.arguments for item in runtime if item.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert runtime.index(next(i for i in runtime if i.keyword == "USER")) < runtime.index(healthcheck)

    # The install step: the runtime set only, exactly as locked, bytecode compiled.
    commands = install_commands(instructions)
    assert commands, "no uv sync in the Dockerfile"
    for command in commands:
        assert {"--locked", "--no-default-groups", "--compile-bytecode", "--no-editable"} <= set(command)
        assert not {"--group", "--all-groups", "--extra", "--all-extras", "--dev"} & set(command), command
    assert any("--no-install-project" not in command for command in commands), "the project itself"


def test_runtime_set_leaves_out_monitoring_notebooks_and_test_tools(variant) -> None:
    project, _ = variant
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    runtime = " ".join(pyproject["project"]["dependencies"])
    groups = pyproject["dependency-groups"]
    assert groups["monitoring"] == ["evidently>=0.7.23,<0.8"]
    for name in ("evidently", "jupyter", "ipykernel", "nbclient", "pytest", "ruff", "matplotlib"):
        assert name not in runtime, f"{name} is in the serving runtime set"
    assert {"training", "monitoring", "notebooks", "dev", "spark"} <= groups.keys()
    for name in ("pyspark", "duckdb"):
        assert name not in runtime, f"{name} is in the serving runtime set"
    # `make install` brings every group but spark (a large download most engagements never need), as
    # locked; `make install-spark` adds it; `make lock` relocks.
    assert pyproject["tool"]["uv"]["default-groups"] == ["training", "monitoring", "notebooks", "dev"]
    makefile = (project / "Makefile").read_text()
    assert "sync --locked --compile-bytecode" in makefile and "$(UV) lock" in makefile


# --- CI -------------------------------------------------------------------------------------------------


def workflow(project: Path, name: str) -> dict:
    return yaml.safe_load((project / ".github" / "workflows" / name).read_text())


def test_ci_files_follow_the_provider(variant) -> None:
    project, answers = variant
    provider = answers["ci_provider"]
    assert (project / ".github").exists() == (provider == "github")
    assert (project / ".gitlab-ci.yml").exists() == (provider == "gitlab")


def test_actionlint_is_clean_on_every_workflow(github_variant) -> None:
    project, answers = github_variant
    tool("actionlint", cwd=project)
    ci = workflow(project, "ci.yml")
    steps = "\n".join(str(step) for job in ci["jobs"].values() for step in job["steps"])
    for command in (
        "ruff check",
        "pytest",
        f"{answers['project_slug']} audit",
        f"{answers['project_slug']} train",
    ):
        assert command in steps, command
    assert "docker/build-push-action" in steps and "cache-from" in steps and "enable-cache" in steps


def test_scheduled_drift_workflow(github_variant) -> None:
    """The schedule runs `monitor` (drift and performance), says what exit 1 and 2 mean, keeps its code and
    uploads both reports."""
    project, answers = github_variant
    scheduled = workflow(project, "drift.yml")
    triggers = scheduled[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"] == [{"cron": answers["drift_schedule"]}]
    steps = scheduled["jobs"]["monitor"]["steps"]
    check = next(step for step in steps if "monitor" in step.get("run", "") and "uv run" in step["run"])
    assert f"uv run {answers['project_slug']} monitor" in check["run"] and 'exit "$status"' in check["run"]
    assert "1) echo" in check["run"] and "2) echo" in check["run"]
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert upload["with"]["path"].split() == ["reports/drift/", "reports/performance/"]


def test_gitlab_ci_validates_against_gitlab_schema(tmp_path) -> None:
    project = render_shippable(tmp_path / "project", ci_provider="gitlab", drift_schedule="15 4 * * 1-5")
    tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml", cwd=project)
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["stages"] == ["lint", "test", "smoke", "docker", "monitor"]
    # A schedule with TEMPLATE_UPDATE set runs the template update instead (.gitlab/template-update.yml).
    scheduled = '$CI_PIPELINE_SOURCE == "schedule" && $TEMPLATE_UPDATE == null'
    assert pipeline["monitor"]["rules"] == [{"if": scheduled}]
    [script] = pipeline["monitor"]["script"]
    assert "uv run acme-churn monitor || status=$?" in script and 'exit "$status"' in script
    assert "1) echo" in script and "2) echo" in script
    assert pipeline["monitor"]["artifacts"]["when"] == "always"
    assert pipeline["monitor"]["artifacts"]["paths"] == ["reports/drift/", "reports/performance/"]
    assert "15 4 * * 1-5" in (project / ".gitlab-ci.yml").read_text()
    assert pipeline[".uv"]["cache"]["key"] == {"files": ["uv.lock"]}


def runs_uv(command: str) -> bool:
    """Whether a shell command calls uv (as a command, not as a word of a path or a name)."""
    return re.search(r"(?:^|[\s;&|(])uv\s", command) is not None


def test_github_jobs_install_uv_before_using_it(github_variant) -> None:
    """A hosted runner has no uv: every job that runs it sets it up first."""
    project, _ = github_variant
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            steps = job["steps"]
            uses_uv = [i for i, step in enumerate(steps) if runs_uv(step.get("run", ""))]
            setup = [
                i for i, step in enumerate(steps) if step.get("uses", "").startswith("astral-sh/setup-uv")
            ]
            if uses_uv:
                assert setup and setup[0] < uses_uv[0], (
                    f"{path.name}: job {name} runs uv before setting it up"
                )


def test_gitlab_jobs_run_uv_in_an_image_that_has_it(tmp_path) -> None:
    project = render_shippable(tmp_path / "project", ci_provider="gitlab")
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "stage" in job}
    using_uv = 0
    for name, job in jobs.items():
        merged = {**pipeline.get(job.get("extends", ""), {}), **job}
        commands = [*merged.get("before_script", []), *merged["script"]]
        if any(runs_uv(command) for command in commands):
            using_uv += 1
            assert merged["image"].startswith("ghcr.io/astral-sh/uv:"), f"job {name} runs uv without it"
    assert using_uv >= 4  # lint, test, smoke, drift


def test_template_ci_runs_make_test() -> None:
    """The template's CI runs .ci/run (which installs Chromium, then `make test`) on Debian, where the
    `chromium` package is the real browser."""
    tool("actionlint", ".github/workflows/ci.yml", cwd=TEMPLATE_ROOT)
    ci = yaml.safe_load((TEMPLATE_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    (job,) = ci["jobs"].values()
    assert "bookworm" in job["container"] or "trixie" in job["container"]
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[-1] == "bash .ci/run"
    ci_run = (TEMPLATE_ROOT / ".ci" / "run").read_text()
    assert "apt-get install" in ci_run and "chromium" in ci_run
    assert ci_run.rstrip().splitlines()[-1] == "make test"


def stub(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def run_ci_script(tmp_path: Path, *, bare: bool) -> list[str]:
    """.ci/run on a PATH of stand-ins, run as on a CI machine: a bare one (python3 without pip or uv, no
    git, no browser) or one that has it all. apt-get and make only log their arguments; returns the log."""
    folder, log = tmp_path / "bin", tmp_path / "calls.log"
    folder.mkdir()
    for name in ("id", "dirname"):
        (folder / name).symlink_to(shutil.which(name))
    for name in ("apt-get", "make"):
        stub(folder, name, f'echo "{name} $*" >> {log}')
    stub(folder, "sudo", 'exec "$@"')  # used when not run as root
    stub(folder, "python3", "exit 1" if bare else "exit 0")  # `-m pip` / `-m uv`: missing or there
    if not bare:
        for name in ("git", "chromium", "java"):
            stub(folder, name, "exit 0")
    result = subprocess.run(
        ["/bin/bash", TEMPLATE_ROOT / ".ci" / "run"],
        env={"PATH": str(folder), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines()


def test_ci_script_installs_what_a_bare_debian_lacks(tmp_path) -> None:
    calls = run_ci_script(tmp_path, bare=True)
    install = next(call.split() for call in calls if call.startswith("apt-get install"))
    assert {"chromium", "git", "python3-pip", "default-jre-headless"} <= set(install), install
    assert calls[-1] == "make test"


def test_ci_script_installs_nothing_when_all_is_there(tmp_path) -> None:
    assert run_ci_script(tmp_path, bare=False) == ["make test"]


def test_pre_commit_config_is_valid(variant) -> None:
    project, _ = variant
    tool("pre-commit", "validate-config", ".pre-commit-config.yaml", cwd=project)
    hooks = {
        hook["id"]
        for repo in yaml.safe_load((project / ".pre-commit-config.yaml").read_text())["repos"]
        for hook in repo["hooks"]
    }
    assert {"ruff-check", "ruff-format", "nbstripout", "check-yaml"} <= hooks


# --- Python version -------------------------------------------------------------------------------------


@pytest.mark.parametrize("python_version", PYTHON_VERSIONS)
def test_python_version_is_the_same_everywhere(tmp_path, python_version: str) -> None:
    versions = {}
    for provider in ("github", "gitlab"):
        project = render(
            tmp_path / provider, skip_tasks=True, ci_provider=provider, python_version=python_version
        )
        base = [i.arguments for i in parse_dockerfile(project / "Dockerfile") if i.keyword == "FROM"]
        versions[f"{provider}: Dockerfile"] = {re.match(r"python:(\d+\.\d+)-", b).group(1) for b in base[1:]}
        if provider == "github":
            for name in ("ci.yml", "drift.yml"):
                versions[name] = {workflow(project, name)["env"]["UV_PYTHON"]}
        else:
            pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
            versions[".gitlab-ci.yml"] = {pipeline["variables"]["UV_PYTHON"]}
            versions[".gitlab-ci.yml image"] = {
                re.search(r"python(\d+\.\d+)", pipeline[".uv"]["image"]).group(1)
            }
        pyproject = tomllib.loads((project / "pyproject.toml").read_text())
        minimum = pyproject["project"]["requires-python"].removeprefix(">=")
        assert tuple(map(int, python_version.split("."))) >= tuple(map(int, minimum.split(".")))
    assert all(found == {python_version} for found in versions.values()), versions


# --- Kubernetes -----------------------------------------------------------------------------------------


def manifests(project: Path) -> dict[str, dict]:
    folder = project / "deploy" / "k8s"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return {name: yaml.safe_load((folder / name).read_text()) for name in kustomization["resources"]}


@pytest.mark.parametrize("api_auth", ["api_key", "none"])
def test_kubernetes_manifests_validate(tmp_path, api_auth: str) -> None:
    project = render(tmp_path / "project", skip_tasks=True, api_auth=api_auth)
    folder = project / "deploy" / "k8s"
    resources = manifests(project)
    assert set(resources) == {path.name for path in folder.glob("*.yaml")} - {"kustomization.yaml"}
    tool("kubernetes-validate", "--strict", *sorted(resources), cwd=folder)
    kinds = {resource["kind"]: resource for resource in resources.values()}
    assert set(kinds) == {"Deployment", "Service", "HorizontalPodAutoscaler"}  # no Secret with values

    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    port = read_config(project)["api"]["port"]
    assert container["ports"][0]["containerPort"] == port
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert "/app/logs" in mounts and mounts["/app/logs"] in {volume["name"] for volume in pod["volumes"]}
    # The image's user is the one the pod runs as.
    user = [i.arguments for i in parse_dockerfile(project / "Dockerfile") if i.keyword == "USER"][-1]
    assert str(pod["securityContext"]["runAsUser"]) == user.split(":")[0]
    env = {item["name"]: item for item in container.get("env", [])}
    if api_auth == "api_key":
        assert env["API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "API_KEY"
    else:
        assert "API_KEY" not in env
    assert (
        kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"]
        == kinds["Deployment"]["metadata"]["name"]
    )


def merged(base: dict, patch: dict) -> dict:
    """A strategic-merge patch applied as kustomize applies it to our Deployment: mappings merged, the lists
    of containers, env, volumeMounts and volumes merged item by item on their key, patch items first."""
    keys = {"containers": "name", "env": "name", "volumeMounts": "mountPath", "volumes": "name"}
    result = dict(base)
    for name, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(name), dict):
            result[name] = merged(base[name], value)
        elif name in keys and isinstance(base.get(name), list):
            key = keys[name]
            ours = {item[key]: item for item in base[name]}
            items = [merged(ours[item[key]], item) if item[key] in ours else item for item in value]
            result[name] = items + [item for item in base[name] if item[key] not in {i[key] for i in value}]
        else:
            result[name] = value
    return result


@pytest.mark.parametrize("api_auth", ["api_key", "none"])
def test_kubernetes_model_volume_overlay(tmp_path, api_auth: str) -> None:
    """deploy/k8s-model-volume/: the same API, its models read from a volume mounted read-only at MODEL_DIR
    (the variable the settings read), probes unchanged; the claim and the patched Deployment validate."""
    project = render(tmp_path / "project", skip_tasks=True, api_auth=api_auth)
    overlay = project / "deploy" / "k8s-model-volume"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["../k8s", "models-pvc.yaml"]
    [patch_file] = [item["path"] for item in kustomization["patches"]]
    base = manifests(project)["deployment.yaml"]
    patch = yaml.safe_load((overlay / patch_file).read_text())
    assert patch["metadata"]["name"] == base["metadata"]["name"]
    deployment = merged(base, patch)
    claim = yaml.safe_load((overlay / "models-pvc.yaml").read_text())
    checked = tmp_path / "checked"
    checked.mkdir()
    (checked / "deployment.yaml").write_text(yaml.safe_dump(deployment))
    (checked / "models-pvc.yaml").write_text(yaml.safe_dump(claim))
    tool("kubernetes-validate", "--strict", "deployment.yaml", "models-pvc.yaml", cwd=checked)

    pod, before = deployment["spec"]["template"]["spec"], base["spec"]["template"]["spec"]
    [container], [original] = pod["containers"], before["containers"]
    config_py = (project / "src" / read_answers_package(project) / "core" / "config.py").read_text()
    assert 'MODEL_DIR_ENV = "MODEL_DIR"' in config_py
    env = {item["name"]: item for item in container["env"]}
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    assert mounts["models"]["mountPath"] == env["MODEL_DIR"]["value"] and mounts["models"]["readOnly"] is True
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["models"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert "ReadWriteMany" in claim["spec"]["accessModes"]  # pods on several nodes, and one writer
    for probe in ("startupProbe", "livenessProbe", "readinessProbe", "resources", "securityContext"):
        assert container[probe] == original[probe], probe
    assert {"logs", "tmp"} <= set(mounts) and ("API_KEY" in env) == (api_auth == "api_key")


@pytest.mark.parametrize("api_auth", ["api_key", "none"])
def test_kubernetes_batch_scoring_cronjob(tmp_path, api_auth: str) -> None:
    """deploy/k8s-batch/: a CronJob that runs `predict` in the serving image on the batch volume, once at a
    time; bad input (exit 2) fails the job without a retry. Its own kustomization, apart from the API's:
    applying the API starts no scheduled work. The manifests validate and the command parses with the
    project's own command line."""
    project = render(tmp_path / "project", skip_tasks=True, api_auth=api_auth)
    folder = project / "deploy" / "k8s-batch"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    resources = {name: yaml.safe_load((folder / name).read_text()) for name in kustomization["resources"]}
    assert set(resources) == {path.name for path in folder.glob("*.yaml")} - {"kustomization.yaml"}
    tool("kubernetes-validate", "--strict", *sorted(resources), cwd=folder)
    kinds = {resource["kind"]: resource for resource in resources.values()}
    assert set(kinds) == {"CronJob", "PersistentVolumeClaim"}
    assert "k8s-batch" not in (project / "deploy" / "k8s" / "kustomization.yaml").read_text()

    cron = kinds["CronJob"]["spec"]
    assert len(cron["schedule"].split()) == 5 and cron["concurrencyPolicy"] == "Forbid"
    job = cron["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    [container] = pod["containers"]
    api = manifests(project)["deployment.yaml"]["spec"]["template"]["spec"]
    assert container["image"] == api["containers"][0]["image"]  # the serving image, the model inside
    assert pod["securityContext"] == api["securityContext"] and pod["restartPolicy"] == "Never"
    [rule] = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [2]
    assert rule["onExitCodes"]["containerName"] == container["name"]

    # The shell line, with the date filled in as `date +%F` would, is a valid `predict` command line.
    line = container["args"][0]
    assert container["command"] == ["/bin/sh", "-c"] and "$(date +%F)" in line
    argv = shlex.split(line.split("exec ", 1)[1].replace("$(date +%F)", "2030-01-31"))
    slug = yaml.safe_load((project / ".copier-answers.yml").read_text())["project_slug"]
    assert argv[0] == slug
    package = read_answers_package(project)
    parse = (
        f"import json, sys; from {package}.cli import build_parser; "
        "print(json.dumps(vars(build_parser().parse_args(sys.argv[1:])), default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", parse, *argv[1:]],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    args = json.loads(result.stdout)
    assert args["command"] == "predict" and args["engine"] == "local" and args["on_error"] == "skip"
    assert args["output"] == "/data/scored/2030-01-31.csv"
    assert args["workers"] == int(container["resources"]["limits"]["cpu"])  # one worker per core it gets
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for path in (args["input"], args["output"]):
        [mount] = [mount for mount in mounts if path.startswith(mount + "/")]
        claim = volumes[mounts[mount]]["persistentVolumeClaim"]["claimName"]
        assert claim == kinds["PersistentVolumeClaim"]["metadata"]["name"]
    assert "/app/logs" in mounts and "/tmp" in mounts  # the only writable places of a read-only root
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def read_answers_package(project: Path) -> str:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"]


def test_the_image_carries_the_model_store(tmp_path) -> None:
    """COPY models/ takes the whole store into the image: the pointer, every stored version and the
    current version's files at the top of models/; nothing of it is kept out by .dockerignore."""
    project = render(tmp_path / "project", skip_tasks=True)
    models = project / "models"
    for version in ("20250101T000000-aaaa", "20250201T000000-bbbb"):
        folder = models / "versions" / version
        (folder / "figures").mkdir(parents=True)
        for name in ("model.skops", "metadata.json", "manifest.json", "figures/feature_importance.png"):
            (folder / name).write_text(version)
    pointer = {"current": "20250201T000000-bbbb", "shadow": None, "previous": ["20250101T000000-aaaa"]}
    (models / "current.json").write_text(json.dumps(pointer))
    os.link(models / "versions" / pointer["current"] / "model.skops", models / "model.skops")
    assert not {"models", "models/versions", "models/current.json"} & dockerignore(project)
    app = container_layout(project, parse_dockerfile(project / "Dockerfile"), tmp_path / "app")
    copied = {path.relative_to(app / "models").as_posix() for path in (app / "models").rglob("*")}
    assert {"current.json", "model.skops", "versions/20250101T000000-aaaa/model.skops"} <= copied
    assert "versions/20250201T000000-bbbb/figures/feature_importance.png" in copied
    assert json.loads((app / "models" / "current.json").read_text()) == pointer


def test_no_kubernetes_manifests_when_not_asked(tmp_path) -> None:
    project = render(tmp_path / "project", skip_tasks=True, include_k8s=False)
    assert not (project / "deploy").exists()


# --- Lock file ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["acme-churn", "x1", "ticket-triage-2"])
def test_lock_file_matches_the_rendered_project(tmp_path, slug: str) -> None:
    """The shipped lock is current for any slug: a stale template/uv.lock.jinja fails here
    (rewrite it with `make lock-generated`)."""
    project = render(tmp_path / "project", skip_tasks=True, project_slug=slug)
    text = (project / "uv.lock").read_text()
    assert f'name = "{slug}"' in text and "{{" not in text and "{%" not in text
    result = subprocess.run(
        [uv_bin(), "lock", "--check"], cwd=project, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"uv.lock is stale for {slug}: run `make lock-generated`\n{result.stderr}"


# --- Without uv on PATH -----------------------------------------------------------------------------------


def env_without_uv() -> dict[str, str]:
    """This environment on a fresh machine: no folder of PATH holds a `uv` (as where the Makefile installed
    it with pip into the user site), and no `UV` set by `uv run`."""
    env = {key: value for key, value in os.environ.items() if key not in ("UV", "VIRTUAL_ENV")}
    folders = os.environ["PATH"].split(os.pathsep)
    env["PATH"] = os.pathsep.join(
        folder for folder in folders if folder and not (Path(folder) / "uv").exists()
    )
    assert shutil.which("uv", path=env["PATH"]) is None
    return env


def test_uv_using_tests_pass_without_uv_on_path() -> None:
    """The tests that run uv (the lock check, the runtime set's export and wheel check) find it through
    `uv_bin()`, not PATH: run them where PATH has no uv."""
    tests = [
        "test_lock_file_matches_the_rendered_project[x1]",
        "test_runtime_set_installs_from_wheels_on_the_image_python[3.12]",
    ]
    env = {key: value for key, value in env_without_uv().items() if not key.startswith("PYTEST_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *(f"{__file__}::{t}" for t in tests),
        ],
        cwd=TEMPLATE_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0 and "2 passed" in result.stdout, f"{result.stdout}\n{result.stderr}"


def fresh_python3(tmp_path: Path, *, pip: bool) -> dict[str, str]:
    """The environment of a fresh machine: a `python3` without uv (with or without pip) and no uv on PATH.
    Whatever pip installs lands off PATH, as in ~/.local/bin."""
    python = tmp_path / "python"
    venv = [uv_bin(), "venv", "--quiet", "--python", sys.executable, python, *(["--seed"] if pip else [])]
    subprocess.run(venv, check=True, capture_output=True, timeout=120)
    folder = tmp_path / "bin"
    folder.mkdir()
    stub(folder, "python3", f'exec "{python / "bin" / "python"}" "$@"')
    env = env_without_uv()
    env["PATH"] = f"{folder}{os.pathsep}{env['PATH']}"
    assert subprocess.run(["python3", "-m", "uv", "--version"], env=env, capture_output=True).returncode != 0
    return env


def test_generated_makefile_installs_uv_with_pip_where_it_is_missing(tmp_path) -> None:
    """`make lock` on a fresh machine installs uv with pip and runs it as `python3 -m uv`."""
    project = render(tmp_path / "project", skip_tasks=True)
    lock = (project / "uv.lock").read_text()
    env = fresh_python3(tmp_path, pip=True)

    result = subprocess.run(
        ["make", "lock"], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "uv not found: installing it with pip" in result.stdout
    assert "python3 -m uv lock" in result.stdout
    assert (project / "uv.lock").read_text() == lock, "the shipped lock is current: `uv lock` keeps it"


def test_generated_makefile_says_what_to_install_without_pip(tmp_path) -> None:
    project = render(tmp_path / "project", skip_tasks=True)
    env = fresh_python3(tmp_path, pip=False)

    result = subprocess.run(
        ["make", "lock"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "could not install uv with python3 -m pip" in line and "apt-get install python3-pip" in line


# --- The runtime set, for real --------------------------------------------------------------------------


def folder_mib(path: Path) -> float:
    """Size on disk of a folder (each hard-linked file counted once within it)."""
    result = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(result.stdout.split()[0]) / 1024


def container_layout(project: Path, instructions: list[Instruction], root: Path) -> Path:
    """What the runtime stage puts in its WORKDIR, copied from the project: configs/, models/, logs/."""
    runtime = final_stage(instructions)
    for sources, destination in copies(runtime):
        for source in sources:
            shutil.copytree(project / source, root / destination)
    (root / "logs").mkdir()
    return root


@pytest.mark.slow
def test_runtime_set_serves_for_real(default_project: Path, tmp_path: Path) -> None:
    """The Dockerfile's install step in a fresh environment, its CMD started, the API answering; the model
    trained beforehand with the dev environment and mounted through MODEL_DIR."""
    # The linear family: its explainer reads the training reference (Parquet) at start-up.
    project = render(tmp_path / "project", skip_tasks=True, model_family="linear")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    slug, package = answers["project_slug"], answers["package_name"]
    dev_python = default_project / ".venv" / "bin" / "python"
    train_env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(project / "src")}
    train_env.pop("VIRTUAL_ENV", None)
    trained = subprocess.run(
        [dev_python, "-m", package, "train"], cwd=project, env=train_env, capture_output=True, text=True
    )
    assert trained.returncode == 0, trained.stderr

    # Exactly the Dockerfile's install step: its uv commands, its ENV, in the project (the build context).
    instructions = parse_dockerfile(project / "Dockerfile")
    runtime_env_dir = tmp_path / "runtime-venv"
    build_stage = next(i.stage for i in instructions if i.keyword == "RUN" and "uv sync" in i.arguments)
    env = {**os.environ, **dockerfile_env([i for i in instructions if i.stage == build_stage])}
    env["UV_PROJECT_ENVIRONMENT"] = str(runtime_env_dir)  # the Dockerfile's /app/.venv
    env.pop("VIRTUAL_ENV", None)
    for command in install_commands(instructions):
        local = [uv_bin(), *command[1:]]  # the image's /usr/local/bin/uv is this machine's uv
        result = subprocess.run(local, cwd=project, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{command}: {result.stderr}"

    # The serving environment has no drift, notebook or test tools.
    for module in ("evidently", "matplotlib", "pytest", "nbclient"):
        probe = subprocess.run(
            [runtime_env_dir / "bin" / "python", "-c", f"import {module}"], capture_output=True
        )
        assert probe.returncode != 0, f"{module} imports in the runtime environment"

    # The runtime stage's WORKDIR, without a baked-in model: the trained one is mounted via MODEL_DIR.
    app = container_layout(project, instructions, tmp_path / "app")
    mounted = tmp_path / "mounted-models"
    shutil.copytree(project / "models", mounted)
    assert (app / "models" / "current.json").is_file() and (app / "models" / "versions").is_dir()
    for item in (app / "models").iterdir():
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    port, key = free_port(), "runtime-test-key"
    cmd = next(item for item in final_stage(instructions) if item.keyword == "CMD").exec_form()
    assert cmd[0] == slug
    server_env = {
        **{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")},
        **dockerfile_env(final_stage(instructions)),
        "PATH": f"{runtime_env_dir / 'bin'}:{os.environ['PATH']}",
        "MODEL_DIR": str(mounted),
        "API_KEY": key,
        "OMP_NUM_THREADS": "1",
    }
    server = subprocess.Popen(
        [runtime_env_dir / "bin" / cmd[0], *cmd[1:], "--host", "127.0.0.1", "--port", str(port)],
        cwd=app,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        cold_start = wait_ready(url, server)  # from the process start
        assert http("GET", f"{url}/health") == (200, {"status": "ok"})
        # The image's HEALTHCHECK command itself, pointed at this server's port, with the runtime's python.
        healthcheck = next(i for i in final_stage(instructions) if i.keyword == "HEALTHCHECK").exec_form()
        port_in_image = str(read_config(project)["api"]["port"])
        probe_cmd = [part.replace(f":{port_in_image}/", f":{port}/") for part in healthcheck]
        probe = subprocess.run(probe_cmd, env=server_env, capture_output=True, text=True, timeout=30)
        assert probe.returncode == 0, probe.stderr
        metadata = json.loads((mounted / "metadata.json").read_text())
        features = [f["name"] for f in metadata["features"] if not f.get("derived")]
        sample = pd.read_csv(project / read_config(project)["data"]["path"], nrows=3)[features]
        records = json.loads(sample.to_json(orient="records"))
        status, predicted = http("POST", f"{url}/v1/predict", {"records": records}, key)
        assert status == 200, predicted
        assert len(predicted["predictions"]) == 3 and len(predicted["probabilities"]) == 3
        assert predicted["model_version"] == metadata["model_version"]
        status, explained = http("POST", f"{url}/v1/explain", {"records": records}, key)
        assert status == 200, explained
        rows = explained["explanations"]
        assert len(rows) == 3 and all(set(row["contributions"]) <= set(features) for row in rows)
        # base_value + contributions = the model's log-odds of the class that /v1/predict gives a probability.
        for row, probabilities in zip(rows, predicted["probabilities"], strict=True):
            assert row["scale"] == "log-odds"
            probability = probabilities[str(row["explained_class"])]
            explained_output = row["base_value"] + sum(row["contributions"].values())
            assert explained_output == pytest.approx(math.log(probability / (1 - probability)), abs=1e-6)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "Traceback" not in errors, errors
    assert (app / "logs" / "predictions").is_dir(), "the prediction log goes to the writable logs/"
    assert not list((app / "models").iterdir()), "nothing written into the image's models/"

    runtime_mib, full_mib = folder_mib(runtime_env_dir), folder_mib(default_project / ".venv")
    report = (
        f"runtime environment {runtime_mib:.0f} MiB vs full dev environment {full_mib:.0f} MiB "
        f"({runtime_mib / full_mib:.0%}); cold start to /ready {cold_start:.1f} s"
    )
    print(report)
    assert runtime_mib <= 0.5 * full_mib, report


@pytest.fixture(scope="module")
def runtime_pins(tmp_path_factory) -> Path:
    """The locked runtime set as pinned requirements (the lock is the same for every `python_version`)."""
    folder = tmp_path_factory.mktemp("pins")
    project = render(folder / "project", skip_tasks=True)
    pins = folder / "runtime.txt"
    export = [uv_bin(), "export", "--locked", "--no-default-groups", "--no-emit-project", "--no-hashes", "-q"]
    subprocess.run([*export, "-o", pins], cwd=project, check=True, timeout=120)
    return pins


@pytest.mark.parametrize("python_version", PYTHON_VERSIONS)
def test_runtime_set_installs_from_wheels_on_the_image_python(
    runtime_pins: Path, python_version: str
) -> None:
    """The slim image has no compiler: every locked runtime package must have a wheel for its Python."""
    compile_ = [
        uv_bin(),
        "pip",
        "compile",
        runtime_pins,
        "--python-version",
        python_version,
        "-q",
        "-o",
        os.devnull,
    ]
    platform = ["--python-platform", "x86_64-manylinux_2_28", "--only-binary", ":all:"]
    result = subprocess.run([*compile_, *platform], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"no wheel for Python {python_version}:\n{result.stderr}"
