"""Synthetic drift scenarios, run on rendered and trained projects in one process, so that Evidently is
imported once: `python drift_scenarios.py PROJECT_ROOT...` (each project's `src/` is put on the path).
Prints one JSON object: the results per project root.

Live rows are drawn from the project's training reference (models/reference.parquet: the sample data with
the model's out-of-fold predictions), so without a change they follow the reference distribution. Each
scenario changes exactly one column; the monitor's verdicts (Evidently's methods, as `drift` computes them)
must flag that column and no other. The false-alarm runs draw unchanged rows with 20+ seeds at 500 and
100,000 rows and count how often the dataset alarm (and each column) goes off; like `drift`, they compare
a seeded sample of `drift.sample_rows` rows when there are more.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

SEEDS = range(20)
SIZES = (500, 100_000)
SCENARIO_ROWS = 2_000


def main(roots: list[str]) -> None:
    results = {}
    for root in roots:
        answers = yaml.safe_load((Path(root) / ".copier-answers.yml").read_text(encoding="utf-8"))
        sys.path.insert(0, str(Path(root) / "src"))
        os.chdir(root)
        results[root] = scenarios_of(answers["package_name"])
    print(json.dumps(results))


def scenarios_of(package: str) -> dict:
    config = importlib.import_module(f"{package}.core.config").load_config(Path("configs/project.yaml"))
    trained_model = importlib.import_module(f"{package}.serving.trained_model")
    columns_mod = importlib.import_module(f"{package}.drift.columns")
    current_mod = importlib.import_module(f"{package}.drift.current")
    run = importlib.import_module(f"{package}.drift.evidently_run")
    metadata = trained_model.read_metadata(config)
    columns, _ = columns_mod.monitored_columns(metadata, config.drift)
    reference = current_mod.read_reference(config, metadata, columns)
    share = config.drift.drift_share

    def verdicts(current: pd.DataFrame) -> dict[str, bool]:
        found = run.column_verdicts(reference, current, columns)
        return {name: verdict.drifted for name, verdict in found.items()}

    def draw(rows: int, seed: int) -> pd.DataFrame:
        drawn = reference.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
        return drawn.iloc[current_mod._sample_positions(rows, config.drift.sample_rows, seed)]

    false_alarms = {}
    for rows in SIZES:
        dataset, per_column = 0, dict.fromkeys((column.name for column in columns), 0)
        for seed in SEEDS:
            flagged = verdicts(draw(rows, seed))
            dataset += sum(flagged.values()) / len(columns) >= share
            for name, drifted in flagged.items():
                per_column[name] += drifted
        false_alarms[str(rows)] = {"runs": len(SEEDS), "dataset_alarms": int(dataset), "columns": per_column}

    kinds = {column.name: column for column in columns}
    numeric = _numeric_feature(reference, columns)
    categorical = next((c.name for c in columns if c.kind == "categorical"), None)
    output = next(c for c in columns if c.kind == "prediction")
    scenarios = {}
    base = draw(SCENARIO_ROWS, 1000)
    if numeric:
        shifted = base.copy()
        shifted[numeric] = shifted[numeric] + 0.5 * reference[numeric].std()
        scenarios["numeric_mean_shift"] = {"changed": numeric, "flagged": _flagged(verdicts(shifted))}
    if categorical:
        mixed = base.copy()
        rarest = reference[categorical].value_counts().index[-1]
        moved = np.random.default_rng(0).random(len(mixed)) < 0.4
        mixed.loc[moved, categorical] = rarest
        scenarios["category_mix"] = {"changed": categorical, "flagged": _flagged(verdicts(mixed))}
    predicted = base.copy()
    predicted[output.name] = _changed_output(predicted[output.name], kinds[output.name].values, reference)
    scenarios["prediction_shift"] = {"changed": output.name, "flagged": _flagged(verdicts(predicted))}
    return {"columns": len(columns), "false_alarms": false_alarms, "scenarios": scenarios}


def _numeric_feature(reference: pd.DataFrame, columns) -> str | None:
    """The numeric feature with the most distinct values (a mean shift means most there)."""
    numeric = [c.name for c in columns if c.kind == "numeric"]
    return max(numeric, key=lambda name: reference[name].nunique(), default=None)


def _changed_output(values: pd.Series, kind: str, reference: pd.DataFrame) -> pd.Series:
    """A different distribution of the model's output: higher probabilities or values, or 40% of the
    predicted classes moved to the rarest one."""
    if kind == "numeric":
        return values + 0.5 * reference[values.name].std()
    rarest = reference[values.name].value_counts().index[-1]
    moved = np.random.default_rng(1).random(len(values)) < 0.4
    return values.where(~moved, rarest)


def _flagged(verdicts: dict[str, bool]) -> list[str]:
    return sorted(name for name, drifted in verdicts.items() if drifted)


if __name__ == "__main__":
    main(sys.argv[1:])
