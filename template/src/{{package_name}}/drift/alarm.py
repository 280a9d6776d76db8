"""The alarm policy: which per-column verdicts make `drift` exit 1.

A share of drifted columns alone misses what matters most: one important feature moved far, or the model's
output moved, is one column of many, well under any sensible share. So the alarm goes off when any enabled
rule fires (`drift.alarm_rules`; an empty list never alarms):

- `prediction`: the model's output column drifted (its behaviour changed, whatever the cause);
- `top_features`: one of the `drift.top_features` most important features drifted (ranked by the model's
  permutation importance in its metadata; only features with a positive importance that are monitored);
- `drift_share`: at least `drift.drift_share` of the monitored columns drifted (Evidently's dataset drift).

A pure function of the verdicts, the columns, the model's metadata and the settings: the `drift` command
and the template's drift scenarios call the same `evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..artifacts.metadata import ModelMetadata
from ..core.config import ALARM_RULES, DriftConfig
from .columns import PREDICTION, Column

PREDICTION_RULE, TOP_FEATURES_RULE, DRIFT_SHARE_RULE = ALARM_RULES


@dataclass(frozen=True)
class Rule:
    """One rule's outcome: whether it is enabled, whether it fired, the drifted columns it looks at, and
    what it compared (threshold, share, the features considered). A rule that is switched off is still
    evaluated, so the report can say what it would have said."""

    name: str
    enabled: bool
    triggered: bool  # its condition holds, enabled or not
    columns: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fired(self) -> bool:
        return self.enabled and self.triggered

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "fired": self.fired, "columns": self.columns, **self.details}


@dataclass(frozen=True)
class Alarm:
    """Every rule's outcome, in the order of `ALARM_RULES`."""

    rules: dict[str, Rule]

    @property
    def fired_rules(self) -> list[str]:
        return [name for name, rule in self.rules.items() if rule.fired]

    @property
    def alarm(self) -> bool:
        return bool(self.fired_rules)

    @property
    def switched_off(self) -> list[str]:
        """Rules whose condition holds but that `drift.alarm_rules` leaves out."""
        return [name for name, rule in self.rules.items() if rule.triggered and not rule.enabled]

    def column_rules(self, name: str) -> list[str]:
        """The fired rules that name column `name`."""
        return [rule.name for rule in self.rules.values() if rule.fired and name in rule.columns]

    def to_json(self) -> dict[str, Any]:
        return {name: rule.to_json() for name, rule in self.rules.items()}


def top_features(metadata: ModelMetadata, columns: list[Column], count: int) -> list[str]:
    """The `count` most important monitored features: by permutation importance (the metadata's ranking,
    sorted again), leaving out features whose importance is not positive (shuffling them costs nothing)."""
    monitored = {column.name for column in columns if column.kind != PREDICTION}
    ranked = sorted(metadata.feature_importance, key=lambda item: -float(item.get("importance") or 0.0))
    chosen = [
        str(item["feature"])
        for item in ranked
        if str(item.get("feature")) in monitored and float(item.get("importance") or 0.0) > 0.0
    ]
    return chosen[:count]


def evaluate(
    drifted: Mapping[str, bool], columns: list[Column], metadata: ModelMetadata, settings: DriftConfig
) -> Alarm:
    """The rules' outcomes for per-column verdicts (`drifted`: column name to drifted; a column without a
    verdict counts as not drifted)."""
    enabled = set(settings.alarm_rules)
    moved = [column.name for column in columns if drifted.get(column.name, False)]
    output = next(column.name for column in columns if column.kind == PREDICTION)
    output_moved = [output] if output in moved else []
    top = top_features(metadata, columns, settings.top_features)
    top_moved = [name for name in top if name in moved]
    share = len(moved) / len(columns)
    rules = [
        Rule(
            PREDICTION_RULE, PREDICTION_RULE in enabled, bool(output_moved), output_moved, {"column": output}
        ),
        Rule(
            TOP_FEATURES_RULE,
            TOP_FEATURES_RULE in enabled,
            bool(top_moved),
            top_moved,
            {"top_features": top, "count": settings.top_features},
        ),
        Rule(
            DRIFT_SHARE_RULE,
            DRIFT_SHARE_RULE in enabled,
            share >= settings.drift_share,
            moved,
            {"share": share, "threshold": settings.drift_share},
        ),
    ]
    return Alarm({rule.name: rule for rule in rules})
