"""The target's classes and the positive class the binary metrics are about.

Classes keep the target's own values in natural order (2 before 10); the positive class is the one the
config names, else the one whose label means "yes" (1, true, "yes"...), else the minority class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Config
from ..core.errors import UserError
from ..core.wording import plain

POSITIVE_WORDS = {"1", "true", "yes", "y", "positive", "t"}


def class_labels(target: pd.Series) -> list[Any]:
    """The target's classes in natural order (2 before 10), as plain Python values."""
    values = [plain(value) for value in target.unique()]
    try:
        return sorted(values)
    except TypeError:  # mixed types
        return sorted(values, key=str)


def label_array(classes: list[Any]) -> np.ndarray:
    """The classes as an array of the target's own type: integer classes stay integers, which the metrics
    need (an object array of ints is an "unknown" target to scikit-learn)."""
    array = np.asarray(classes)
    return array if array.dtype.kind in "biuf" else np.asarray(classes, dtype=object)


def _means_yes(label: Any) -> bool:
    """True for the labels that name the positive case: 1 (also 1.0, what a 0/1 column with a blank cell
    becomes), true, "yes", "y", "positive"..."""
    if isinstance(label, bool | np.bool_):
        return bool(label)
    if isinstance(label, int | float | np.number):
        return label == 1
    text = str(label).strip().lower()
    return text in POSITIVE_WORDS or _as_number(text) == 1


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same_label(label: Any, wanted: Any) -> bool:
    """A configured class matches its label as text or as a number (1 matches 1.0)."""
    if str(label) == str(wanted):
        return True
    number = _as_number(label)
    return number is not None and not isinstance(label, bool | np.bool_) and number == _as_number(wanted)


def positive_class(config: Config, classes: list[Any]) -> Any:
    """The class the binary metrics are about: configured, else 1/true/yes, else None."""
    if config.data.positive_class is not None:
        for label in classes:
            if _same_label(label, config.data.positive_class):
                return label
        raise UserError(
            f"data.positive_class {config.data.positive_class!r} is not a class of the target "
            f"(classes: {', '.join(map(str, classes))}); set it to one of them, e.g. "
            f"positive_class: {classes[-1]!r}"
        )
    for label in classes:
        if _means_yes(label):
            return label
    return None


def resolve_positive_class(config: Config, target: pd.Series) -> Any:
    """The positive class: configured, else 1/true/yes, else the minority class."""
    counts = target.value_counts()
    chosen = positive_class(config, [plain(label) for label in counts.index])
    return plain(counts.index[-1]) if chosen is None else chosen
