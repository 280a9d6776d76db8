"""Load test of the API: `make bench` (or `uv run python scripts/bench_api.py [--duration S]`).

Starts the real server (`serve`) on a free loopback port with the trained model, drives it with wrk, and
prints requests/s and p50/p99 latency of /health, /v1/predict and /v1/explain (one record per request) at
8 and 64 concurrent connections, each endpoint's rate as a share of /health's, and the in-process rate of
single-record predictions of the same model. The results are also written to reports/benchmark_api.json.
The record carries the configured ID columns, as a client's would (`--no-ids`: features only), so the
prediction log and the prediction index do their full work; `--endpoints` measures fewer endpoints.

The server runs from a temporary copy of configs/ and models/, so the load does not end up in this
project's prediction log. With a second stored version, the run ends by measuring /v1/predict at 64
connections twice on the same server settings, without and with a shadow model (the one
models/current.json names, or the newest version that is not current), and prints both p99s and their
ratio: what shadow scoring costs the answers (`--shadow`: that comparison only). A model with prediction
intervals or sets has /v1/predict at 64 connections measured with them off and on, twice each in turn, and
the ratio of requests/s: what the uncertainty costs the throughput (`--uncertainty`: that comparison only;
target: at least 0.9).
wrk is the load generator: `sudo apt-get install wrk` (Debian, Ubuntu),
`brew install wrk` (macOS), or build it from https://github.com/wg/wrk.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = next(path.parent.name for path in (ROOT / "src").glob("*/__init__.py"))
CONNECTIONS = (8, 64)
ENDPOINTS = ("/health", "/v1/predict", "/v1/explain")
# What the service is expected to reach at 64 connections, relative to /health on the same server.
TARGETS = {"/v1/predict": 0.50, "/v1/explain": 0.25}
P99_TARGET_MS = 50.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    parser.add_argument(
        "--endpoints",
        nargs="+",
        choices=ENDPOINTS,
        default=list(ENDPOINTS),
        help="the endpoints to measure (default all; /health is always measured: the others' yardstick)",
    )
    parser.add_argument("--no-ids", action="store_true", help="send the features only, no ID columns")
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="only /v1/predict p99 without and with a shadow model (a full run ends with it too)",
    )
    parser.add_argument(
        "--uncertainty",
        action="store_true",
        help="only /v1/predict requests/s without and with intervals or sets (a full run ends with it too)",
    )
    args = parser.parse_args()
    endpoints = ["/health", *(endpoint for endpoint in ENDPOINTS[1:] if endpoint in args.endpoints)]
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu), `brew install wrk` (macOS), "
            "or build it from https://github.com/wg/wrk",
            file=sys.stderr,
        )
        return 2
    if not (ROOT / "models" / "metadata.json").exists():
        print("no trained model: run `make train` first", file=sys.stderr)
        return 2
    if args.shadow:
        return shadow_comparison(args)
    if args.uncertainty:
        return uncertainty_comparison(args)
    with tempfile.TemporaryDirectory(prefix="bench-") as temp:
        workdir = Path(temp)
        record = example_record()
        results = {"in_process": in_process_rates(record)}
        sent = record if args.no_ids else {**record, **example_ids()}
        # A copy of configs/ and models/: the load must not end up in this project's prediction log.
        shutil.copytree(ROOT / "configs", workdir / "project" / "configs")
        shutil.copytree(ROOT / "models", workdir / "project" / "models")
        with Server(workdir / "project", args.workers, workdir / "server.log") as server:
            scripts = write_wrk_scripts(workdir, sent, server.api_key)
            results["http"] = {
                str(connections): {
                    endpoint: wrk(server.url + endpoint, connections, args.duration, scripts.get(endpoint))
                    for endpoint in endpoints
                }
                for connections in CONNECTIONS
            }
            results["server_log_tail"] = server.log_tail()
    report(results, args)
    results.pop("server_log_tail")
    write_results(results)
    if has_uncertainty():
        uncertainty_comparison(args)
    if shadow_candidate() is None:
        print("\nno second stored version: `train --shadow` one to also measure what a shadow model costs")
        return 0
    return shadow_comparison(args)  # what shadow scoring costs the answers, in the same run


def write_results(results: dict[str, Any]) -> None:
    """Into reports/benchmark_api.json, keeping what an earlier run of the other kind wrote there."""
    out = ROOT / "reports" / "benchmark_api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    out.write_text(json.dumps({**earlier, **results}, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {out.relative_to(ROOT)}")


def shadow_candidate() -> str | None:
    """The shadow models/current.json names, else the newest stored version that is not current."""
    path = ROOT / "models" / "current.json"
    if not path.is_file():
        return None
    pointer = json.loads(path.read_text(encoding="utf-8"))
    folder = ROOT / "models" / "versions"
    versions = sorted(item.name for item in folder.iterdir() if (item / "manifest.json").is_file())
    others = [version for version in versions if version != pointer["current"]]
    return pointer.get("shadow") or (others[-1] if others else None)


def shadow_comparison(args: argparse.Namespace) -> int:
    """/v1/predict at 64 connections, shadow off then on, same server settings, same record."""
    shadow = shadow_candidate()
    if shadow is None:
        print("only one stored version: run `train --shadow` first to get a challenger", file=sys.stderr)
        return 2
    record = {**example_record(), **({} if args.no_ids else example_ids())}
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as temp:
        project = Path(temp) / "project"
        shutil.copytree(ROOT / "configs", project / "configs")
        shutil.copytree(ROOT / "models", project / "models")
        for label, version in (("off", None), ("on", shadow)):
            cli(project, "models", "shadow", *([version] if version else ["--off"]), check=False)
            with Server(project, args.workers, Path(temp) / f"server-{label}.log") as server:
                script = write_wrk_scripts(Path(temp), record, server.api_key)["/v1/predict"]
                runs[label] = wrk(server.url + "/v1/predict", 64, args.duration, script)
                runs[label]["shadow_records"] = scraped(server.url, "shadow_records_scored_total")
                runs[label]["shadow_dropped"] = scraped(server.url, "shadow_records_dropped_total")
    ratio = runs["on"]["p99_ms"] / runs["off"]["p99_ms"] if runs["off"]["p99_ms"] else float("nan")
    print(f"\n/v1/predict, 64 connections, {args.duration} s, {args.workers} worker(s); shadow {shadow}")
    for label in ("off", "on"):
        line = runs[label]
        print(
            f"  shadow {label:<3}  {line['requests_per_second']:>9,.0f} requests/s"
            f"  p50 {line['p50_ms']:.1f} ms"
            f"  p99 {line['p99_ms']:.1f} ms  shadow-scored {line['shadow_records']:,.0f}"
            f"  dropped {line['shadow_dropped']:,.0f}  non-2xx {line['non_2xx']}"
        )
    print(f"  p99 with / without the shadow: {ratio:.2f}")
    write_results({"shadow": {"version": shadow, "duration": args.duration, **runs, "p99_ratio": ratio}})
    return 0


UNCERTAINTY_TARGET = 0.9  # requests/s with intervals or sets, as a share of those without


def has_uncertainty() -> bool:
    metadata = json.loads((ROOT / "models" / "metadata.json").read_text(encoding="utf-8"))
    return (metadata.get("uncertainty") or {}).get("kind", "none") != "none"


def uncertainty_comparison(args: argparse.Namespace) -> int:
    """/v1/predict at 64 connections with uncertainty off, then on, twice in turn (the machine's noise
    shared out), same server settings, same record; the ratio of the mean requests/s."""
    if not has_uncertainty():
        print("the model has no intervals or sets: train it with uncertainty on", file=sys.stderr)
        return 2
    record = {**example_record(), **({} if args.no_ids else example_ids())}
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="bench-") as temp:
        project = Path(temp) / "project"
        shutil.copytree(ROOT / "configs", project / "configs")
        shutil.copytree(ROOT / "models", project / "models")
        path = project / "configs" / "project.yaml"
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
        for label in ("off", "on", "off", "on"):
            settings["uncertainty"] = {**(settings.get("uncertainty") or {}), "enabled": label == "on"}
            path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
            with Server(project, args.workers, Path(temp) / f"server-{label}.log") as server:
                script = write_wrk_scripts(Path(temp), record, server.api_key)["/v1/predict"]
                runs[label].append(wrk(server.url + "/v1/predict", 64, args.duration, script))
    rates = {
        label: sum(run["requests_per_second"] for run in done) / len(done) for label, done in runs.items()
    }
    ratio = rates["on"] / rates["off"] if rates["off"] else float("nan")
    print(f"\n/v1/predict, 64 connections, {args.duration} s x 2 each, {args.workers} worker(s)")
    for label in ("off", "on"):
        p99 = max(run["p99_ms"] for run in runs[label])
        print(f"  intervals/sets {label:<3}  {rates[label]:>9,.0f} requests/s  worst p99 {p99:.1f} ms")
    met = ratio >= UNCERTAINTY_TARGET
    print(f"  requests/s with / without: {ratio:.2f} (target at least {UNCERTAINTY_TARGET}: {_verdict(met)})")
    write_results({"uncertainty": {"duration": args.duration, **runs, "rate_ratio": ratio, "met": met}})
    return 0


def cli(project: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    """The project's command line on `project` (a copy), as an operator runs it."""
    env = {**os.environ, "PROJECT_CONFIG": str(project / "configs" / "project.yaml")}
    command = [sys.executable, "-m", PACKAGE, *arguments]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=check)


