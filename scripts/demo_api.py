"""The API part of `make demo`: start the demo project's server, ask it for a prediction and an explanation
of one row of its sample data, print both, then stop the server.

    python scripts/demo_api.py build/demo

It runs in the template's dev environment (for PyYAML); the server runs in the project's own environment.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

READY_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_record(project: Path) -> dict:
    """One row of the project's data, reduced to the feature columns of its data contract, typed."""
    schema = json.loads((project / "configs" / "schema.json").read_text(encoding="utf-8"))
    features = {c["name"]: c for c in schema["columns"] if c["role"] == "feature" and not c.get("derived")}
    config = yaml.safe_load((project / "configs" / "project.yaml").read_text(encoding="utf-8"))
    data_path = project / config["data"]["path"]
    with data_path.open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    record = {}
    for name, column in features.items():
        value = row.get(name, "")
        if value == "":
            record[name] = None
        elif column["kind"] == "numeric":
            record[name] = float(value)
        else:
            record[name] = value
    return record


def call(url: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-API-Key": key}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (urllib.error.URLError, ConnectionError):
        return 0, {}


def main(project: Path) -> int:
    slug = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))["project_slug"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key = secrets.token_urlsafe(16)
    env = {**os.environ, "API_KEY": key}
    command = [str(project / ".venv" / "bin" / slug), "serve", "--host", "127.0.0.1", "--port", str(port)]
    print(f"Starting the API: {' '.join(command[-5:])} (API_KEY set for this run)")
    server = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while call(f"{base}/ready", key)[0] != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                print(server.stderr.read().decode() if server.poll() is not None else "", file=sys.stderr)
                print("error: the API did not become ready", file=sys.stderr)
                return 1
            time.sleep(0.3)
        record = first_record(project)
        print(f"API running at {base} (docs: {base}/docs)")
        print("\nPOST /v1/predict with one record of the sample data:")
        print(json.dumps(call(f"{base}/v1/predict", key, {"records": [record]})[1], indent=2))
        print("\nPOST /v1/explain with the same record:")
        print(json.dumps(call(f"{base}/v1/explain", key, {"records": [record]})[1], indent=2))
        return 0
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        print("\nAPI stopped.")


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo")))
