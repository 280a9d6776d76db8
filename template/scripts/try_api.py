"""Try the API: `make api-demo` (or `uv run python scripts/try_api.py`).

Starts the real server (`serve`) on a free loopback port with the trained model, sends one prediction and
one explanation request for a record of the training data, prints the answers, and stops the server.
The requests are real ones: they appear in logs/predictions/ like any other.
"""

from __future__ import annotations

import json
import sys

from bench_api import ROOT, Server, example_record


def main() -> int:
    if not (ROOT / "models" / "metadata.json").exists():
        print("no trained model: run `make train` first", file=sys.stderr)
        return 2
    record = example_record()
    with Server(ROOT, log_path=ROOT / "logs" / "api-demo.log") as server:
        print(f"API running at {server.url} (interactive docs: {server.url}/docs)")
        print(f"\nPOST /v1/predict with one record:\n{json.dumps({'records': [record]}, indent=2)}")
        print(f"\nanswer:\n{json.dumps(server.post('/v1/predict', {'records': [record]}), indent=2)}")
        explained = server.post("/v1/explain", {"records": [record]})
        print(f"\nPOST /v1/explain, answer:\n{json.dumps(explained, indent=2)}")
    print(f"\nserver stopped; its log: {server.log_path.relative_to(ROOT)}, predictions: logs/predictions/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
