"""The quality gate, and the cautions that do not fail it.

The gate compares the problem type's gate metric (see `core.metrics`) of the model with the dummy
baseline's, on the same folds: the model must be above the no-skill level and beat the baseline by
`model.min_lift`. The cautions tell a reader of the scores what to keep in mind although the gate passed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..artifacts.metadata import GateVerdict
from ..artifacts.robustness_record import Robustness
from ..core.config import Config
from ..core.metrics import METRICS, gate_metric
from ..core.wording import count, number
from .evaluate import CVResult
from .robustness_card import perturbation_words

# Fewer rows than this: scores vary a lot between folds, and the gate's failure message says what to try.
SMALL_TABLE_ROWS = 300


def gate(result: CVResult, config: Config) -> dict[str, Any]:
    """The quality gate: the model's mean gate metric must be above the no-skill level and exceed the
    baseline's by `min_lift`. The no-skill level holds whatever the baseline scores: a backtest's baseline
    can score far below it when the target's level shifts between periods. `reason` says in one line why it
    failed (None when it passed), `advice` what to try (on small tables)."""
    metric = gate_metric(config.problem_type)
    model_value = result.summary("model")[metric.name]["mean"]
    baseline_value = result.summary("baseline")[metric.name]["mean"]
    lift = model_value - baseline_value
    level = metric.no_skill_level(len(result.classes) if result.classes else None)
    reason = None
    if not np.isfinite(lift):
        reason = f"{metric.name} could not be computed on the validation folds (a fold with a single class?)"
    elif model_value <= level:
        reason = (
            f"{metric.name} {number(model_value)} is not above {level:.3g} ({metric.no_skill_words}; "
            f"the baseline scores {number(baseline_value)})"
        )
    elif lift < config.model.min_lift:
        reason = (
            f"{metric.name} {number(model_value)} vs baseline {number(baseline_value)} "
            f"(lift {number(lift, signed=True)}, required {number(config.model.min_lift, signed=True)})"
        )
    advice = None
    if reason and result.rows < SMALL_TABLE_ROWS:
        advice = (
            f"with only {count(result.rows, 'row')}, try model.family: linear, fewer folds "
            f"(model.cv_folds: {max(2, min(3, config.model.cv_folds - 1))}) or more data"
        )
    return {
        "metric": metric.name,
        "model": model_value,
        "baseline": baseline_value,
        "lift": lift,
        "min_lift": config.model.min_lift,
        "no_skill": level,
        "passed": reason is None,
        "reason": reason,
        "advice": advice,
    }


def robustness_verdict(verdict: GateVerdict, robustness: Robustness) -> GateVerdict:
    """The verdict of a model that passed the gate on its scores but whose worst perturbation lowers the gate
    metric by more than robustness.max_drop (`Robustness.passed` is false)."""
    worst = robustness.worst
    assert worst is not None and worst.drop is not None and robustness.max_drop is not None
    reason = (
        f"robustness: with {perturbation_words(worst)}, {verdict.metric} drops by {number(worst.drop)}, more "
        f"than robustness.max_drop {number(robustness.max_drop)}"
    )
    advice = (
        "the model card's Robustness section names the most fragile feature; raise robustness.max_drop or "
        "set it to null to report without gating"
    )
    return replace(verdict, passed=False, reason=reason, advice=advice)


def cautions(result: CVResult, verdict: dict[str, Any], importance: list[dict[str, Any]]) -> list[dict]:
    """What a reader of the scores must know although the gate passed: a near-perfect score (a leak, often
    of several columns together, which the audit's one-column scan misses), a lift within the noise
    between folds, and scores from very few rows. Each is {"kind", "message"}."""
    metric, value = METRICS[verdict["metric"]], verdict["model"]
    label = metric.in_sentence
    spread = result.summary("model")[metric.name]["std"]
    top = ", ".join(row["feature"] for row in importance[:3]) or "none"
    found = []
    if np.isfinite(value) and value >= metric.near_perfect:
        found.append(
            (
                "near_perfect",
                f"{label} {number(value)} on held-out rows is near-perfect, which is rare on real data: "
                f"check that the most important features ({top}) are known before the outcome and are not "
                "computed from it, alone or together",
            )
        )
    if verdict["passed"] and np.isfinite(spread) and verdict["lift"] < spread:
        found.append(
            (
                "lift_within_noise",
                f"the lift over the baseline ({number(verdict['lift'], signed=True)}) is smaller than the "
                f"spread of {label} across folds (± {number(spread)}): the model's advantage may not hold on "
                "new data",
            )
        )
    if result.rows < SMALL_TABLE_ROWS:
        found.append(
            (
                "small_table",
                f"only {count(result.rows, 'row')} to learn from and to score on: the scores are rough "
                "estimates, and more data is the surest improvement",
            )
        )
    return [{"kind": kind, "message": message} for kind, message in found]
