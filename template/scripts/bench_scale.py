"""Benchmark at scale: `make bench-scale` (or `uv run python scripts/bench_scale.py [--sizes 100k,1M,10M]`).

Builds tables shaped like this project's data file at each size (its rows drawn again with a seed, numbers
jittered by 5% of their spread, identifiers made unique), as CSV and as a folder of Parquet files, in a
temporary project beside this one (same settings and data contract; this project's models/ and reports/
are never touched). Then, size by size, each command runs as a child process beside its hand-written peer
(scripts/scale_peer.py, plain pandas and scikit-learn):

    audit    `audit` (exact counts streamed, a sample for the rest)   vs  the whole table in pandas
    train    `train` (sizes up to --train-max)  vs  the same estimator, hyperparameters and folds by hand,
             and vs HistGradientBoosting at its default settings (5 folds and a final fit)
    predict  `predict` with one worker on one thread (the rate of one core) and with the default workers
             vs  read all + pipeline.predict
    drift    `drift --current` on the Parquet folder  vs  read all + Evidently's preset on 20,000 rows

Printed per run: wall and CPU seconds (of the command and the processes it waits for: not the workers of a
fork server), peak memory of the whole process tree (proportional set size: library pages its processes
share are counted once), rows per second, and the ratio to the peer.
Targets: train within 1.3x of its peer and 2x of the default boosting; predict peak under 1 GiB and at
least 70% of cores x the rate of one worker on one thread; audit under 2 GiB.
Results: reports/benchmark_scale.json.
The whole default run takes a while (tens of minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = next(path.parent.name for path in (ROOT / "src").glob("*/__init__.py"))
PEER = Path(__file__).resolve().with_name("scale_peer.py")
CHUNK_ROWS = 500_000  # rows generated and written at a time: building 10M rows stays in bounded memory
PARQUET_FILE_ROWS = 1_000_000
GIB = 1024**3
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
TARGETS = {
    "train_vs_peer": 1.3,
    "train_vs_default": 2.0,
    "predict_bytes": GIB,
    "predict_efficiency": 0.7,
    "audit_bytes": 2 * GIB,
}


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise SystemExit(f"error: size {text!r}; use a number such as 5000, 100k or 1M")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


# --- tables -----------------------------------------------------------------------------------------------


def identifier_columns(project: Path, frame: pd.DataFrame) -> list[str]:
    schema_path = project / "configs" / "schema.json"
    if not schema_path.is_file():
        return []
    schema = json.loads(schema_path.read_text())
    return [c["name"] for c in schema["columns"] if c.get("role") == "id" and c["name"] in frame.columns]


def grow(seed_frame: pd.DataFrame, rows: int, start: int, ids: list[str], keep: set[str], rng):
    """`rows` rows drawn from the seed table, numbers jittered (not the `keep` columns: the target),
    identifiers unique from `start`."""
    frame = seed_frame.iloc[rng.integers(0, len(seed_frame), rows)].reset_index(drop=True)
    for name in frame.columns:
        column = frame[name]
        if name in keep:
            continue
        if name in ids:
            frame[name] = [f"{name[:3].upper()}-{start + i:09d}" for i in range(rows)]
        elif pd.api.types.is_float_dtype(column) or pd.api.types.is_integer_dtype(column):
            spread = float(seed_frame[name].std() or 0.0)
            noisy = column + rng.normal(0, 0.05 * spread, rows)
            whole = pd.api.types.is_integer_dtype(column) or bool((seed_frame[name].dropna() % 1 == 0).all())
            frame[name] = noisy.round() if whole else noisy.round(4)
    return frame


def build_tables(project: Path, source: Path, target: str, rows: int, folder: Path) -> tuple[Path, Path]:
    """The CSV table and the Parquet folder of `rows` rows (written in chunks)."""
    seed_frame = pd.read_csv(source) if source.suffix == ".csv" else pd.read_parquet(source)
    ids = identifier_columns(project, seed_frame)
    csv_path, parquet_dir = folder / f"table_{rows}.csv", folder / f"table_{rows}_parquet"
    parquet_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    done, parquet_buffer, part = 0, [], 0
    started = time.perf_counter()
    while done < rows:
        size = min(CHUNK_ROWS, rows - done)
        chunk = grow(seed_frame, size, done, ids, {target}, rng)
        chunk.to_csv(csv_path, mode="a" if done else "w", header=not done, index=False)
        parquet_buffer.append(chunk)
        if sum(map(len, parquet_buffer)) >= PARQUET_FILE_ROWS or done + size == rows:
            pd.concat(parquet_buffer).to_parquet(parquet_dir / f"part-{part:04d}.parquet", index=False)
            parquet_buffer, part = [], part + 1
        done += size
        print(f"  table of {rows:,} rows: {done:,} written", end="\r", flush=True)
    print(f"  table of {rows:,} rows: written in {time.perf_counter() - started:.0f} s ({csv_path})")
    return csv_path, parquet_dir


# --- running and measuring ---------------------------------------------------------------------------------


def tree_memory(pid: int) -> int:
    """Memory of a process and all its descendants (Linux /proc), in bytes: the sum of their proportional
    set sizes (PSS: pages shared between worker processes, such as the libraries they all load, counted
    once in all rather than once per process), or of their resident sizes where PSS cannot be read. 0
    elsewhere."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in family]
        family.update(children)
        frontier += children
    return sum(_process_memory(member) for member in family)


