"""The project's settings, read from `configs/project.yaml` and checked once.

Every command reads its settings from here and nowhere else, so pointing the project at new data is an
edit of that file and a rerun. Each section is a frozen dataclass whose fields declare default and check
together (core/settings.py reads them); errors name the key, what it holds and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from ..artifacts.paths import CONTRACT_FILE
from . import metrics
from .errors import UserError
from .settings import (
    SECTION,
    Choice,
    Choices,
    Invalid,
    Number,
    SettingsReader,
    any_text,
    column_name,
    column_names,
    flag,
    optional_text,
    section,
    setting,
    text,
    texts,
)

CONFIG_RELATIVE_PATH = Path("configs") / "project.yaml"
MODEL_DIR_ENV = "MODEL_DIR"
PROBLEM_TYPES = ("binary", "multiclass", "regression")
MODEL_FAMILIES = ("gradient_boosting", "random_forest", "linear")
AUTH_MODES = ("none", "api_key")
# How predicted probabilities are calibrated (classification): auto calibrates when that improves the
# out-of-fold Brier score.
CALIBRATION_MODES = ("auto", "none", "sigmoid", "isotonic")
# The rules that raise the drift alarm (`drift` exits 1 when any listed rule fires): the model's output
# drifted; one of the drift.top_features most important features drifted; at least drift.drift_share of
# the monitored columns drifted.
ALARM_RULES = ("prediction", "top_features", "drift_share")
# Windows the realized performance is broken down by (`performance`).
PERFORMANCE_WINDOWS = ("day", "week", "month")
API_KEY_ENV = "API_KEY"  # the key clients must send, never written in a file
MAX_PORT = 65535
# Evidently's drift methods by column type. Distances (wasserstein, jensenshannon, psi, kl_div, hellinger)
# measure how far apart the distributions are whatever the number of rows; statistical tests (ks, chisquare,
# z, ...) give p-values that flag even negligible shifts once live traffic has many rows.
NUMERIC_DRIFT_METHODS = (
    "wasserstein", "psi", "kl_div", "jensenshannon", "hellinger", "ks", "anderson", "cramer_von_mises",
    "mannw", "ed", "es", "t_test", "empirical_mmd",
)  # fmt: skip
CATEGORICAL_DRIFT_METHODS = ("jensenshannon", "psi", "kl_div", "hellinger", "chisquare", "z", "g_test", "TVD")
# The model's output is numeric or categorical: either type's methods.
PREDICTION_DRIFT_METHODS = NUMERIC_DRIFT_METHODS + tuple(
    method for method in CATEGORICAL_DRIFT_METHODS if method not in NUMERIC_DRIFT_METHODS
)

# Settings that moved, with the template release that moved them: a config that still has one was written
# by an older template, and `copier update` moves it (hooks/migrations/ of the template).
MOVED_SETTINGS = {"audit.max_categories": ("data.max_categories", "1.0.0")}


def date_formats(value: Any) -> dict[str, str]:
    """`data.date_formats`: column → the format its dates are written in, a strftime format or ISO8601."""
    example = "e.g. {order_date: '%d/%m/%Y'} (strftime codes) or ISO8601"
    value = value or {}
    if not isinstance(value, dict):
        raise Invalid(f"expected a mapping of column to date format, {example}")
    for column, date_format in value.items():
        if not isinstance(date_format, str) or not (date_format == "ISO8601" or "%" in date_format):
            raise Invalid(f"expected a date format, {example}", subkey=str(column), value=date_format)
    return {str(column): date_format for column, date_format in value.items()}


# Each setting: its default (none: the file must say) and its check; `answer` names the template question
# whose answer configs/project.yaml was written with.


@dataclass(frozen=True)
class DataConfig:
    target: str = setting(check=text, answer="target_column")
    path: str = setting(check=text, answer="data_path")
    id_columns: tuple[str, ...] = setting((), column_names, answer="id_columns")
    time_column: str | None = setting(None, column_name, answer="time_column")
    drop_columns: tuple[str, ...] = setting((), column_names)
    keep_columns: tuple[str, ...] = setting((), column_names)
    positive_class: Any = setting(None)
    # The model card reports performance per group of each; the embedded sample names its own.
    sensitive_columns: tuple[str, ...] = setting((), column_names, answer="data_path")
    max_categories: int = setting(50, Number(low=2, integer=True))
    # Also missing in every column, beside empty cells (and beside NA, null, ... in numeric columns).
    missing_values: tuple[str, ...] = setting((), texts)
    date_formats: dict[str, str] = setting({}, date_formats)  # column → strftime format or "ISO8601"


@dataclass(frozen=True)
class AuditConfig:
    leakage_threshold: float = setting(0.97, Number(low=0.5, high=1.0))
    id_unique_ratio: float = setting(0.98, Number(low=0.5, high=1.0))
    # Larger tables: counts (missing, distinct, duplicates, target balance, time coverage) are exact, by
    # streaming the file; the checks that fit a model, the figures and the column types use a seeded sample
    # of this many rows.
    sample_rows: int = setting(200_000, Number(low=1000, integer=True))


@dataclass(frozen=True)
class ModelConfig:
    family: str = setting(check=Choice(MODEL_FAMILIES), answer="model_family")
    cv_folds: int = setting(5, Number(low=2, high=20, integer=True))
    random_state: int = setting(42, Number(integer=True))
    min_lift: float = setting(0.02, Number(low=-1.0, high=1.0), key="gate.min_lift")
    reference_rows: int = setting(5000, Number(low=100, integer=True))
    calibration: str = setting("auto", Choice(CALIBRATION_MODES))
    keep_versions: int = setting(10, Number(low=2, high=1000, integer=True))
    # More usable rows than this: train on a seeded sample of this many (said in the output and the card).
    max_train_rows: int | None = setting(1_000_000, Number(low=1000, integer=True, nullable=True))
    # Cross-validation folds fitted at once; null: as many as cores (and memory) allow.
    n_jobs: int | None = setting(None, Number(low=1, integer=True, nullable=True))


@dataclass(frozen=True)
class PredictConfig:
    """Batch scoring (`predict --input`): chunk size and worker processes."""

    chunk_rows: int = setting(50_000, Number(low=1, integer=True))
    workers: int | None = setting(None, Number(low=1, integer=True, nullable=True))  # null: one per core


@dataclass(frozen=True)
class SparkConfig:
    """`predict --engine spark`: where the Spark session comes from."""

    master: str | None = setting(None, optional_text)  # null: the session of spark-submit / the cluster


@dataclass(frozen=True)
class DriftConfig:
    """Settings of the drift monitor (`drift`): method and threshold per column type, the dataset verdict,
    and how much live traffic is read."""

    numeric_method: str = setting("wasserstein", Choice(NUMERIC_DRIFT_METHODS))
    numeric_threshold: float = setting(0.1, Number(low=0.0))
    categorical_method: str = setting("jensenshannon", Choice(CATEGORICAL_DRIFT_METHODS))
    categorical_threshold: float = setting(0.1, Number(low=0.0))
    # The model's output: None = the method and threshold of its type (numeric for probabilities and values,
    # categorical for the predicted classes of a multiclass model).
    prediction_method: str | None = setting(None, Choice(PREDICTION_DRIFT_METHODS, nullable=True))
    prediction_threshold: float | None = setting(None, Number(low=0.0, nullable=True))
    drift_share: float = setting(0.5, Number(low=0.0, high=1.0))
    alarm_rules: tuple[str, ...] = setting(ALARM_RULES, Choices(ALARM_RULES))
    top_features: int = setting(3, Number(low=1, integer=True))
    min_current_rows: int = setting(200, Number(low=10, integer=True))
    sample_rows: int = setting(20_000, Number(low=0, integer=True))  # 0 = use every row
    seed: int = setting(42, Number(integer=True))
    schedule: str = setting("0 6 * * 1", text, answer="drift_schedule")


@dataclass(frozen=True)
class MonitoringConfig:
    """Settings of `performance` and `monitor`: outcomes (ground truth) joined to the prediction log."""

    # `performance` exits 1 when the gate metric on labelled live predictions is more than this below the
    # cross-validated score (in the metric's own units).
    max_drop: float = setting(0.05, Number(low=0.0, high=1.0))
    min_labelled_rows: int = setting(100, Number(low=1, integer=True))  # fewer: exit 2, too few to judge
    window: str = setting("week", Choice(PERFORMANCE_WINDOWS))  # the breakdown over time


def coverage_level(value: Any) -> float:
    """A coverage level: a number strictly between 0 and 1 (0.9: 90% of the true values inside). The check
    of `uncertainty.coverage`, of `predict --coverage` and of the API's `?coverage=`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise Invalid("expected a coverage strictly between 0 and 1, e.g. 0.9 for 90%")
    return float(value)


