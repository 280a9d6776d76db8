"""How the model's raw output becomes what serving answers, as plain numbers kept in models/metadata.json:
the probability calibration map (`Calibration`, fitted and applied by `training.calibration`) and the
conformal scores behind prediction intervals and sets (`Uncertainty`, `training.conformal`). Plain numbers,
so that loading a model never unpickles more than the model file's own checked types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CalibrationMap:
    """The map of one class's probability: `sigmoid` (p' = 1 / (1 + exp(-(slope * logit(p) + intercept))))
    or `isotonic` (breakpoints x → y, linear in between and flat outside, as `np.interp` reads them)."""

    label: Any  # the class whose probability is mapped, as a plain JSON value
    slope: float | None = None
    intercept: float | None = None
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        if self.slope is not None:
            return {"label": self.label, "slope": self.slope, "intercept": self.intercept}
        return {"label": self.label, "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CalibrationMap:
        return cls(
            raw.get("label"),
            raw.get("slope"),
            raw.get("intercept"),
            tuple(raw.get("x", ())),
            tuple(raw.get("y", ())),
        )


@dataclass(frozen=True)
class Calibration:
    """How the predicted probabilities are calibrated (`training.calibration` fits and applies it).

    `method` is none, sigmoid or isotonic; `chosen_by` auto (the cross-fitted Brier scores in `candidates`
    decided), forced (model.calibration named it), or "not applicable" (regression, or a file written before
    calibration existed). Brier score and expected calibration error (ECE) are measured on the out-of-fold
    probabilities, before and after the map (after: cross-fitted, the map never scored on rows it was fitted
    on); `reliability` holds the bins of the reliability plot."""

    method: str = "none"
    chosen_by: str = "not applicable"
    reason: str = ""
    brier_before: float | None = None
    brier_after: float | None = None
    ece_before: float | None = None
    ece_after: float | None = None
    measured_on: str = ""  # which probability Brier and ECE are about, and the bins
    candidates: dict[str, float] = field(default_factory=dict)  # cross-fitted Brier score per method
    reliability: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # {"before"|"after": bins}
    maps: tuple[CalibrationMap, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "chosen_by": self.chosen_by,
            "reason": self.reason,
            "brier_before": self.brier_before,
            "brier_after": self.brier_after,
            "ece_before": self.ece_before,
            "ece_after": self.ece_after,
            "measured_on": self.measured_on,
            "candidates": self.candidates,
            "reliability": self.reliability,
            "maps": [item.to_json() for item in self.maps],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Calibration:
        raw = raw or {}
        return cls(
            method=raw.get("method", "none"),
            chosen_by=raw.get("chosen_by", "not applicable"),
            reason=raw.get("reason", ""),
            brier_before=raw.get("brier_before"),
            brier_after=raw.get("brier_after"),
            ece_before=raw.get("ece_before"),
            ece_after=raw.get("ece_after"),
            measured_on=raw.get("measured_on", ""),
            candidates=raw.get("candidates") or {},
            reliability=raw.get("reliability") or {},
            maps=tuple(CalibrationMap.from_json(item) for item in raw.get("maps") or ()),
        )


@dataclass(frozen=True)
class Uncertainty:
    """Conformal prediction intervals or sets (`training.conformal` fits and applies them).

    `kind` is interval (regression), set (classification) or none (`reason` says why). The nonconformity
    scores of the out-of-fold rows (absolute error; 1 minus the calibrated probability of the true class)
    are kept sorted, as plain numbers: every one when there are at most `conformal.MAX_KEPT_SCORES`, else
    the score at evenly spread ranks (`ranks`, 1-based, the last one `rows`), enough to answer any coverage
    within 0.05 points. `measured` holds the coverage and size measured on rows the threshold was not taken
    from (overall, per level, and per sensitive group)."""

    kind: str = "none"
    reason: str = ""
    score: str = ""  # what the nonconformity score is, in words
    coverage: float | None = None  # the default level: uncertainty.coverage when trained
    rows: int = 0  # out-of-fold rows the scores come from
    ranks: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "score": self.score,
            "coverage": self.coverage,
            "rows": self.rows,
            "ranks": list(self.ranks),
            "scores": list(self.scores),
            "measured": self.measured,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Uncertainty:
        raw = raw or {"reason": "the model was trained before prediction intervals and sets existed"}
        return cls(
            kind=raw.get("kind", "none"),
            reason=raw.get("reason", ""),
            score=raw.get("score", ""),
            coverage=raw.get("coverage"),
            rows=int(raw.get("rows") or 0),
            ranks=tuple(int(rank) for rank in raw.get("ranks") or ()),
            scores=tuple(float(score) for score in raw.get("scores") or ()),
            measured=raw.get("measured") or {},
        )
