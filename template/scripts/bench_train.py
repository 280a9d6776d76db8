"""What the robustness suite costs `train`: `make bench-train` (or
`uv run python scripts/bench_train.py [--data FILE] [--repeats N]`).

Trains the project's table (data.path, or --data) with the project's own settings in temporary project
folders, once to warm up, then robustness off and on in turn (ABAB..., so that a machine busy with
something else slows both alike), and prints the median wall time of each and their ratio. Target: on at
most 1.15 times off.
Results: reports/benchmark_train.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = next(path.parent.name for path in (ROOT / "src").glob("*/__init__.py"))
TARGET = 1.15


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def train_once(settings: dict[str, Any], robustness: bool, folder: Path) -> float:
    """Wall seconds of one `train` in a fresh project folder."""
    configs = folder / "configs"
    configs.mkdir(parents=True)
    raw = {**settings, "robustness": {**(settings.get("robustness") or {}), "enabled": robustness}}
    (configs / "project.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    schema = ROOT / "configs" / "schema.json"
    if schema.is_file():
        shutil.copy(schema, configs / "schema.json")
    config = module("core.config").load_config(configs / "project.yaml")
    start = time.perf_counter()
    module("training.train").run_train(config)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="the table to train on (default: data.path)")
    parser.add_argument("--repeats", type=int, default=3, help="trainings with each setting (default 3)")
    args = parser.parse_args()
    settings = yaml.safe_load((ROOT / "configs" / "project.yaml").read_text(encoding="utf-8"))
    data = Path(args.data or settings["data"]["path"]).expanduser()
    settings["data"]["path"] = str(data if data.is_absolute() else (ROOT / data).resolve())
    seconds: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as scratch:
        # Not counted: the first run in a process pays for importing the libraries.
        print(f"warm-up: {train_once(settings, True, Path(scratch) / 'warm-up'):.2f} s", file=sys.stderr)
        for repeat in range(args.repeats):
            for name in ("off", "on"):
                folder = Path(scratch) / f"{name}-{repeat}"
                seconds[name].append(train_once(settings, name == "on", folder))
                print(f"robustness {name:>3}: {seconds[name][-1]:.2f} s", file=sys.stderr, flush=True)
    off, on = statistics.median(seconds["off"]), statistics.median(seconds["on"])
    ratio = on / off
    result = {
        "data": settings["data"]["path"],
        "repeats": args.repeats,
        "seconds": seconds,
        "median_off": round(off, 3),
        "median_on": round(on, 3),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "met": ratio <= TARGET,
    }
    out = ROOT / "reports" / "benchmark_train.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"train: {off:.2f} s without the robustness suite, {on:.2f} s with it: {ratio:.2f}x")
    print(f"target: at most {TARGET}x; {'met' if result['met'] else 'NOT met'}")
    print(f"written: {out.relative_to(ROOT)}")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