@dataclass(frozen=True)
class UncertaintyConfig:
    """Conformal prediction intervals (regression) and prediction sets (classification): `uncertainty: off`
    leaves them out."""

    enabled: bool = setting(True, flag)
    # The share of true values an interval or a set holds (0.9: 90%), unless a request asks for another.
    coverage: float = setting(0.9, coverage_level)


def shares(value: Any) -> tuple[float, ...]:
    """A list of shares, each strictly between 0 and 1 (0.1: 10%), e.g. [0.05, 0.1, 0.25]."""
    if not isinstance(value, list) or not value:
        raise Invalid("expected a non-empty list of shares between 0 and 1, e.g. [0.1, 0.3]")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not 0 < item < 1:
            raise Invalid("expected shares strictly between 0 and 1, e.g. [0.1, 0.3]", value=item)
    return tuple(sorted({float(item) for item in value}))


@dataclass(frozen=True)
class RobustnessConfig:
    """The robustness suite of `train` (`training.robustness`): how the gate metric and the decisions move
    when inputs get noisy, missing, out of range or unseen. `robustness: off` leaves it out."""

    enabled: bool = setting(True, flag)
    noise: tuple[float, ...] = setting((0.05, 0.1, 0.25), shares)  # Gaussian noise, share of each spread
    missing: tuple[float, ...] = setting((0.1, 0.3), shares)  # share of each feature's values blanked
    out_of_range: float = setting(0.1, Number(low=0.01, high=1.0))  # share moved beyond the training range
    unseen_categories: float = setting(0.1, Number(low=0.01, high=1.0))  # share given a category never seen
    # Regression: a prediction has moved when it changes by more than this share of the target's spread.
    tolerance: float = setting(0.1, Number(low=0.0, high=10.0))
    # null: reported only; a number: the gate fails when a perturbation lowers the gate metric by more.
    max_drop: float | None = setting(None, Number(low=0.0, high=1.0, nullable=True))
    rows: int = setting(2000, Number(low=50, integer=True))  # validation rows the perturbations are scored on


