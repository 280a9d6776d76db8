"""Synthetic drift scenarios, run on rendered and trained projects in one process, so that Evidently is
imported once: `python drift_scenarios.py PROJECT_ROOT...` (each project's `src/` is put on the path).
Prints one JSON object: the results per project root.

Live rows are drawn from the project's training reference (models/reference.parquet: the sample data with
the model's out-of-fold predictions), so without a change they follow the reference distribution. Each
scenario changes exactly one column (or, for `dataset_shift`, every feature); the monitor's verdicts
(Evidently's methods, as `drift` computes them) must flag that column and no other, and the alarm policy
(drift/alarm.py, the function `drift` itself calls) must fire the rule that watches it: `top_features` for
one of the most important features, `prediction` for the model's output, `drift_share` when most columns
moved; a change of an unimportant feature alone raises no alarm. The false-alarm runs draw unchanged rows
with 20 seeds at 500 and 100,000 rows and count how often the alarm, each rule and each column go off;
like `drift`, they compare a seeded sample of `drift.sample_rows` rows when there are more. Every verdict is
judged as `drift` judges it: by the larger of the configured threshold and what unchanged data scores by
chance at the live sample's size (drift/noise.py, seeded by `drift.seed`).

Two synthetic columns are added to a copy of the reference, to check the thresholds where they matter:
`many_categories` (50 categories, the most `data.max_categories` allows, unevenly spread) and
`two_categories`. Unchanged draws of 500 and 100,000 rows count how often the many-category column is
flagged, by the threshold `drift` uses and by the configured one alone; at 500 rows and at
`drift.min_current_rows` (200), moving 40% of the rows to one category (each synthetic column) or a numeric
feature up by half a standard deviation must still be flagged.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

SEEDS = range(20)
SIZES = (500, 100_000)
SCENARIO_ROWS = 2_000
MANY_CATEGORIES = 50


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
    policy = importlib.import_module(f"{package}.drift.alarm")
    noise = importlib.import_module(f"{package}.drift.noise")
    sampling = importlib.import_module(f"{package}.drift.parquet_sample")
    metadata = trained_model.read_metadata(config)
    columns, _ = columns_mod.monitored_columns(metadata, config.drift)
    reference = current_mod.read_reference(config, metadata, columns)

    def verdicts(current: pd.DataFrame, judged_columns=columns, against=reference) -> dict[str, bool]:
        thresholds = noise.thresholds(against, current, judged_columns, config.drift.seed)
        found = run.column_verdicts(against, current, noise.judged(judged_columns, thresholds))
        return {name: verdict.drifted for name, verdict in found.items()}

    def judged(current: pd.DataFrame) -> dict:
        flagged = verdicts(current)
        alarm = policy.evaluate(flagged, columns, metadata, config.drift)
        return {"flagged": _flagged(flagged), "alarm": alarm.alarm, "fired_rules": alarm.fired_rules}

    def draw(rows: int, seed: int) -> pd.DataFrame:
        drawn = reference.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
        return drawn.iloc[sampling.sample_positions(rows, config.drift.sample_rows, seed)]

    false_alarms = {}
    for rows in SIZES:
        counts = {
            "runs": len(SEEDS),
            "alarms": 0,
            "dataset_alarms": 0,
            "rules": dict.fromkeys(config.drift.alarm_rules, 0),
            "columns": dict.fromkeys((column.name for column in columns), 0),
        }
        for seed in SEEDS:
            flagged = verdicts(draw(rows, seed))
            alarm = policy.evaluate(flagged, columns, metadata, config.drift)
            counts["alarms"] += alarm.alarm
            counts["dataset_alarms"] += alarm.rules["drift_share"].triggered
            for rule in alarm.fired_rules:
                counts["rules"][rule] += 1
            for name, drifted in flagged.items():
                counts["columns"][name] += drifted
        false_alarms[str(rows)] = counts

    kinds = {column.name: column.values for column in columns}
    features = [column.name for column in columns if column.kind != "prediction"]
    top = policy.top_features(metadata, columns, config.drift.top_features)
    numeric = _numeric_feature(reference, columns)
    categorical = next((c.name for c in columns if c.kind == "categorical"), None)
    output = next(c.name for c in columns if c.kind == "prediction")
    base = draw(SCENARIO_ROWS, 1000)
    changes = {"prediction_shift": [output], "dataset_shift": features}
    if numeric:
        changes["numeric_mean_shift"] = [numeric]
    if categorical:
        changes["category_mix"] = [categorical]
    if top:
        changes["top_feature_shift"] = [top[0]]
    scenarios = {}
    for name, changed in changes.items():
        moved = base.copy()
        for column in changed:
            moved[column] = _changed(moved[column], kinds[column], reference)
        scenarios[name] = {"changed": sorted(changed), **judged(moved)}
    synthetic = _small_sample_checks(config, reference, columns, columns_mod, run, noise, verdicts)
    return {
        "columns": len(columns),
        "top_features": top,
        "false_alarms": false_alarms,
        "scenarios": scenarios,
        **synthetic,
    }


def _small_sample_checks(config, reference, columns, columns_mod, run, noise, verdicts) -> dict:
    """The synthetic columns' false alarms (by the threshold `drift` uses and by the configured one alone)
    and real changes at 500 and 200 rows, for them and the numeric feature with the most distinct values."""
    extended = _with_synthetic_columns(reference)
    settings = config.drift
    method, threshold = settings.categorical_method, settings.categorical_threshold
    many = columns_mod.Column("many_categories", "categorical", "categorical", method, threshold)
    two = replace(many, name="two_categories")
    extra = [many, two]

    def draw(rows: int, seed: int) -> pd.DataFrame:
        return extended.sample(rows, replace=True, random_state=seed).reset_index(drop=True)

    unchanged = {}
    for rows in SIZES:
        scores, flagged, configured_only, used = [], 0, 0, []
        for seed in SEEDS:
            current = draw(min(rows, settings.sample_rows or rows), seed)
            [verdict] = run.column_verdicts(extended, current, [many]).values()
            found = noise.thresholds(extended, current, [many], settings.seed)["many_categories"]
            scores.append(verdict.score)
            used.append(found.used)
            flagged += verdict.score >= found.used
            configured_only += verdict.drifted
        unchanged[str(rows)] = {
            "runs": len(SEEDS),
            "flagged": flagged,
            "flagged_by_configured_threshold": configured_only,
            "median_score": float(np.median(scores)),
            "threshold": float(np.median(used)),
        }
    numeric = _numeric_feature(reference, columns)
    kinds = {column.name: column.values for column in [*columns, *extra]}
    changes = {}
    for rows in (500, settings.min_current_rows):
        base = draw(rows, 3000 + rows)
        for name in ["many_categories", "two_categories", *([numeric] if numeric else [])]:
            moved = base.assign(**{name: _changed(base[name], kinds[name], extended)})
            found = verdicts(moved, [*columns, *extra], extended)
            column = next(c for c in [*columns, *extra] if c.name == name)
            [threshold] = noise.thresholds(extended, moved, [column], settings.seed).values()
            [verdict] = run.column_verdicts(extended, moved, [column]).values()
            changes[f"{name}_{rows}"] = {
                "rows": rows,
                "changed": [name],
                "flagged": _flagged(found),
                "score": verdict.score,
                "threshold": threshold.used,
            }
    return {"many_categories_unchanged": unchanged, "small_sample_changes": changes}


def _with_synthetic_columns(reference: pd.DataFrame) -> pd.DataFrame:
    """The reference with a 50-category column (uneven: the commonest category 10 times as frequent as
    the rarest) and a 2-category one (70/30)."""
    rng = np.random.default_rng(7)
    weights = np.geomspace(10.0, 1.0, MANY_CATEGORIES)
    names = [f"shop_{index:02d}" for index in range(MANY_CATEGORIES)]
    many = rng.choice(names, len(reference), p=weights / weights.sum())
    two = rng.choice(["yes", "no"], len(reference), p=[0.7, 0.3])
    return reference.assign(many_categories=many.astype(object), two_categories=two.astype(object))


def _numeric_feature(reference: pd.DataFrame, columns) -> str | None:
    """The numeric feature with the most distinct values (a mean shift means most there)."""
    numeric = [c.name for c in columns if c.kind == "numeric"]
    return max(numeric, key=lambda name: reference[name].nunique(), default=None)


def _changed(values: pd.Series, kind: str, reference: pd.DataFrame) -> pd.Series:
    """A different distribution of one column: numbers (features, probabilities, predicted values) up by
    half a standard deviation, or 40% of the values (categories, predicted classes) moved to the rarest."""
    if kind == "numeric":
        return values + 0.5 * reference[values.name].std()
    rarest = reference[values.name].value_counts().index[-1]
    moved = np.random.default_rng(1).random(len(values)) < 0.4
    return values.where(~moved, rarest)


def _flagged(verdicts: dict[str, bool]) -> list[str]:
    return sorted(name for name, drifted in verdicts.items() if drifted)


if __name__ == "__main__":
    main(sys.argv[1:])
