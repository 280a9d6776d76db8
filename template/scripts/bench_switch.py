"""Model switches under load: `make bench-switch` (or `uv run python scripts/bench_switch.py [--seconds S]`).

Starts the real server (`serve`) with the current model, drives /v1/predict from 64 concurrent keep-alive
connections (one record per request), and meanwhile switches models through the command line five times
each way: `models promote <other version>`, then `models rollback`. Prints the requests sent, the answers
that were not 2xx (there must be none), p50/p99 latency over the whole run and within 2 s after each
switch, and the seconds from each command's return until the answers carry the new version. The results
are also written to reports/benchmark_switch.json.

It trains nothing itself, except once: with a single stored version it runs `train --shadow` to store a
second one (the current model is left as it is). The server and the switches run on a temporary copy of
configs/ and models/, so that neither the load nor the switches touch this project's log or pointer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import PACKAGE, ROOT, Server, cli, example_ids, example_record  # noqa: E402

CONNECTIONS = 64
SWITCHES = 5  # promotions, each followed by a rollback
AFTER_SWITCH_SECONDS = 2.0
TRANSPORT_FAILURES: dict[str, int] = {}  # requests that got no HTTP answer (timeouts, refused connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds between switches (default 3)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    args = parser.parse_args()
    pointer_path = ROOT / "models" / "current.json"
    if not pointer_path.is_file():
        print("no stored model version: run `make train` first", file=sys.stderr)
        return 2
    if len(stored_versions()) < 2:
        print("one stored version: training a second one as the shadow (`train --shadow`)")
        subprocess.run([sys.executable, "-m", PACKAGE, "train", "--shadow"], cwd=ROOT, check=True)
    current = json.loads(pointer_path.read_text(encoding="utf-8"))["current"]
    other = [version for version in stored_versions() if version != current][-1]
    body = {"records": [{**example_record(), **example_ids()}]}
    with tempfile.TemporaryDirectory(prefix="bench-switch-") as temp:
        project = Path(temp) / "project"
        shutil.copytree(ROOT / "configs", project / "configs")
        shutil.copytree(ROOT / "models", project / "models")
        with Server(project, args.workers, Path(temp) / "server.log") as server:
            headers = {"X-API-Key": server.api_key} if server.api_key else {}
            answers: list[tuple[float, float, int, str | None]] = []
            stop = threading.Event()
            load = threading.Thread(
                target=lambda: answers.extend(asyncio.run(drive(server.url, body, headers, stop)))
            )
            load.start()
            try:
                switches = switch_models(project, current, other, args.seconds)
            finally:
                stop.set()  # the load runs until the last switch has had its `--seconds`
                load.join()
    results = summarise(answers, switches, args)
    out = ROOT / "reports" / "benchmark_switch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0 if results["non_2xx"] == 0 else 1


def stored_versions() -> list[str]:
    folder = ROOT / "models" / "versions"
    return sorted(path.name for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []


async def drive(
    url: str, body: dict[str, Any], headers: dict[str, str], stop: threading.Event
) -> list[tuple[float, float, int, str | None]]:
    """(sent, answered, status, model_version) of every request of CONNECTIONS clients until `stop`.

    Each client is one keep-alive connection speaking plain HTTP/1.1 over asyncio streams: an HTTP library
    would cost the load generator more CPU than the server spends on an answer, and on a machine of a few
    cores the numbers would then measure the client."""
    answers: list[tuple[float, float, int, str | None]] = []
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST /v1/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload

    async def one_client() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    writer.write(request)
                    status, answer = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    kind = type(error).__name__  # no HTTP answer: counted apart, by kind
                    TRANSPORT_FAILURES[kind] = TRANSPORT_FAILURES.get(kind, 0) + 1
                    answers.append((sent, time.monotonic(), 0, None))
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                    continue
                version = json.loads(answer).get("model_version") if status < 300 else None
                answers.append((sent, time.monotonic(), status, version))
        finally:
            writer.close()

    await asyncio.gather(*(one_client() for _ in range(CONNECTIONS)))
    return answers


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    return status, await reader.readexactly(length)


def switch_models(project: Path, current: str, other: str, gap: float) -> list[dict[str, Any]]:
    """Promote `other`, roll back, SWITCHES times, `gap` seconds apart: (version, when the command
    returned) of each switch."""
    switches = []
    time.sleep(gap)
    for _ in range(SWITCHES):
        for arguments, version in ((("models", "promote", other), other), (("models", "rollback"), current)):
            began = time.monotonic()
            cli(project, *arguments)
            switches.append({"version": version, "began": began, "returned": time.monotonic()})
            time.sleep(gap)
    return switches


def summarise(
    answers: list[tuple[float, float, int, str | None]], switches: list[dict[str, Any]], args: Any
) -> dict[str, Any]:
    latencies = [(answered - sent) * 1000 for sent, answered, _, _ in answers]
    rows = []
    for switch in switches:
        returned = switch["returned"]
        near = [
            (answered - sent) * 1000
            for sent, answered, _, _ in answers
            if returned <= sent <= returned + AFTER_SWITCH_SECONDS
        ]
        carried = [
            answered
            for sent, answered, _, version in answers
            if sent >= returned and version == switch["version"]
        ]
        rows.append(
            {
                "to": switch["version"],
                "command_seconds": round(returned - switch["began"], 3),
                "seconds_until_answers_carry_it": round(min(carried) - returned, 3) if carried else None,
                "p50_ms_within_2s": percentile(near, 50),
                "p99_ms_within_2s": percentile(near, 99),
            }
        )
    results = {
        "connections": CONNECTIONS,
        "workers": args.workers,
        "requests": len(answers),
        "non_2xx": sum(1 for _, _, status, _ in answers if not 200 <= status < 300),
        "statuses": {
            str(status): sum(1 for _, _, code, _ in answers if code == status)
            for status in sorted({status for _, _, status, _ in answers})
        },
        "no_answer": dict(TRANSPORT_FAILURES),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "switches": rows,
    }
    report(results)
    return results


def percentile(values: list[float], q: int) -> float | None:
    if len(values) < 2:
        return round(values[0], 2) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def report(results: dict[str, Any]) -> None:
    print(
        f"\n{results['requests']:,} requests from {results['connections']} connections, "
        f"{results['workers']} worker(s): {results['non_2xx']} not 2xx; "
        f"p50 {results['p50_ms']} ms, p99 {results['p99_ms']} ms"
    )
    print(f"answers by status: {results['statuses']}; requests with no answer: {results['no_answer'] or 0}")
    print(f"{'switch to':<28} {'command s':>9} {'until answered s':>16} {'p50 ms 2s':>10} {'p99 ms 2s':>10}")
    for row in results["switches"]:
        print(
            f"{row['to']:<28} {row['command_seconds']:>9} {str(row['seconds_until_answers_carry_it']):>16} "
            f"{str(row['p50_ms_within_2s']):>10} {str(row['p99_ms_within_2s']):>10}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