@dataclass(frozen=True)
class ApiSettings:
    """The API's settings (`serve`); the key clients must send comes from the environment only."""

    auth: str = setting("api_key", Choice(AUTH_MODES), answer="api_auth")
    host: str = setting("127.0.0.1", text)
    port: int = setting(8000, Number(low=1, high=MAX_PORT, integer=True))
    max_records: int = setting(1000, Number(low=1, integer=True))  # records per request
    # Larger request bodies get 413 before they are read.
    max_body_bytes: int = setting(4 * 1024 * 1024, Number(low=1024, integer=True))
    # Micro-batching: concurrent requests are scored together in one model call of at most this many
    # records; the first request of a batch waits at most batch_wait_ms for others to join it.
    batch_max_records: int = setting(256, Number(low=1, integer=True))
    batch_wait_ms: float = setting(2.0, Number(low=0))
    # A log file is closed and a new one started past this size; older files than the last N are deleted.
    prediction_log_max_bytes: int = setting(50 * 1024 * 1024, Number(low=1024, integer=True))
    prediction_log_max_files: int = setting(20, Number(low=1, integer=True))
    # How often a running server looks at models/current.json for a promotion, rollback or shadow change.
    model_poll_seconds: float = setting(1.0, Number(low=0.1, high=3600))
    # Shadow scoring: records waiting for the shadow model beyond this many are not shadow-scored (counted
    # in /metrics), so that a slow shadow can never hold up answers or memory.
    shadow_queue_records: int = setting(10000, Number(low=1, integer=True))
    api_key: str | None = setting(None, env=API_KEY_ENV)

    @property
    def auth_enabled(self) -> bool:
        return self.auth == "api_key"


