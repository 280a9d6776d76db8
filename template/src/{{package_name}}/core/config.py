"""The project's settings, read from `configs/project.yaml` and checked once.

Every command reads its settings from here and nowhere else, so pointing the project at new data is an
edit of that file and a rerun. Errors name the key, what it holds and what is allowed.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

CONFIG_RELATIVE_PATH = Path("configs") / "project.yaml"
MODEL_DIR_ENV = "MODEL_DIR"
PROBLEM_TYPES = ("binary", "multiclass", "regression")
MODEL_FAMILIES = ("gradient_boosting", "random_forest", "linear")
AUTH_MODES = ("none", "api_key")
# Evidently's drift methods by column type. Distances (wasserstein, jensenshannon, psi, kl_div, hellinger)
# measure how far apart the distributions are whatever the number of rows; statistical tests (ks, chisquare,
# z, ...) give p-values that flag even negligible shifts once live traffic has many rows.
NUMERIC_DRIFT_METHODS = (
    "wasserstein", "psi", "kl_div", "jensenshannon", "hellinger", "ks", "anderson", "cramer_von_mises",
    "mannw", "ed", "es", "t_test", "empirical_mmd",
)  # fmt: skip
CATEGORICAL_DRIFT_METHODS = ("jensenshannon", "psi", "kl_div", "hellinger", "chisquare", "z", "g_test", "TVD")

# Settings that moved, with the template release that moved them: a config that still has one was written
# by an older template, and `copier update` moves it (hooks/migrations/ of the template).
MOVED_SETTINGS = {"audit.max_categories": ("data.max_categories", "1.0.0")}

# The metric the quality gate compares, per problem type; all of them are "higher is better".
GATE_METRICS = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "r2"}


@dataclass(frozen=True)
class DataConfig:
    path: str
    target: str
    id_columns: tuple[str, ...] = ()
    time_column: str | None = None
    drop_columns: tuple[str, ...] = ()
    keep_columns: tuple[str, ...] = ()
    positive_class: Any = None
    sensitive_columns: tuple[str, ...] = ()  # the model card reports performance per group of each
    max_categories: int = 50
    # Also missing in every column, beside empty cells (and beside NA, null, ... in numeric columns).
    missing_values: tuple[str, ...] = ()
    date_formats: dict[str, str] = field(default_factory=dict)  # column → strftime format or "ISO8601"


@dataclass(frozen=True)
class AuditConfig:
    leakage_threshold: float = 0.97
    id_unique_ratio: float = 0.98


@dataclass(frozen=True)
class ModelConfig:
    family: str = "gradient_boosting"
    cv_folds: int = 5
    random_state: int = 42
    min_lift: float = 0.02
    reference_rows: int = 5000


@dataclass(frozen=True)
class DriftConfig:
    """Settings of the drift monitor (`drift`): method and threshold per column type, the dataset verdict,
    and how much live traffic is read."""

    numeric_method: str = "wasserstein"
    numeric_threshold: float = 0.1
    categorical_method: str = "jensenshannon"
    categorical_threshold: float = 0.1
    # The model's output: None = the method and threshold of its type (numeric for probabilities and values,
    # categorical for the predicted classes of a multiclass model).
    prediction_method: str | None = None
    prediction_threshold: float | None = None
    drift_share: float = 0.5
    min_current_rows: int = 200
    sample_rows: int = 20_000  # 0 = use every row
    seed: int = 42
    schedule: str = "0 6 * * 1"


@dataclass(frozen=True)
class Config:
    """All settings, plus the project root that relative paths are resolved against."""

    root: Path
    project_name: str
    client: str
    problem_type: str
    data: DataConfig
    audit: AuditConfig = field(default_factory=AuditConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    api: dict[str, Any] = field(default_factory=dict)

    # Where things live, relative to the project root.
    @property
    def data_path(self) -> Path:
        path = Path(self.data.path).expanduser()
        return path if path.is_absolute() else self.root / path

    @property
    def schema_path(self) -> Path:
        return self.root / "configs" / "schema.json"

    @property
    def audit_dir(self) -> Path:
        return self.root / "reports" / "audit"

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
    def drift_dir(self) -> Path:
        return self.reports_dir / "drift"

    @property
    def gate_metric(self) -> str:
        return GATE_METRICS[self.problem_type]

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
    problem_type = reader.choice("problem_type", PROBLEM_TYPES)
    id_columns = reader.str_list("data.id_columns")
    time_column = reader.optional_str("data.time_column")
    target = reader.str("data.target")
    data = DataConfig(
        path=reader.str("data.path"),
        target=target,
        id_columns=id_columns,
        time_column=time_column,
        drop_columns=reader.str_list("data.drop_columns"),
        keep_columns=reader.str_list("data.keep_columns"),
        positive_class=reader.get("data.positive_class", None),
        sensitive_columns=reader.str_list("data.sensitive_columns"),
        max_categories=int(reader.number("data.max_categories", 50, low=2, integer=True)),
        missing_values=reader.text_list("data.missing_values"),
        date_formats=parse_date_formats(reader),
    )
    if target in data.sensitive_columns:
        raise UserError(f"{source}: data.sensitive_columns lists the target {target!r}; name other columns")
    roles = [("data.target", target), ("data.time_column", time_column)]
    roles += [("data.id_columns", name) for name in id_columns]
    seen: dict[str, str] = {}
    for key, name in roles:
        if name is None:
            continue
        if name in seen:
            raise UserError(
                f"{source}: column {name!r} is in both {seen[name]} and {key}; a column has one role"
            )
        seen[name] = key
    audit = AuditConfig(
        leakage_threshold=reader.number("audit.leakage_threshold", 0.97, low=0.5, high=1.0),
        id_unique_ratio=reader.number("audit.id_unique_ratio", 0.98, low=0.5, high=1.0),
    )
    model = ModelConfig(
        family=reader.choice("model.family", MODEL_FAMILIES),
        cv_folds=int(reader.number("model.cv_folds", 5, low=2, high=20, integer=True)),
        random_state=int(reader.number("model.random_state", 42, integer=True)),
        min_lift=reader.number("model.gate.min_lift", 0.02, low=-1.0, high=1.0),
        reference_rows=int(reader.number("model.reference_rows", 5000, low=100, integer=True)),
    )
    api = reader.section("api")  # its keys: api/settings.py
    if not isinstance(api, dict):
        raise reader.fail("api", api, "expected a mapping of API settings")
    if api.get("auth", "none") not in AUTH_MODES:
        raise UserError(f"{source}: api.auth is {api.get('auth')!r}; allowed: {', '.join(AUTH_MODES)}")
    config = Config(
        root=root,
        project_name=str(reader.get("project.name", root.name)),
        client=str(reader.get("project.client", "") or ""),
        problem_type=problem_type,
        data=data,
        audit=audit,
        model=model,
        drift=parse_drift(reader),
        api=dict(api),
    )
    from ..serving.api.settings import api_setting_names  # the api section is checked where it is read

    reader.refuse_unknown(extra={f"api.{name}" for name in api_setting_names()})
    return config


def parse_date_formats(reader: SettingsReader) -> dict[str, str]:
    """`data.date_formats`: column → the format its dates are written in, a strftime format or ISO8601."""
    key, example = "data.date_formats", "e.g. {order_date: '%d/%m/%Y'} (strftime codes) or ISO8601"
    value = reader.get(key, None) or {}
    if not isinstance(value, dict):
        raise reader.fail(key, value, f"expected a mapping of column to date format, {example}")
    for column, date_format in value.items():
        if not isinstance(date_format, str) or not (date_format == "ISO8601" or "%" in date_format):
            raise reader.fail(f"{key}.{column}", date_format, f"expected a date format, {example}")
    return {str(column): date_format for column, date_format in value.items()}


def parse_drift(reader: SettingsReader) -> DriftConfig:
    """The `drift:` section; every key is optional and falls back to the default above."""
    default = DriftConfig()
    prediction_method = reader.get("drift.prediction_method", None)
    allowed = NUMERIC_DRIFT_METHODS + tuple(set(CATEGORICAL_DRIFT_METHODS) - set(NUMERIC_DRIFT_METHODS))
    if prediction_method is not None and prediction_method not in allowed:
        raise reader.fail(
            "drift.prediction_method", prediction_method, f"allowed: null, {', '.join(allowed)}"
        )
    prediction_threshold = reader.get("drift.prediction_threshold", None)
    if prediction_threshold is not None:
        prediction_threshold = reader.number("drift.prediction_threshold", 0.1, low=0.0)
    return DriftConfig(
        numeric_method=reader.choice("drift.numeric_method", NUMERIC_DRIFT_METHODS, default.numeric_method),
        numeric_threshold=reader.number("drift.numeric_threshold", default.numeric_threshold, low=0.0),
        categorical_method=reader.choice(
            "drift.categorical_method", CATEGORICAL_DRIFT_METHODS, default.categorical_method
        ),
        categorical_threshold=reader.number(
            "drift.categorical_threshold", default.categorical_threshold, low=0.0
        ),
        prediction_method=prediction_method,
        prediction_threshold=prediction_threshold,
        drift_share=reader.number("drift.drift_share", default.drift_share, low=0.0, high=1.0),
        min_current_rows=int(
            reader.number("drift.min_current_rows", default.min_current_rows, low=10, integer=True)
        ),
        sample_rows=int(reader.number("drift.sample_rows", default.sample_rows, low=0, integer=True)),
        seed=int(reader.number("drift.seed", default.seed, integer=True)),
        schedule=str(reader.get("drift.schedule", default.schedule)),
    )


def _keys(node: dict[str, Any], parent: str = "") -> list[str]:
    """Dotted paths of every key in the mapping, parents before their children."""
    paths = []
    for key, value in node.items():
        path = f"{parent}.{key}" if parent else str(key)
        paths.append(path)
        if isinstance(value, dict):
            paths += _keys(value, path)
    return paths


def _on_path(key: str, name: str) -> bool:
    """`key` is `name`, one of its parents or inside it (the empty key is everyone's parent)."""
    return not key or key == name or name.startswith(f"{key}.") or key.startswith(f"{name}.")


def _child(name: str, parent: str) -> str:
    """The part of `name` right below `parent`: data.target below data is target."""
    rest = name[len(parent) + 1 :] if parent else name
    return rest.split(".")[0] if name != parent else ""


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


_MISSING = object()  # no default: the setting is required
_ABSENT = object()  # a default that tells a missing setting from one set to null


class SettingsReader:
    """Typed access to nested keys with errors that name the key and what is allowed."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.read: set[str] = set()  # every key asked for: what the file may hold

    def get(self, key: str, default: Any = _MISSING) -> Any:
        self.read.add(key)
        return self._lookup(key, default)

    def section(self, key: str) -> Any:
        """A mapping read whole by another module, which declares its keys to `refuse_unknown`."""
        return self._lookup(key, {}) or {}

    def _lookup(self, key: str, default: Any = _MISSING) -> Any:
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is _MISSING:
                    raise UserError(f"{self.source}: missing setting {key}")
                return default
            node = node[part]
        return node

    def refuse_moved(self, moved: dict[str, tuple[str, str]]) -> None:
        """A setting at its old place would be silently ignored: say where it lives now instead."""
        for old, (new, version) in moved.items():
            if self._lookup(old, _ABSENT) is not _ABSENT:
                raise UserError(
                    f"{self.source}: {old} is now {new} (template {version}); move it there, or run "
                    "`copier update`, which moves it for you"
                )

    def refuse_unknown(self, extra: set[str] = frozenset()) -> None:
        """A key nobody reads is a typo or a setting of another release: it would leave the default in
        place without a word. Name it, and the closest known key beside it."""
        known = self.read | set(extra)
        for key in _keys(self.raw):
            if any(_on_path(key, name) for name in known):
                continue
            parent, _, leaf = key.rpartition(".")
            siblings = sorted({_child(name, parent) for name in known if _on_path(parent, name)} - {""})
            close = difflib.get_close_matches(leaf, siblings, n=1, cutoff=0.6)
            hint = f"did you mean {_join(parent, close[0])}? " if close else ""
            where = f"under {parent}" if parent else "at the top level"
            known_here = ", ".join(siblings)
            raise UserError(f"{self.source}: unknown setting {key}; {hint}known {where}: {known_here}")

    def fail(self, key: str, value: Any, allowed: str) -> UserError:
        return UserError(f"{self.source}: {key} is {value!r}; {allowed}")

    def str(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, value, "expected a non-empty text")
        return value.strip()

    def optional_str(self, key: str) -> str | None:
        value = self.get(key, None)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise self.fail(key, value, "expected a column name or null")
        return value.strip()

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.get(key, [])
        if value is None:
            return ()
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(key, value, "expected a list of column names")
        return tuple(item.strip() for item in value if item.strip())

    def text_list(self, key: str) -> tuple[str, ...]:
        """A list of texts kept as written (a marker such as "-" is a value, not a separator); numbers
        such as -999 are taken as their text."""
        value = self.get(key, []) or []
        texts = (str, int, float)
        if not isinstance(value, list) or not all(
            isinstance(v, texts) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(key, value, 'expected a list of texts, quoted, e.g. ["n/a", "null", "-999"]')
        return tuple(str(item) for item in value if str(item).strip())

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.get(key, default)
        if value not in allowed:
            raise self.fail(key, value, f"allowed: {', '.join(allowed)}")
        return value

    def number(
        self,
        key: str,
        default: float,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
    ) -> float:
        value = self.get(key, default)
        wanted = "an integer" if integer else "a number"
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integer and not isinstance(value, int))
        ):
            raise self.fail(key, value, f"expected {wanted}")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(key, value, f"expected {wanted} {bounds}")
        return value
