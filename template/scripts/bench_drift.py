"""Benchmark of the drift monitor: `make bench-drift` (or `uv run python scripts/bench_drift.py [--rows N]`).

Builds a temporary project beside this one: a training reference of 5,000 rows × 20 features (12 numeric,
8 categorical) with a binary model's outputs, and a prediction log of `--rows` live entries (default
1,000,000) in the API's format, split into files as the API rotates them. Two scenarios: `stable` (live rows
drawn from the reference distribution) and `shifted` (three numeric columns, two categorical mixes and the
predicted probability changed, one of them only moderately). For each, the real `drift` command runs as a
child process, as configured (sampled), then with `--sample-rows 0` (every row: Evidently on the full
data). Printed: wall time and peak memory of each run, and whether the per-column verdicts agree.
Targets on a 2-core machine: sampled run ≤ 15 s and ≤ 2 GiB. Results: reports/benchmark_drift.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = next(path.parent.name for path in (ROOT / "src").glob("*/__init__.py"))
NUMERIC = [f"num_{i:02d}" for i in range(12)]
CATEGORICAL = [f"cat_{i:02d}" for i in range(8)]
REFERENCE_ROWS = 5_000
FILE_ROWS = 80_000  # about what the API writes before it begins a new file (50 MB)
TARGET_SECONDS, TARGET_BYTES = 15.0, 2 * 1024**3
# What `shifted` changes, and by how much (numeric: in reference standard deviations).
SHIFTS = {"num_00": 0.5, "num_01": 0.25, "num_02": 0.15}
CATEGORY_MIX = {"cat_00": 0.5, "cat_01": 0.3}  # share of rows moved to the first category


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="live rows in the log (default 1,000,000)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary project (its path is printed)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    results: dict[str, Any] = {
        "rows": args.rows,
        "features": len(NUMERIC) + len(CATEGORICAL),
        "scenarios": {},
    }
    try:
        project = make_project(workdir / "project")
        for scenario in ("stable", "shifted"):
            write_log(project, args.rows, shifted=scenario == "shifted", seed=11)
            sampled = run_drift(project, [])
            full = run_drift(project, ["--sample-rows", "0"])
            results["scenarios"][scenario] = {
                "sampled": sampled,
                "unsampled": full,
                "agreement": dataset_agreement(sampled, full),
            }
            report_scenario(scenario, results["scenarios"][scenario])
    finally:
        if args.keep:
            print(f"temporary project kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    out = ROOT / "reports" / "benchmark_drift.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    met = all(
        run["sampled"]["seconds"] <= TARGET_SECONDS
        and run["sampled"]["peak_rss_bytes"] <= TARGET_BYTES
        and run["agreement"]["agree"]
        for run in results["scenarios"].values()
    )
    print(f"\n{'all targets met' if met else 'TARGETS MISSED'}; written to {out.relative_to(ROOT)}")
    return 0 if met else 1


def reference_frame(rows: int, seed: int, shifted: bool = False) -> pd.DataFrame:
    """Client-like columns: skewed, integer and bounded numbers; categories of uneven frequency."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for index, name in enumerate(NUMERIC):
        kind = index % 3
        if kind == 0:
            values, spread = rng.normal(50 + index, 10, rows), 10.0
        elif kind == 1:
            values, spread = rng.lognormal(3, 0.6, rows), float(np.exp(3.18) * np.sqrt(np.exp(0.36) - 1))
        else:
            values, spread = rng.poisson(4 + index, rows).astype(float), float(np.sqrt(4 + index))
        if shifted and name in SHIFTS:
            values = values + SHIFTS[name] * spread
        data[name] = values.round(3)
    for index, name in enumerate(CATEGORICAL):
        labels = [f"{name}_v{k}" for k in range(3 + index)]
        weights = np.arange(len(labels), 0, -1, dtype=float)
        values = rng.choice(labels, rows, p=weights / weights.sum()).astype(object)
        if shifted and name in CATEGORY_MIX:
            values[rng.random(rows) < CATEGORY_MIX[name]] = labels[-1]
        data[name] = values
    frame = pd.DataFrame(data)
    score = (frame["num_00"] - 50) / 10 + (frame["cat_00"] == "cat_00_v2") * 1.5 + rng.normal(0, 1, rows)
    frame["prediction_probability"] = (1 / (1 + np.exp(-score))).round(6)
    frame["prediction"] = (frame["prediction_probability"] >= 0.5).astype(int)
    return frame


