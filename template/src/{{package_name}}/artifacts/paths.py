"""Where every file the project writes lives: the one place that names them.

Folders come from the settings (`Config.models_dir`, `reports_dir`, ...); the names inside them are here.
Code asks `ModelFolder(config.models_dir).metadata` or `ReportFolder(config.reports_dir).audit_json`
instead of joining string literals, so a name is changed in one line and cannot drift between the writer and
its readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONTRACT_FILE = "schema.json"  # in configs/, written by `audit`

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
REFERENCE_FILE = "reference.parquet"
SIGNATURE_FILE = "signature.json"
# Every training row's out-of-fold output, keyed by a fingerprint of its feature values: rows the model was
# trained on are compared by `drift` with what the model says of rows it has not seen.
TRAINING_OUTPUTS_FILE = "training_outputs.parquet"

EXPERIMENTS_FILE = "experiments.jsonl"
MODEL_CARD_FILE = "model_card.md"
IMPORTANCE_FIGURE = "feature_importance.png"
CALIBRATION_FIGURE = "calibration.png"  # reliability plot of the model card (classification only)
FIGURES_DIR = "figures"  # beside the model card: in reports/ and in each stored model version
AUDIT_JSON = "audit.json"
AUDIT_HTML = "audit.html"
DATA_DICTIONARY = "data_dictionary.md"
DRIFT_JSON = "drift.json"
DRIFT_HTML = "drift.html"
PERFORMANCE_JSON = "performance.json"
PERFORMANCE_HTML = "performance.html"
COMPARE_JSON = "compare.json"  # `models compare`: the current model and its shadow on live traffic
COMPARE_HTML = "compare.html"

PREDICTION_LOG_SUFFIX = ".jsonl"  # logs/predictions/ (one file per server process at a time)
OUTCOMES_SUFFIX = ".jsonl"  # logs/outcomes/ (append-only; one file per writer)
# logs/: prediction_id and ID-column values of every logged prediction, for the feedback endpoint's lookups.
PREDICTION_INDEX_FILE = "prediction_index.sqlite3"
REJECTS_SUFFIX = ".rejects.csv"


@dataclass(frozen=True)
class ModelFolder:
    """models/ (or $MODEL_DIR): what `train` writes and every model consumer reads."""

    root: Path

    @property
    def model(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def metadata(self) -> Path:
        return self.root / METADATA_FILE

    @property
    def reference(self) -> Path:
        return self.root / REFERENCE_FILE

    @property
    def signature(self) -> Path:
        return self.root / SIGNATURE_FILE

    @property
    def training_outputs(self) -> Path:
        return self.root / TRAINING_OUTPUTS_FILE


@dataclass(frozen=True)
class ReportFolder:
    """reports/: the experiment log, the model card and the audit and drift reports."""

    root: Path

    @property
    def experiments(self) -> Path:
        return self.root / EXPERIMENTS_FILE

    @property
    def model_card(self) -> Path:
        return self.root / MODEL_CARD_FILE

    @property
    def importance_figure(self) -> Path:
        return self.root / FIGURES_DIR / IMPORTANCE_FIGURE

    @property
    def calibration_figure(self) -> Path:
        return self.root / FIGURES_DIR / CALIBRATION_FIGURE

    @property
    def audit_dir(self) -> Path:
        return self.root / "audit"

    @property
    def audit_json(self) -> Path:
        return self.audit_dir / AUDIT_JSON

    @property
    def audit_html(self) -> Path:
        return self.audit_dir / AUDIT_HTML

    @property
    def weekly_dir(self) -> Path:
        """The weekly summaries: <date>.md, <date>.html and <date>_trend.png."""
        return self.root / "weekly"

    @property
    def drift_dir(self) -> Path:
        return self.root / "drift"

    @property
    def drift_json(self) -> Path:
        return self.drift_dir / DRIFT_JSON

    @property
    def drift_html(self) -> Path:
        return self.drift_dir / DRIFT_HTML

    @property
    def performance_dir(self) -> Path:
        return self.root / "performance"

    @property
    def performance_json(self) -> Path:
        return self.performance_dir / PERFORMANCE_JSON

    @property
    def performance_html(self) -> Path:
        return self.performance_dir / PERFORMANCE_HTML

    @property
    def compare_dir(self) -> Path:
        return self.root / "compare"

    @property
    def compare_json(self) -> Path:
        return self.compare_dir / COMPARE_JSON

    @property
    def compare_html(self) -> Path:
        return self.compare_dir / COMPARE_HTML