def scraped(url: str, name: str) -> float:
    """One metric's value from /metrics (summed over its series), or 0 when it is not there."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def example_record() -> dict[str, Any]:
    """A real training record (from models/reference.parquet), as a client would send it."""
    metadata = json.loads((ROOT / "models" / "metadata.json").read_text(encoding="utf-8"))
    names = [feature["name"] for feature in metadata["features"] if not feature.get("derived")]
    import pandas as pd

    row = pd.read_parquet(ROOT / "models" / "reference.parquet", columns=names).iloc[0]
    record = {}
    for name in names:
        value = row[name]
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
            record[name] = None
        elif isinstance(value, datetime | date | pd.Timestamp):
            record[name] = value.isoformat()
        else:
            record[name] = value.item() if hasattr(value, "item") else value
    return record


def example_ids() -> dict[str, Any]:
    """A value for each configured ID column (answered back and logged, never given to the model)."""
    settings = yaml.safe_load((ROOT / "configs" / "project.yaml").read_text(encoding="utf-8"))
    return {name: f"BENCH-{index}" for index, name in enumerate(settings["data"].get("id_columns") or [])}


def in_process_rates(record: dict[str, Any], seconds: float = 3.0) -> dict[str, Any]:
    """Records per second without HTTP, on this machine: single-record predictions through the Pipeline
    with a one-row DataFrame (what a naive endpoint does) and through the API's scorer; explanations the
    way the API makes them, of 1 and of 64 records per call (SHAP's cost per record is the ceiling of
    /v1/explain)."""
    config = importlib.import_module(f"{PACKAGE}.core.config").load_config(ROOT / "configs" / "project.yaml")
    scoring = importlib.import_module(f"{PACKAGE}.serving.scoring")
    schemas = importlib.import_module(f"{PACKAGE}.serving.api.schemas")
    explain = importlib.import_module(f"{PACKAGE}.serving.explain")
    import pandas as pd
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # like the server's model thread
    trained = importlib.import_module(f"{PACKAGE}.serving.trained_model").load_trained(config)
    scorer = scoring.Scorer(trained)
    built = schemas.build_schemas(trained.input_features, trained.problem_type, trained.classes, 1)
    validated = built.records(built.predict_request.model_validate_json(json.dumps({"records": [record]})))
    frame = pd.DataFrame([record])
    predict = trained.pipeline.predict_proba if trained.is_classification else trained.pipeline.predict
    reference = pd.read_parquet(ROOT / "models" / "reference.parquet", columns=scorer.names)
    explainer = explain.build_explainer(trained.pipeline, trained.metadata, reference)
    batch = validated * 64

    def explain_records(records: list[dict[str, Any]]) -> Any:
        """What the API's explain batcher does: the fast encoder's matrix, explained."""
        if scorer.encoder is None:
            return explainer.explain(scorer.frame(records))
        return explainer.explain_matrix(scorer.encoder.transform(records))

    return {
        "predict_pipeline_dataframe_per_record": rate(lambda: predict(pd.DataFrame([record])), seconds),
        "predict_pipeline_ready_dataframe": rate(lambda: predict(frame), seconds),
        "predict_api_scorer": rate(lambda: scorer.predict_records(validated), seconds),
        "api_scorer_mode": scorer.encoder_note,
        "explain_api_path_1_record": rate(lambda: explain_records(validated), seconds),
        "explain_64_records_per_call": rate(lambda: explain_records(batch), seconds) * len(batch),
    }


def rate(call, seconds: float) -> float:
    call()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        count += 1
    return round(count / (time.perf_counter() - start), 1)


class Server:
    """`serve` on a free loopback port for the project in `root`; stopped on exit, whatever happens."""

    def __init__(self, root: Path, workers: int = 1, log_path: Path | None = None) -> None:
        self.root = root
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key: str | None = None
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="server-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        config = self.root / "configs" / "project.yaml"
        settings = yaml.safe_load(config.read_text(encoding="utf-8"))
        env = {**os.environ, "PROJECT_CONFIG": str(config)}
        if settings.get("api", {}).get("auth") == "api_key":
            self.api_key = env.setdefault("API_KEY", secrets.token_hex(16))
        command = [sys.executable, "-m", PACKAGE, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped during start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise SystemExit(f"the server was not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def post(self, path: str, payload: Any) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        body = json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, body, headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_wrk_scripts(workdir: Path, record: dict[str, Any], api_key: str | None) -> dict[str, Path]:
    """wrk sends GETs by default; a POST with a JSON body needs a small Lua script."""
    body = json.dumps({"records": [record]})
    headers = 'wrk.headers["Content-Type"] = "application/json"\n'
    if api_key:
        headers += f'wrk.headers["X-API-Key"] = "{api_key}"\n'
    scripts = {}
    for endpoint in ("/v1/predict", "/v1/explain"):
        path = workdir / f"{endpoint.strip('/').replace('/', '_')}.lua"
        path.write_text(f'wrk.method = "POST"\nwrk.body = [==[{body}]==]\n{headers}', encoding="utf-8")
        scripts[endpoint] = path
    return scripts


def wrk(url: str, connections: int, duration: int, script: Path | None) -> dict[str, Any]:
    """One measurement (after a short warm-up), one wrk thread: on a small machine wrk needs a core too."""
    command = ["wrk", "-t1", f"-c{connections}", "--latency", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    subprocess.run([*command, "-d2s", url], capture_output=True, text=True, check=True)
    output = subprocess.run(
        [*command, f"-d{duration}s", url], capture_output=True, text=True, check=True
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else None,
    }


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE).groups()
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\nAPI benchmark: wrk, 1 record per request, {args.duration} s each, {args.workers} worker(s)\n")
    row = "{:>11}  {:<12} {:>11} {:>8} {:>8} {:>10}"
    print(row.format("connections", "endpoint", "requests/s", "p50 ms", "p99 ms", "vs /health"))
    for connections, endpoints in results["http"].items():
        health = endpoints["/health"]["requests_per_second"]
        for endpoint, line in endpoints.items():
            share = line["requests_per_second"] / health if health else 0.0
            cells = (f"{line['requests_per_second']:,.0f}", f"{line['p50_ms']:.1f}", f"{line['p99_ms']:.1f}")
            flags = f"  ({line['non_2xx']} non-2xx answers!)" if line["non_2xx"] else ""
            print(row.format(connections, endpoint, *cells, f"{share:.0%}") + flags)
    at_64 = results["http"]["64"]
    health = at_64["/health"]["requests_per_second"]
    print("\nTargets at 64 connections:")
    for endpoint, target in TARGETS.items():
        if endpoint not in at_64:
            continue
        share = at_64[endpoint]["requests_per_second"] / health if health else 0.0
        print(f"  {endpoint:<12} >= {target:.0%} of /health: {share:.0%} ({_verdict(share >= target)})")
    if "/v1/predict" in at_64:
        p99 = at_64["/v1/predict"]["p99_ms"]
        verdict = _verdict(p99 <= P99_TARGET_MS)
        print(f"  /v1/predict  p99 <= {P99_TARGET_MS:.0f} ms: {p99:.1f} ms ({verdict})")
    local = results["in_process"]
    print("\nIn process, without HTTP (records/s):")
    for label, key in (
        ("predict, 1 record, Pipeline with a new DataFrame", "predict_pipeline_dataframe_per_record"),
        ("predict, 1 record, Pipeline with a ready DataFrame", "predict_pipeline_ready_dataframe"),
        ("predict, 1 record, the API's scorer", "predict_api_scorer"),
        ("explain, 1 record, the API's path", "explain_api_path_1_record"),
        ("explain, 64 records per call, the API's path", "explain_64_records_per_call"),
    ):
        print(f"  {label:<52} {local[key]:>9,.0f}")
    print(f"  (the API's scorer: {local['api_scorer_mode']})")


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