@dataclass(frozen=True)
class Config:
    """All settings, plus the project root that relative paths are resolved against and the file they were
    read from (`source`, as errors name it)."""

    root: Path
    problem_type: str = setting(check=Choice(PROBLEM_TYPES), answer="problem_type")
    data: DataConfig = section(DataConfig)
    model: ModelConfig = section(ModelConfig)
    project_name: str = setting("", any_text, key="project.name", answer="project_name")  # "": the folder's
    client: str = setting("", any_text, key="project.client", answer="client_name")
    audit: AuditConfig = section(AuditConfig)
    drift: DriftConfig = section(DriftConfig)
    monitoring: MonitoringConfig = section(MonitoringConfig)
    uncertainty: UncertaintyConfig = section(UncertaintyConfig, switch=True)
    robustness: RobustnessConfig = section(RobustnessConfig, switch=True)
    api: ApiSettings = section(ApiSettings, label="API")
    predict: PredictConfig = section(PredictConfig)
    spark: SparkConfig = section(SparkConfig, label="Spark")
    source: str = "config"

    # Where things live, relative to the project root.
    @property
    def data_path(self) -> Path:
        path = Path(self.data.path).expanduser()
        return path if path.is_absolute() else self.root / path

    @property
    def schema_path(self) -> Path:
        return self.root / CONFIG_RELATIVE_PATH.parent / CONTRACT_FILE

    @property
    def models_dir(self) -> Path:
        """models/ of the project, or $MODEL_DIR when set: a model directory mounted into a container."""
        mounted = os.environ.get(MODEL_DIR_ENV)
        return Path(mounted) if mounted else self.root / "models"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def docs_dir(self) -> Path:
        return self.root / "docs"

    @property
    def prediction_log_dir(self) -> Path:
        return self.root / "logs" / "predictions"

    @property
    def shadow_log_dir(self) -> Path:
        """logs/shadow/: the shadow model's predictions of live requests, lines like the prediction log's
        (the same prediction_id as the current model's answer, the shadow's model_version)."""
        return self.root / "logs" / "shadow"

    @property
    def outcomes_dir(self) -> Path:
        return self.root / "logs" / "outcomes"

    @property
    def gate_metric(self) -> str:
        return metrics.gate_metric(self.problem_type).name

    @property
    def is_classification(self) -> bool:
        return self.problem_type != "regression"


def find_config(start: Path | None = None) -> Path:
    """The config file: $PROJECT_CONFIG, else configs/project.yaml in the current directory or a parent."""
    if os.environ.get("PROJECT_CONFIG"):
        return Path(os.environ["PROJECT_CONFIG"])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    raise UserError(
        f"no {CONFIG_RELATIVE_PATH} found in {here} or its parents; run the command inside the project"
    )


def load_config(path: str | Path | None = None) -> Config:
    """Read and check the config file; the project root is the folder that holds `configs/`."""
    config_path = Path(path) if path else find_config()
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"config file {config_path} does not exist") from None
    except yaml.YAMLError as exc:
        raise UserError(f"config file {config_path} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise UserError(f"config file {config_path} must hold a mapping of settings")
    return parse_config(raw, root=config_path.resolve().parent.parent, source=str(config_path))


def parse_config(raw: dict[str, Any], root: Path, source: str = "config") -> Config:
    """Build a checked `Config` from the parsed YAML mapping."""
    reader = SettingsReader(raw, source)
    reader.refuse_moved(MOVED_SETTINGS)
    values = reader.read(Config)
    check_roles(values["data"], source)
    reader.refuse_unknown()
    values["project_name"] = values.get("project_name") or root.name
    return Config(root=root, source=source, **values)


def parse_section(name: str, raw: Mapping[str, Any], source: str = "config") -> Any:
    """One section of `Config` from its mapping, checked as in the file, unknown keys included."""
    declared = next(item.metadata[SECTION] for item in fields(Config) if item.name == name)
    reader = SettingsReader({name: dict(raw)}, source)
    settings = reader.read_section(declared, name)
    reader.refuse_unknown()
    return settings


def check_roles(data: DataConfig, source: str) -> None:
    """A column plays one role: target, time, ID or none of them; the target is no sensitive column."""
    if data.target in data.sensitive_columns:
        target = data.target
        raise UserError(f"{source}: data.sensitive_columns lists the target {target!r}; name other columns")
    roles = [("data.target", data.target), ("data.time_column", data.time_column)]
    roles += [("data.id_columns", name) for name in data.id_columns]
    seen: dict[str, str] = {}
    for key, name in roles:
        if name is None:
            continue
        if name in seen:
            raise UserError(
                f"{source}: column {name!r} is in both {seen[name]} and {key}; a column has one role"
            )
        seen[name] = key
