"""Try the drift monitor: `make drift-demo` (or `uv run python scripts/try_drift.py [--rows N]`).

Starts the real server (`serve`) with the trained model, sends a batch of records from the training
reference with a visible shift (numeric features moved up by one standard deviation, categorical ones
moved to their rarest value), stops the server, then runs `drift` on the prediction log for the time
since the batch began, and prints the verdict and where the report is. The requests are real ones: they
stay in logs/predictions/ like any other traffic.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from bench_api import PACKAGE, ROOT, Server

BATCH = 100


def shifted_records(rows: int) -> list[dict[str, Any]]:
    metadata = json.loads((ROOT / "models" / "metadata.json").read_text(encoding="utf-8"))
    features = [feature for feature in metadata["features"] if not feature.get("derived")]
    reference = pd.read_parquet(ROOT / "models" / "reference.parquet")
    frame = reference.sample(rows, replace=True, random_state=7).reset_index(drop=True)
    for feature in features:
        name = feature["name"]
        if feature["kind"] == "numeric":
            frame[name] = frame[name] + reference[name].std()
        elif feature["kind"] == "categorical" and reference[name].notna().any():
            frame[name] = reference[name].value_counts().index[-1]
    names = [feature["name"] for feature in features]
    return [
        {name: _plain(value) for name, value in zip(names, row, strict=True)}
        for row in frame[names].itertuples(index=False)
    ]


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def main() -> int:
    rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 1000
    if not (ROOT / "models" / "metadata.json").exists():
        print("no trained model: run `make train` first", file=sys.stderr)
        return 2
    records = shifted_records(rows)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with Server(ROOT, log_path=ROOT / "logs" / "drift-demo.log") as server:
        print(f"API running at {server.url}: sending {rows:,} shifted records in requests of {BATCH}")
        for first in range(0, len(records), BATCH):
            server.post("/v1/predict", {"records": records[first : first + BATCH]})
    print("server stopped; running `drift` on the prediction log since", started, flush=True)
    command = [sys.executable, "-m", PACKAGE, "drift", "--since", started]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    sys.stdout.flush()  # (the progress lines of `drift` go to stderr: keep the order on a terminal)
    print(result.stderr.rstrip(), file=sys.stderr, flush=True)
    print(result.stdout.rstrip())
    if result.returncode not in (0, 1):
        return result.returncode
    summary = json.loads((ROOT / "reports" / "drift" / "drift.json").read_text(encoding="utf-8"))
    fired = ", ".join(summary["fired_rules"])
    verdict = f"ALARM (rules fired: {fired})" if summary["alarm"] else "no alarm"
    print(f"\nverdict: {verdict} (exit code {result.returncode}; the scheduled CI job fails on an alarm)")
    print("report:  reports/drift/drift.html (summary: reports/drift/drift.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
