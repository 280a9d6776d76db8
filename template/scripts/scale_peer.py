"""The hand-written peers of `make bench-scale` (scripts/bench_scale.py runs each in its own process).

Each peer does the work of one command the way an engineer would write it directly with pandas and
scikit-learn, with none of the project's checks, reports or artifacts, so that the benchmark shows what
the project's own handling costs on top of the library work:

    audit         read the whole table; missing and distinct values per column, duplicate rows, target balance
    train         the project's estimator with the same hyperparameters on the same folds: one-hot encoding
                  with pandas, fit and score each fold, then a final fit on every row
    train-default the same with scikit-learn's HistGradientBoosting at its default settings
    predict       read the whole file, pipeline.predict (and predict_proba) of the current model, write
                  Parquet
    drift         read the whole live table, draw 20,000 rows, Evidently's data drift preset against the
                  training reference

    python scripts/scale_peer.py STEP --config configs/project.yaml --table FILE [--output FILE]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = next(path.parent.name for path in (ROOT / "src").glob("*/__init__.py"))
DRIFT_SAMPLE_ROWS = 20_000


def _package(module: str):
    """A module of the project: only for what defines the work (settings, folds, estimator), never for
    doing it."""
    if str(ROOT / "src") not in sys.path:
        sys.path.insert(0, str(ROOT / "src"))
    return importlib.import_module(f"{PACKAGE}.{module}")


def read(path: Path) -> pd.DataFrame:
    if path.is_dir() or path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def features_of(config_path: Path) -> tuple[list[str], list[str], list[str]]:
    """Numeric, categorical and date feature columns, as the data contract (configs/schema.json) has them."""
    schema = json.loads((config_path.parent / "schema.json").read_text())
    columns = [column for column in schema["columns"] if column.get("role") == "feature"]
    kinds = {kind: [c["name"] for c in columns if c.get("kind") == kind] for kind in ("numeric", "datetime")}
    categorical = [c["name"] for c in columns if c.get("kind") not in ("numeric", "datetime")]
    return kinds["numeric"], categorical, kinds["datetime"]


def design(frame: pd.DataFrame, config_path: Path) -> pd.DataFrame:
    """Numbers as floats, categories one-hot (pandas), dates as year/month/day of week."""
    numeric, categorical, dates = features_of(config_path)
    parts = [frame[numeric].apply(pd.to_numeric, errors="coerce").astype("float64")]
    if categorical:
        parts.append(pd.get_dummies(frame[categorical].astype("string"), dtype="float64"))
    for name in dates:
        when = pd.to_datetime(frame[name], errors="coerce", format="mixed")
        parts.append(
            pd.DataFrame({f"{name}_{p}": getattr(when.dt, p) for p in ("year", "month", "dayofweek")})
        )
    return pd.concat(parts, axis=1).astype("float64")


def audit(config_path: Path, table: Path) -> dict:
    config = _package("core.config").load_config(config_path)
    frame = read(table)
    target = frame[config.data.target]
    return {
        "rows": len(frame),
        "missing": {name: int(value) for name, value in frame.isna().sum().items()},
        "distinct": {name: int(value) for name, value in frame.nunique().items()},
        "duplicate_rows": int(frame.duplicated().sum()),
        "target": {str(key): int(value) for key, value in target.value_counts().head(50).items()},
    }


def train(config_path: Path, table: Path, default: bool = False) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import get_scorer

    config = _package("core.config").load_config(config_path)
    frame = read(table).dropna(subset=[config.data.target]).reset_index(drop=True)
    cap = config.model.max_train_rows
    if cap is not None and len(frame) > cap:  # the same amount of work as the project's sampled training
        frame = frame.sample(cap, random_state=config.model.random_state).reset_index(drop=True)
    X, y = design(frame, config_path), frame[config.data.target]
    _, splits, _ = _package("training.folds").make_splits(config, frame, y)

    def estimator():
        if default:
            cls = (
                HistGradientBoostingClassifier if config.is_classification else HistGradientBoostingRegressor
            )
            return cls(random_state=config.model.random_state)
        make = _package("training.pipeline").make_estimator
        return make(config, rows=len(splits[0][0]), table_rows=len(frame))

    scorer = get_scorer(_package("core.metrics").METRICS[config.gate_metric].sklearn_scoring)
    scores = [
        scorer(estimator().fit(X.iloc[fit], y.iloc[fit]), X.iloc[valid], y.iloc[valid])
        for fit, valid in splits
    ]
    estimator().fit(X, y)
    return {"rows": len(frame), "folds": len(splits), config.gate_metric: float(np.mean(scores))}


def predict(config_path: Path, table: Path, output: Path) -> dict:
    import skops.io

    config = _package("core.config").load_config(config_path)
    model_file = config.models_dir / "model.skops"
    pipeline = skops.io.load(model_file, trusted=skops.io.get_untrusted_types(file=model_file))
    frame = read(table)
    out = frame[[name for name in config.data.id_columns if name in frame.columns]].copy()
    out["prediction"] = pipeline.predict(frame)
    if config.is_classification:
        for label, column in zip(pipeline.classes_, pipeline.predict_proba(frame).T, strict=True):
            out[f"probability_{label}"] = column
    out.to_parquet(output, index=False)
    return {"rows": len(out)}


def drift(config_path: Path, table: Path, output: Path) -> dict:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    config = _package("core.config").load_config(config_path)
    numeric, categorical, _ = features_of(config_path)
    reference = pd.read_parquet(config.models_dir / "reference.parquet")
    current = read(table)
    current = current.sample(min(len(current), DRIFT_SAMPLE_ROWS), random_state=config.drift.seed)
    columns = [name for name in numeric + categorical if name in reference.columns]
    snapshot = Report([DataDriftPreset()]).run(
        current_data=current[columns], reference_data=reference[columns]
    )
    snapshot.save_html(str(output))
    return {"rows": len(current), "columns": len(columns)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["audit", "train", "train-default", "predict", "drift"])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--table", type=Path, required=True)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.step == "audit":
        result = audit(args.config, args.table)
    elif args.step in ("train", "train-default"):
        result = train(args.config, args.table, default=args.step == "train-default")
    elif args.step == "predict":
        result = predict(args.config, args.table, args.output)
    else:
        result = drift(args.config, args.table, args.output)
    print(json.dumps({key: value for key, value in result.items() if not isinstance(value, dict)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
