"""How close the performance estimate comes to the truth: `make bench-estimate` (or
`uv run python scripts/bench_estimate.py [--data FILE] [--rows N]`).

`performance` estimates a classifier's gate metric from the probabilities it logged, before any outcome
comes back (monitoring/estimate.py). This benchmark measures that estimate where the truth is known: the
project's table (data.path, or --data) is split in two; a model is trained on one half in a temporary
project, with the project's own settings; live traffic is drawn from the other half, by weights that favour
high (then low) values of the model's most important feature, at several strengths (a covariate shift: who
comes changes, how the outcome follows the features does not). Each draw is scored with the model
(serving.scoring.Scorer), and the gate metric computed from the real outcomes (realized) is printed beside
the one estimated from the probabilities alone. Target: within 0.03 of each other for every shift.
Results: reports/benchmark_estimate.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = next(path.parent.name for path in (ROOT / "src").glob("*/__init__.py"))
STRENGTHS = (0.0, 0.5, 1.0, 2.0, -1.0, -2.0)  # positive: favour high values (or the commonest category)
TARGET = 0.03


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="CSV or Parquet table with the target (default: data.path)")
    parser.add_argument("--rows", type=int, default=1000, help="live rows drawn per shift (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = module("core.config").load_config(ROOT / "configs" / "project.yaml")
    if not config.is_classification:
        print("regression: no probabilities, so no estimate to measure (performance reports realized only)")
        return 0
    table = module("data.tables").load_table(Path(args.data) if args.data else config.data_path)
    table = table[table[config.data.target].notna()].reset_index(drop=True)
    train_rows = table.sample(frac=0.5, random_state=args.seed)
    live_pool = table.drop(train_rows.index).reset_index(drop=True)
    with tempfile.TemporaryDirectory(prefix="bench-estimate-") as folder:
        trained = train(Path(folder), train_rows, same_table=args.data is None)
        results = [
            measure(trained, config, live_pool, strength, args.rows, args.seed) for strength in STRENGTHS
        ]
    print_results(results, trained.metadata.feature_importance[0]["feature"])
    out = ROOT / "reports" / "benchmark_estimate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"target": TARGET, "shifts": results}, indent=2) + "\n", encoding="utf-8")
    print(f"results: {out.relative_to(ROOT)}")
    return 0 if all(abs(result["difference"]) <= TARGET for result in results) else 1


def train(folder: Path, rows: pd.DataFrame, same_table: bool) -> Any:
    """A model trained on `rows` with the project's settings (and data contract, when the rows come from
    the project's own table), in a temporary project; loaded back."""
    settings = yaml.safe_load((ROOT / "configs" / "project.yaml").read_text(encoding="utf-8"))
    data = folder / "data" / "train.csv"
    data.parent.mkdir(parents=True)
    rows.to_csv(data, index=False)
    settings["data"]["path"] = str(data)
    (folder / "configs").mkdir()
    (folder / "configs" / "project.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    schema = ROOT / "configs" / "schema.json"
    if schema.is_file() and same_table:
        (folder / "configs" / "schema.json").write_bytes(schema.read_bytes())
    temporary = module("core.config").load_config(folder / "configs" / "project.yaml")
    print(f"training on {len(rows):,} rows (half the table) ...", file=sys.stderr)
    module("training.train").run_train(temporary)
    return module("serving.trained_model").load_trained(temporary)


def shift_weights(column: pd.Series, strength: float) -> np.ndarray:
    """exp(strength × z): z the standardised value (numbers) or 1 for the commonest category (else 0)."""
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().mean() > 0.9:
        z = ((numeric - numeric.mean()) / (numeric.std() or 1.0)).fillna(0.0).clip(-3, 3).to_numpy()
    else:
        z = (column.astype(str) == column.astype(str).mode().iloc[0]).to_numpy(dtype=float)
    weights = np.exp(strength * z)
    return weights / weights.sum()


def measure(trained: Any, config: Any, pool: pd.DataFrame, strength: float, rows: int, seed: int) -> dict:
    """One shifted draw: realized and estimated gate metric."""
    metrics, estimate = module("core.metrics"), module("monitoring.estimate")
    feature = trained.metadata.feature_importance[0]["feature"]
    rng = np.random.default_rng([seed, int(abs(strength) * 100), int(strength < 0)])
    chosen = rng.choice(
        len(pool), size=min(rows, len(pool)), replace=False, p=shift_weights(pool[feature], strength)
    )
    live = pool.iloc[np.sort(chosen)].reset_index(drop=True)
    scored = module("serving.scoring").Scorer(trained, fast=False).predict_frame(live)
    classes = [str(label) for label in trained.classes]
    positive = None if trained.metadata.positive_class is None else str(trained.metadata.positive_class)
    truth = live[config.data.target].map(
        lambda value: str(int(value)) if isinstance(value, float) else str(value)
    )
    predictions = metrics.Predictions(
        truth, np.array([str(label) for label in scored.labels]), scored.probabilities, classes, positive
    )
    gate = metrics.gate_metric(config.problem_type)
    realized = gate.score(predictions)
    estimated = estimate.estimate(config.problem_type, scored.probabilities, classes, positive)[gate.name]
    return {
        "feature": feature,
        "strength": strength,
        "rows": len(live),
        "metric": gate.name,
        "realized": round(float(realized), 4),
        "estimated": round(float(estimated), 4),
        "difference": round(float(estimated - realized), 4),
    }


def print_results(results: list[dict], feature: str) -> None:
    print(f"covariate shifts on {feature!r} (the most important feature); target |difference| <= {TARGET}")
    print(f"{'strength':>9} {'rows':>6} {'realized':>9} {'estimated':>10} {'difference':>11}")
    for result in results:
        flag = "" if abs(result["difference"]) <= TARGET else "  (beyond target)"
        print(
            f"{result['strength']:>9.1f} {result['rows']:>6} {result['realized']:>9.3f} "
            f"{result['estimated']:>10.3f} {result['difference']:>+11.3f}{flag}"
        )


if __name__ == "__main__":
    sys.exit(main())