def make_project(root: Path) -> Path:
    """A project folder with this project's configs/ and a reference and metadata for the 20 features (no
    model file is needed: the log holds the predictions)."""
    (root / "models").mkdir(parents=True)
    shutil.copytree(ROOT / "configs", root / "configs")
    reference = reference_frame(REFERENCE_ROWS, seed=1)
    reference.to_parquet(root / "models" / "reference.parquet", index=False)
    features = [{"name": name, "kind": "numeric"} for name in NUMERIC]
    features += [{"name": name, "kind": "categorical"} for name in CATEGORICAL]
    metadata = {
        "model_version": "bench",
        "problem_type": "binary",
        "model_sha256": "0" * 64,
        "features": features,
        "reference": {
            "file": "reference.parquet",
            "rows": REFERENCE_ROWS,
            "prediction_column": "prediction",
            "probability_column": "prediction_probability",
        },
    }
    (root / "models" / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    settings = yaml.safe_load((root / "configs" / "project.yaml").read_text(encoding="utf-8"))
    settings["project"]["name"] = "drift benchmark"
    (root / "configs" / "project.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return root


def write_log(project: Path, rows: int, shifted: bool, seed: int) -> None:
    """The prediction log of `rows` entries in the API's line format, one file per FILE_ROWS entries."""
    directory = project / "logs" / "predictions"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    moment = pd.Timestamp("2025-06-02T00:00:00Z")
    for number, first in enumerate(range(0, rows, FILE_ROWS)):
        count = min(FILE_ROWS, rows - first)
        frame = reference_frame(count, seed=seed + number, shifted=shifted)
        stamps = (moment + pd.to_timedelta(np.arange(first, first + count), unit="s")).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        inputs = frame[NUMERIC + CATEGORICAL].to_json(orient="records", lines=True).splitlines()
        # The API's line format (artifacts/log_line.py), assembled as text: json.dumps per line would take
        # longer than the drift check itself.
        lines = [
            '{"timestamp": "' + stamp + f'", "request_id": "bench-{first + i}", "model_version": "bench", '
            f'"inputs": {record}, "prediction": {label}, "prediction_probability": {probability}' + "}\n"
            for i, (stamp, record, label, probability) in enumerate(
                zip(stamps, inputs, frame["prediction"], frame["prediction_probability"], strict=True)
            )
        ]
        name = f"{stamps[0].replace(':', '')}-{1000 + number}.jsonl"
        (directory / name).write_text("".join(lines), encoding="utf-8")
    size = sum(path.stat().st_size for path in directory.iterdir())
    print(
        f"log written: {rows:,} entries, {size / 1e6:,.0f} MB in {len(list(directory.iterdir()))} files "
        f"({time.perf_counter() - started:.1f} s; {'shifted' if shifted else 'stable'})",
        flush=True,
    )


def run_drift(project: Path, extra: list[str]) -> dict[str, Any]:
    """The real command in a child process: its wall time, its own peak memory (wait4), its verdicts."""
    env = {**os.environ, "PROJECT_CONFIG": str(project / "configs" / "project.yaml")}
    command = [sys.executable, "-m", PACKAGE, "drift", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"drift failed ({code}):\n{stderr}")
    summary = json.loads((project / "reports" / "drift" / "drift.json").read_text(encoding="utf-8"))
    return {
        "command": " ".join(["drift", *extra]),
        "exit_code": code,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # Linux reports KiB
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work on the machine stretches wall time
        "rows_used": summary["rows"]["current_used"],
        "dataset_drift": summary["dataset_drift"],
        "alarm": summary["alarm"],
        "fired_rules": summary["fired_rules"],
        "columns": {
            name: {"score": c["score"], "drifted": c["drifted"]} for name, c in summary["columns"].items()
        },
        "stdout": stdout.strip(),
        "steps": [line.strip() for line in stderr.splitlines() if line.strip()],
    }


def agreement(sampled: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    differ = [name for name in full if sampled[name]["drifted"] != full[name]["drifted"]]
    gap = max(abs(sampled[name]["score"] - full[name]["score"]) for name in full)
    return {"agree": not differ, "differing_columns": differ, "max_score_difference": round(gap, 5)}


def dataset_agreement(sampled: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    result = agreement(sampled["columns"], full["columns"])
    same_verdict = sampled["dataset_drift"] == full["dataset_drift"]
    same_alarm = sampled["fired_rules"] == full["fired_rules"]
    return {
        **result,
        "agree": result["agree"] and same_verdict and same_alarm,
        "dataset_verdicts_agree": same_verdict,
        "alarms_agree": same_alarm,
    }


def report_scenario(name: str, result: dict[str, Any]) -> None:
    print(f"\nscenario {name}:")
    for label in ("sampled", "unsampled"):
        run = result[label]
        ok = run["seconds"] <= TARGET_SECONDS and run["peak_rss_bytes"] <= TARGET_BYTES
        target = (
            f"  [target ≤ {TARGET_SECONDS:.0f} s, ≤ 2 GiB: {'met' if ok else 'MISSED'}]"
            if label == "sampled"
            else ""
        )
        print(
            f"  {label:9} {run['rows_used']:>9,} rows  {run['seconds']:6.1f} s "
            f"({run['cpu_seconds']:.1f} s CPU, load {run['load_average_1min']:.1f})  "
            f"{run['peak_rss_bytes'] / 1024**3:5.2f} GiB peak  exit {run['exit_code']}{target}"
        )
    drifted = [column for column, value in result["unsampled"]["columns"].items() if value["drifted"]]
    agree = result["agreement"]
    verdicts = "agree" if agree["agree"] else "DIFFER: " + ", ".join(agree["differing_columns"])
    print(f"  drifted columns (unsampled): {', '.join(drifted) or 'none'}")
    print(f"  per-column verdicts {verdicts} (largest score difference {agree['max_score_difference']})")


if __name__ == "__main__":
    raise SystemExit(main())