def _process_memory(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def measure(
    command: list[str], cwd: Path, rows: int, label: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run a command as a child process (`env`: variables set for it): wall and CPU time, peak memory of
    its whole process tree."""
    print(f"… {label}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_memory(process.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output: dict[str, bytes] = {}
    # The pipes are drained by threads (a full pipe would block the child); the child is reaped by wait4
    # below, which gives its resource usage (communicate() would reap it first).
    readers = [
        threading.Thread(target=lambda name=name, pipe=pipe: output.update({name: pipe.read()}))
        for name, pipe in (("out", process.stdout), ("err", process.stderr))
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait for it again
    stop.set()
    for reader in (*readers, sampler):
        reader.join()
    code = os.waitstatus_to_exitcode(status)
    # The sampled tree (PSS), and never less than the largest single process's own peak (wait4).
    peak_bytes = max(peak[0], usage.ru_maxrss * 1024)
    result = {
        "label": label,
        "rows": rows,
        "exit_code": code,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_bytes": peak_bytes,
        "rows_per_second": round(rows / wall) if wall else None,
    }
    print(
        f"  {wall:8.1f} s wall {result['cpu_seconds']:8.1f} s CPU {peak_bytes / GIB:6.2f} GiB peak "
        f"{result['rows_per_second'] or 0:>12,} rows/s  exit {code}",
        flush=True,
    )
    if code != 0:
        tail = (output.get("err") or b"").decode(errors="replace").strip().splitlines()[-5:]
        print("    " + "\n    ".join(tail), flush=True)
    return result


class Bench:
    """The temporary project the commands run in, and how each command and peer is started."""

    def __init__(self, project: Path, workdir: Path) -> None:
        self.project, self.root = project, workdir / "project"
        (self.root / "configs").mkdir(parents=True)
        self.config = yaml.safe_load((project / "configs" / "project.yaml").read_text())
        for name in ("schema.json",):
            if (project / "configs" / name).is_file():
                shutil.copy(project / "configs" / name, self.root / "configs" / name)
        self.config_path = self.root / "configs" / "project.yaml"
        source = Path(self.config["data"]["path"])
        self.source = source if source.is_absolute() else project / source

    def use_table(self, table: Path) -> None:
        self.config["data"]["path"] = str(table)
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", PACKAGE, "--config", str(self.config_path), *args]

    def peer(self, step: str, table: Path, output: Path | None = None) -> list[str]:
        command = [sys.executable, str(PEER), step, "--config", str(self.config_path), "--table", str(table)]
        return command + (["--output", str(output)] if output else [])


def run_size(bench: Bench, rows: int, train_max: int, steps: list[str], workdir: Path) -> list[dict]:
    """Every step at one size, each run beside its peer."""
    csv_path, parquet_dir = build_tables(
        bench.project, bench.source, bench.config["data"]["target"], rows, workdir
    )
    bench.use_table(csv_path)
    runs: list[dict[str, Any]] = []

    def run(step: str, who: str, command: list[str], env: dict[str, str] | None = None) -> None:
        result = measure(command, bench.root, rows, f"{step} at {rows:,} rows: {who}", env)
        # `drift` exits 1 when it raises the alarm: a finished run all the same.
        finished = result["exit_code"] in ((0, 1) if step == "drift" and who == "template" else (0,))
        runs.append({**result, "size": rows, "step": step, "runner": who, "ok": finished})

    if "audit" in steps:
        run("audit", "template", bench.cli("audit"))
        run("audit", "peer", bench.peer("audit", csv_path))
    if "train" in steps and rows <= train_max:
        run("train", "template", bench.cli("train"))
        run("train", "peer", bench.peer("train", csv_path))
        run("train", "peer-default", bench.peer("train-default", csv_path))
    if not (bench.root / "models" / "model.skops").is_file():
        return runs  # predict and drift need a model: a train at a smaller size gives one
    if "predict" in steps:
        out = workdir / "scored.parquet"
        # The rate of one core: one process left to its native threads already takes more than one.
        run(
            "predict",
            "template-1-worker",
            bench.cli("predict", "--input", str(csv_path), "--output", str(out), "--workers", "1"),
            ONE_THREAD,
        )
        run("predict", "template", bench.cli("predict", "--input", str(csv_path), "--output", str(out)))
        run("predict", "peer", bench.peer("predict", csv_path, out))
    if "drift" in steps:
        html = workdir / "peer_drift.html"
        run("drift", "template", bench.cli("drift", "--current", str(parquet_dir)))
        run("drift", "peer", bench.peer("drift", parquet_dir, html))
    csv_path.unlink()
    shutil.rmtree(parquet_dir)
    return runs


# --- verdicts ----------------------------------------------------------------------------------------------


def checks(runs: list[dict], cores: int) -> list[dict[str, Any]]:
    """The targets, size by size: measured value, target, met or not."""
    found: list[dict[str, Any]] = []
    for size in sorted({run["size"] for run in runs}):
        found += size_checks(
            {(run["step"], run["runner"]): run for run in runs if run["size"] == size}, cores
        )
    return found


def size_checks(by: dict[tuple[str, str], dict], cores: int) -> list[dict[str, Any]]:
    found = []

    def ok(*keys: tuple[str, str]) -> list[dict] | None:
        chosen = [by.get(key) for key in keys]
        return chosen if all(run and run["ok"] for run in chosen) else None

    def add(run: dict, name: str, value: float, target: float, higher_is_better: bool = False) -> None:
        met = value >= target if higher_is_better else value <= target
        found.append(
            {"size": run["size"], "check": name, "value": round(value, 3), "target": target, "met": met}
        )

    if pair := ok(("train", "template"), ("train", "peer")):
        template, peer = pair
        ratio = template["wall_seconds"] / peer["wall_seconds"]
        add(template, "train wall / hand-written peer", ratio, TARGETS["train_vs_peer"])
    if pair := ok(("train", "template"), ("train", "peer-default")):
        template, default = pair
        ratio = template["wall_seconds"] / default["wall_seconds"]
        add(template, "train wall / default HistGradientBoosting", ratio, TARGETS["train_vs_default"])
    if pair := ok(("predict", "template-1-worker"), ("predict", "template")):
        one, many = pair
        add(many, "predict peak memory (GiB)", many["peak_rss_bytes"] / GIB, TARGETS["predict_bytes"] / GIB)
        efficiency = many["rows_per_second"] / (cores * one["rows_per_second"])
        add(
            many,
            f"predict rows/s / ({cores} cores x one worker on one thread)",
            efficiency,
            TARGETS["predict_efficiency"],
            True,
        )
    if pair := ok(("audit", "template")):
        audit = pair[0]
        add(audit, "audit peak memory (GiB)", audit["peak_rss_bytes"] / GIB, TARGETS["audit_bytes"] / GIB)
    return found


def print_table(runs: list[dict], found: list[dict]) -> None:
    peers = {(run["size"], run["step"]): run for run in runs if run["runner"] == "peer"}
    print(
        f"\n{'size':>11} {'step':8} {'runner':18} {'wall s':>8} {'CPU s':>8} {'peak GiB':>9} "
        f"{'rows/s':>11} {'x peer':>7}"
    )
    for run in runs:
        peer = peers.get((run["size"], run["step"]))
        ratio = f"{run['wall_seconds'] / peer['wall_seconds']:.2f}" if peer and peer["wall_seconds"] else ""
        failed = "" if run["ok"] else f"  failed: exit {run['exit_code']}"
        print(
            f"{run['size']:>11,} {run['step']:8} {run['runner']:18} {run['wall_seconds']:8.1f} "
            f"{run['cpu_seconds']:8.1f} {run['peak_rss_bytes'] / GIB:9.2f} "
            f"{run['rows_per_second'] or 0:>11,} {ratio:>7}{failed}"
        )
    print()
    for item in found:
        verdict = "met" if item["met"] else "MISSED"
        print(f"{item['size']:>11,} {item['check']}: {item['value']} (target {item['target']}): {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100k,1M,10M", help="table sizes (default 100k,1M,10M)")
    parser.add_argument("--train-max", default="1M", help="largest size trained on (default 1M)")
    parser.add_argument("--steps", default="audit,train,predict,drift", help="which commands to measure")
    parser.add_argument(
        "--project",
        type=Path,
        default=ROOT,
        help="project whose settings and data file to use (default: this one)",
    )
    parser.add_argument("--output", type=Path, help="default: reports/benchmark_scale.json of the project")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary project (its path is printed)"
    )
    args = parser.parse_args()
    sizes = sorted(parse_size(size) for size in args.sizes.split(","))
    steps = [step.strip() for step in args.steps.split(",") if step.strip()]
    unknown = set(steps) - {"audit", "train", "predict", "drift"}
    if unknown:
        raise SystemExit(
            f"error: unknown step(s) {', '.join(sorted(unknown))}; use audit, train, predict, drift"
        )
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    cores = os.cpu_count() or 1
    runs: list[dict] = []
    try:
        bench = Bench(args.project.resolve(), workdir)
        for rows in sizes:
            runs += run_size(bench, rows, parse_size(args.train_max), steps, workdir)
    finally:
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    found = checks(runs, cores)
    print_table(runs, found)
    output = args.output or args.project / "reports" / "benchmark_scale.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "cores": cores,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
    }
    payload = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "sizes": sizes,
        "runs": runs,
        "checks": found,
    }
    output.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwritten: {output}")
    failed = [run for run in runs if not run["ok"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
