"""What a model file may hold, checked before anything in it is loaded.

A skops file is a zip archive whose `schema.json` names every type and function the loader would import
to rebuild the model. Loading imports and calls them, so a file that names `builtins.exec`, `numpy`
functions that take callables, `functools.partial` or `operator.methodcaller` can run code. The check here
is an allowlist of exact names, never of name prefixes:

- the estimators, transformers, losses and array types the project's pipelines are built from
  (`ALLOWED_TYPES`, all of them produced by `pipeline.build_pipeline` for every model family and problem
  type), plus the classes of this package's `pipeline` module;
- functions (e.g. a `FunctionTransformer`'s `func`) only when they are defined in this package's own
  `features` module;
- extra types a customised Pipeline needs, listed in code by `features.EXTRA_MODEL_TYPES` (code, so that
  whoever can write a model file cannot extend the list).

`train` checks the fitted Pipeline against the same list and records the types in models/metadata.json,
so a customisation that needs a new type fails at training time with its name, not at deployment.
"""

from __future__ import annotations

import inspect
import io
import json
import zipfile
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

from ..core.errors import UserError

PACKAGE = __package__.split(".")[0]
# Exact names (module.qualname) as skops writes them: scikit-learn's classes under their defining modules.
ALLOWED_TYPES = frozenset(
    {
        # Containers and plain values.
        "builtins.dict", "builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset",
        "builtins.slice", "builtins.str", "builtins.bytes", "builtins.int", "builtins.float",
        "builtins.bool", "builtins.complex", "builtins.NoneType",
        # NumPy arrays, their element types and the seeded random generator of early stopping.
        "numpy.ndarray", "numpy.dtype", "numpy.bool_", "numpy.str_", "numpy.bytes_", "numpy.object_",
        "numpy.int8", "numpy.int16", "numpy.int32", "numpy.int64",
        "numpy.uint8", "numpy.uint16", "numpy.uint32", "numpy.uint64",
        "numpy.float16", "numpy.float32", "numpy.float64", "numpy.longdouble",
        "numpy.datetime64", "numpy.timedelta64",
        "numpy.random._generator.Generator", "numpy.random._pcg64.PCG64",
        "numpy.random.mtrand.RandomState",
        # The Pipeline and its preparation.
        "sklearn.pipeline.Pipeline",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.preprocessing._function_transformer.FunctionTransformer",
        # The model families and the baselines.
        "sklearn.dummy.DummyClassifier", "sklearn.dummy.DummyRegressor",
        "sklearn.linear_model._logistic.LogisticRegression", "sklearn.linear_model._ridge.Ridge",
        "sklearn.ensemble._forest.RandomForestClassifier", "sklearn.ensemble._forest.RandomForestRegressor",
        "sklearn.tree._classes.DecisionTreeClassifier", "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn._loss.loss.HalfBinomialLoss", "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss._loss.CyHalfBinomialLoss", "sklearn._loss._loss.CyHalfMultinomialLoss",
        "sklearn._loss._loss.CyHalfSquaredError",
        "sklearn._loss.link.Interval", "sklearn._loss.link.IdentityLink", "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        # This package's own transformers.
        f"{PACKAGE}.training.pipeline.ContractCoercer", f"{PACKAGE}.training.pipeline.OneHotUnseenAsMix",
        f"{PACKAGE}.training.pipeline.CalendarFeatures",
    }
)  # fmt: skip
FEATURES_MODULE = f"{PACKAGE}.features"
# Where release 1.x of the template kept the package's transformers: a model file trained then names them so.
MOVED_IN_2_0 = f"{PACKAGE}.pipeline."
HOW_TO_ALLOW = (
    "a model file may hold only the types the project's pipelines are built from; if a customised "
    "Pipeline needs one on purpose, add its full name to EXTRA_MODEL_TYPES in features.py"
)


def allowed_types() -> frozenset[str]:
    """The shipped list plus the project's own additions (features.EXTRA_MODEL_TYPES)."""
    from .. import features

    return ALLOWED_TYPES | frozenset(getattr(features, "EXTRA_MODEL_TYPES", ()))


def is_allowed(name: str, allowed: frozenset[str]) -> bool:
    return name in allowed or _is_feature_function(name)


def _is_feature_function(name: str) -> bool:
    """A function defined in the project's `features` module (not anything it merely imports)."""
    module, _, attribute = name.rpartition(".")
    if module != FEATURES_MODULE:
        return False
    value = getattr(import_module(FEATURES_MODULE), attribute, None)
    return inspect.isfunction(value) and value.__module__ == FEATURES_MODULE


def types_in(source: Path | bytes) -> set[str]:
    """Every type and function a skops file names, read from its schema without loading anything."""
    where = source if isinstance(source, Path) else "the model"
    try:
        with zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError, OSError) as error:
        raise UserError(f"{where} is not a skops model file ({error}); run `train` again") from None
    return set(_names(schema))


def _names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        module, name = node.get("__module__"), node.get("__class__")
        if isinstance(module, str) and isinstance(name, str):
            yield f"{module}.{name}"
        for value in node.values():
            yield from _names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _names(value)


def refused_types(names: set[str]) -> list[str]:
    allowed = allowed_types()
    return sorted(name for name in names if not is_allowed(name, allowed))


def check_model_types(source: Path | bytes) -> list[str]:
    """The sorted names of the types in a model file or its bytes; UserError naming any outside the list."""
    names = types_in(source)
    refused = refused_types(names)
    if refused:
        where = source if isinstance(source, Path) else "the trained model"
        refused_list = ", ".join(refused)
        if all(name.startswith(MOVED_IN_2_0) for name in refused):
            raise UserError(
                f"{where} was trained before the project moved to release 2.0 of its template (it names "
                f"{refused_list}); run `make train` to rebuild it with the current code"
            )
        raise UserError(f"{where} holds types this project does not load: {refused_list}; {HOW_TO_ALLOW}")
    return sorted(names)
