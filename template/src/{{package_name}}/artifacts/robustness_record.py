"""The robustness suite's results as kept in models/metadata.json (`robustness`) and read by the model card
and the experiment log: plain numbers per perturbation (`Trial`), written by `training.robustness`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Trial:
    """One perturbation of the validation rows: `kind` (noise, missing, out_of_range, unseen_category) at
    `level` (noise: a share of each feature's standard deviation; otherwise the share of values changed) on
    `features`. `value` is the gate metric after it (None when these rows cannot give it, e.g. one class
    only), `drop` how much worse that is than on the unchanged rows (negative: better, by chance) and
    `changed` the share of decisions that changed (classes, or regression predictions moved beyond the
    tolerance)."""

    kind: str
    level: float
    features: tuple[str, ...]
    value: float | None
    drop: float | None
    changed: float

    @property
    def feature(self) -> str:
        """The feature of a one-feature trial (the first of several otherwise)."""
        return self.features[0] if self.features else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "level": self.level,
            "features": list(self.features),
            "value": self.value,
            "drop": self.drop,
            "changed": self.changed,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Trial:
        return cls(
            kind=str(raw.get("kind", "")),
            level=float(raw.get("level") or 0.0),
            features=tuple(raw.get("features") or ()),
            value=raw.get("value"),
            drop=raw.get("drop"),
            changed=float(raw.get("changed") or 0.0),
        )


def _fragility(trial: Trial) -> tuple[float, float]:
    """Ranks trials: the larger drop first, then the more changed decisions (a drop that cannot be measured
    ranks by the decisions alone)."""
    drop = trial.drop if trial.drop is not None and math.isfinite(trial.drop) else -math.inf
    return drop, trial.changed


@dataclass(frozen=True)
class Robustness:
    """The suite's results. `trials`: each perturbation at each level on every feature it applies to;
    `features`: each feature perturbed alone at its kind's strongest level, which names the most fragile
    one. `clean` is the gate metric on the `rows` unchanged validation rows, `tolerance` (regression) the
    change in the target's units beyond which a prediction counts as moved, `max_drop` the setting that
    fails the gate (None: reported only). `reason` says why the suite did not run, when it did not."""

    reason: str = ""
    metric: str | None = None
    clean: float | None = None
    rows: int = 0
    seed: int | None = None
    tolerance: float | None = None
    trials: tuple[Trial, ...] = ()
    features: tuple[Trial, ...] = ()
    max_drop: float | None = None

    @property
    def ran(self) -> bool:
        return bool(self.trials)

    @property
    def worst(self) -> Trial | None:
        """The perturbation (over every feature) that costs the gate metric most."""
        return max(self.trials, key=_fragility, default=None)

    @property
    def most_fragile(self) -> Trial | None:
        """The one-feature perturbation that costs most: its feature is the model's most fragile input."""
        return max(self.features, key=_fragility, default=None)

    def of_kind(self, kind: str) -> list[Trial]:
        """The one-feature trials of `kind`, the most costly first."""
        return sorted((trial for trial in self.features if trial.kind == kind), key=_fragility, reverse=True)

    @property
    def passed(self) -> bool:
        """False when `max_drop` is set and a perturbation lowers the gate metric by more."""
        worst = self.worst
        if self.max_drop is None or worst is None or worst.drop is None or not math.isfinite(worst.drop):
            return True
        return worst.drop <= self.max_drop

    def summary(self) -> dict[str, Any]:
        """The experiment log's line: the worst perturbation, the most fragile feature, the verdict."""
        worst, fragile = self.worst, self.most_fragile
        return {
            "worst": worst.to_json() if worst else None,
            "most_fragile": fragile.to_json() if fragile else None,
            "max_drop": self.max_drop,
            "passed": self.passed,
        }

    def to_json(self) -> dict[str, Any]:
        if not self.ran:
            return {"reason": self.reason}
        return {
            "reason": self.reason,
            "metric": self.metric,
            "clean": self.clean,
            "rows": self.rows,
            "seed": self.seed,
            "tolerance": self.tolerance,
            "trials": [trial.to_json() for trial in self.trials],
            "features": [trial.to_json() for trial in self.features],
            **self.summary(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Robustness:
        raw = raw or {"reason": "the model was trained before the robustness suite existed"}
        return cls(
            reason=raw.get("reason", ""),
            metric=raw.get("metric"),
            clean=raw.get("clean"),
            rows=int(raw.get("rows") or 0),
            seed=raw.get("seed"),
            tolerance=raw.get("tolerance"),
            trials=tuple(Trial.from_json(item) for item in raw.get("trials") or ()),
            features=tuple(Trial.from_json(item) for item in raw.get("features") or ()),
            max_drop=raw.get("max_drop"),
        )
