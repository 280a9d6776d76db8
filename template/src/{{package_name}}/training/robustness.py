"""The robustness suite: how the model's gate metric and its decisions move when its inputs get worse in
the ways live data does (docs/decisions/0009-robustness.md says why these perturbations and levels).

On validation rows the model did not train on (the last fold's), each perturbation changes the inputs as
the model's first step reads them (`pipeline.coerce_rows`):

  noise            Gaussian noise on every numeric feature, its standard deviation a share of the feature's
                   own (robustness.noise, e.g. 5%, 10%, 25%);
  missing          a share of each feature's values blanked at random (robustness.missing);
  out_of_range     a share of each numeric feature's values moved beyond the training range: half below the
                   minimum, half above the maximum, by half the span between the 1st and 99th percentiles;
  unseen_category  a share of each categorical feature's values replaced by a category never seen.

Each is applied to every feature it concerns at once (`Robustness.trials`) and, at its kind's strongest
level, to each feature alone (`Robustness.features`), which names the most fragile feature. Per trial: the
gate metric, its drop from the unchanged rows and the share of changed decisions (a class that flips; a
regression prediction that moves by more than robustness.tolerance of the target's standard deviation).
Decisions are the ones serving gives: calibrated probabilities and the labels they imply.

The numbers are reproducible: the draws are seeded by model.random_state, the kind and the feature (see
`perturb`), and the rows are a seeded sample. All perturbed copies are scored in a few
large model calls, on one thread: calls of some thousands of rows are too small for the boosting's threads
to pay for their start-up, which on a busy machine made them several times slower (the answers do not
depend on the number of threads). On wide tables fewer rows per trial keep the time bounded
(`PREDICTED_ROWS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..artifacts.output_maps import Calibration
from ..artifacts.robustness_record import Robustness, Trial
from ..core.config import Config
from ..core.metrics import METRICS, Predictions
from ..data.contract import Contract
from .calibration import calibrated_answers
from .evaluate import aligned_probabilities
from .pipeline import after_coercion

NOISE, MISSING, OUT_OF_RANGE, UNSEEN = "noise", "missing", "out_of_range", "unseen_category"
KINDS = (NOISE, MISSING, OUT_OF_RANGE, UNSEEN)
# Which feature kinds each perturbation concerns. Dates are only blanked: noise on a date is a shifted
# clock, which the calendar parts turn into a different month or weekday rather than into noise.
APPLIES_TO = {
    NOISE: ("numeric",),
    MISSING: ("numeric", "categorical", "datetime"),
    OUT_OF_RANGE: ("numeric",),
    UNSEEN: ("categorical",),
}
UNSEEN_VALUE = "(a category never seen in training)"
# Perturbed rows scored in all (trials x rows): on a wide table each trial gets fewer rows, never fewer than
# MIN_ROWS, so the suite costs about as much as the permutation importance does.
PREDICTED_ROWS = 200_000
MIN_ROWS = 200
BATCH_ROWS = 50_000  # rows per model call


@dataclass(frozen=True)
class Perturbation:
    """One trial to run: `kind` at `level` on `features` (see the module docstring)."""

    kind: str
    level: float
    features: tuple[str, ...]


@dataclass(frozen=True)
class Spread:
    """What the numeric perturbations need of each numeric feature, from the whole training table: its
    standard deviation, and the values just beyond its training range."""

    std: dict[str, float]
    below: dict[str, float]
    above: dict[str, float]

    @classmethod
    def of(cls, table: pd.DataFrame, numeric: list[str]) -> Spread:
        std, below, above = {}, {}, {}
        for name in numeric:
            values = table[name].to_numpy(dtype="float64")
            values = values[np.isfinite(values)]
            if values.size < 2 or values.min() == values.max():
                continue  # a constant feature: no spread to add noise by, no range to leave
            std[name] = float(values.std())
            low, high = np.percentile(values, [1, 99])
            step = (high - low) / 2 or (values.max() - values.min()) / 2
            below[name], above[name] = float(values.min() - step), float(values.max() + step)
        return cls(std, below, above)


def plan(contract: Contract, config: Config, spread: Spread) -> tuple[list[Perturbation], list[Perturbation]]:
    """The trials on every feature of a kind at once, per level; and each feature alone at its kind's
    strongest level. Numeric perturbations leave out constant features."""
    settings = config.robustness
    levels = {
        NOISE: settings.noise,
        MISSING: settings.missing,
        OUT_OF_RANGE: (settings.out_of_range,),
        UNSEEN: (settings.unseen_categories,),
    }
    together: list[Perturbation] = []
    alone: list[Perturbation] = []
    for kind in KINDS:
        names = [
            feature["name"]
            for feature in contract.features
            if feature["kind"] in APPLIES_TO[kind]
            and (kind not in (NOISE, OUT_OF_RANGE) or feature["name"] in spread.std)
        ]
        if not names:
            continue
        together += [Perturbation(kind, level, tuple(names)) for level in levels[kind]]
        alone += [Perturbation(kind, max(levels[kind]), (name,)) for name in names]
    return together, alone


def perturb(rows: pd.DataFrame, perturbation: Perturbation, spread: Spread, seed: int) -> pd.DataFrame:
    """A copy of the coerced `rows` with `perturbation` applied (missing values stay missing under noise).

    The random draws depend only on the seed, the kind and the feature, never on the level or on which
    other features are perturbed: the levels of a kind are nested (the values blanked at 10% are among
    those blanked at 30%; noise at 25% is the noise at 5% scaled up) and a feature perturbed alone changes
    exactly as it does beside the others. Differences between levels are then the level's, not chance's."""
    out = rows.copy()
    count = len(rows)
    chosen = max(1, round(perturbation.level * count)) if count else 0
    for name in perturbation.features:
        rng = np.random.default_rng([seed, KINDS.index(perturbation.kind), rows.columns.get_loc(name)])
        column = rows[name]
        if perturbation.kind == NOISE:
            out[name] = column + perturbation.level * spread.std[name] * rng.standard_normal(count)
            continue
        where = rng.permutation(count)[:chosen]
        if perturbation.kind == MISSING:
            blank = np.zeros(count, dtype=bool)
            blank[where] = True
            out[name] = column.mask(blank)
        elif perturbation.kind == OUT_OF_RANGE:
            values = column.to_numpy(dtype="float64", copy=True)
            high = rng.random(count)[where] < 0.5
            values[where] = np.where(high, spread.above[name], spread.below[name])
            out[name] = values
        else:
            values = column.to_numpy(dtype=object, copy=True)
            values[where] = UNSEEN_VALUE
            out[name] = pd.Series(values, index=rows.index, dtype=object)  # as coerced: plain objects
    return out


@dataclass(frozen=True)
class Outputs:
    """What serving would answer for some rows: the decisions, and the calibrated probabilities or the
    predicted values they come from."""

    labels: np.ndarray
    probabilities: np.ndarray | None


def answers(model: Any, coerced: pd.DataFrame, classes, calibration: Calibration) -> Outputs:
    """The model's answers for coerced rows, as serving gives them (`serving.scoring`)."""
    steps = after_coercion(model)
    if classes is None:
        return Outputs(np.asarray(steps.predict(coerced), dtype="float64"), None)
    labels, calibrated = calibrated_answers(
        calibration, aligned_probabilities(steps, coerced, classes), classes
    )
    return Outputs(labels, calibrated)


def scored_in_batches(
    count: int, build: Callable[[int], pd.DataFrame], score: Callable[[pd.DataFrame], Outputs], rows: int
) -> list[Outputs]:
    """`score` of the frames `build(0)` … `build(count - 1)`, each of `rows` rows, in a few large calls: the
    frames of one call are built just before it, so only that many copies of the rows exist at once."""
    per_call = max(1, BATCH_ROWS // max(rows, 1))
    found: list[Outputs] = []
    for start in range(0, count, per_call):
        group = [build(index) for index in range(start, min(start + per_call, count))]
        outputs = score(pd.concat(group, ignore_index=True))
        for index in range(len(group)):
            part = slice(index * rows, (index + 1) * rows)
            probabilities = outputs.probabilities
            found.append(
                Outputs(outputs.labels[part], None if probabilities is None else probabilities[part])
            )
    return found


@dataclass(frozen=True)
class Judge:
    """Scores one set of answers against the clean ones: the gate metric, its drop and the changed share."""

    metric: str
    target: pd.Series
    clean: Outputs
    classes: list[Any] | None
    positive: Any
    tolerance: float | None

    def value(self, outputs: Outputs) -> float | None:
        predictions = Predictions(
            self.target, outputs.labels, outputs.probabilities, self.classes, self.positive
        )
        value = float(METRICS[self.metric].score(predictions))
        return value if np.isfinite(value) else None

    def trial(self, perturbation: Perturbation, outputs: Outputs, clean_value: float | None) -> Trial:
        value = self.value(outputs)
        drop = None
        if value is not None and clean_value is not None:
            drop = float(METRICS[self.metric].gain(clean_value, value))
        if self.tolerance is None:
            changed = float(np.mean(outputs.labels != self.clean.labels))
        else:
            changed = float(np.mean(np.abs(outputs.labels - self.clean.labels) > self.tolerance))
        return Trial(perturbation.kind, perturbation.level, perturbation.features, value, drop, changed)


def measure(
    model: Any,
    rows: pd.DataFrame,
    target: pd.Series,
    table: pd.DataFrame,
    contract: Contract,
    config: Config,
    *,
    classes: list[Any] | None = None,
    positive: Any = None,
    calibration: Calibration | None = None,
    target_std: float | None = None,
) -> Robustness:
    """The suite for a fitted model Pipeline (its first step `coerce`) on validation `rows` (raw, as the data
    file holds them) and their `target`. `table` is the whole coerced training table, whose spreads and
    ranges the perturbations are measured by; `target_std` the training target's standard deviation, which
    sets the regression tolerance (default: the validation rows'). At most robustness.rows rows are
    scored, a seeded sample, and fewer when there are many trials (`PREDICTED_ROWS`)."""
    settings = config.robustness
    seed = config.model.random_state
    spread = Spread.of(table, contract.feature_names("numeric"))
    together, alone = plan(contract, config, spread)
    trials = [*together, *alone]
    size = min(len(rows), settings.rows, max(MIN_ROWS, PREDICTED_ROWS // max(len(trials), 1)))
    if size < len(rows):
        chosen = np.sort(np.random.default_rng(seed).choice(len(rows), size=size, replace=False))
        rows, target = rows.iloc[chosen], target.iloc[chosen]
    base = model.steps[0][1].transform(rows).reset_index(drop=True)
    calibration = calibration or Calibration()

    def score(frame: pd.DataFrame) -> Outputs:
        with threadpool_limits(limits=1, user_api="openmp"):  # one thread: see the module docstring
            return answers(model, frame, classes, calibration)

    clean = score(base)
    tolerance = None
    if classes is None:
        tolerance = float(settings.tolerance * (target_std if target_std is not None else spread_of(target)))
    judge = Judge(config.gate_metric, target.reset_index(drop=True), clean, classes, positive, tolerance)
    clean_value = judge.value(clean)

    def build(index: int) -> pd.DataFrame:
        return perturb(base, trials[index], spread, seed)

    outputs = scored_in_batches(len(trials), build, score, len(base))
    judged = [judge.trial(item, output, clean_value) for item, output in zip(trials, outputs, strict=True)]
    return Robustness(
        metric=config.gate_metric,
        clean=clean_value,
        rows=len(base),
        seed=seed,
        tolerance=tolerance,
        trials=tuple(judged[: len(together)]),
        features=tuple(judged[len(together) :]),
        max_drop=settings.max_drop,
    )


def run_robustness(
    cv: Any, table: pd.DataFrame, y: pd.Series, contract: Contract, config: Config
) -> Robustness:
    """The suite of `train`: the last fold's model on its validation rows (rows it did not train on), its
    answers calibrated as serving calibrates them."""
    if not config.robustness.enabled:
        return Robustness(reason="robustness: off in configs/project.yaml")
    if cv.last_fold_model is None or cv.last_fold_validation is None:
        return Robustness(reason="no validation fold to perturb")
    rows, target = cv.last_fold_validation
    return measure(
        cv.last_fold_model,
        rows,
        target,
        table,
        contract,
        config,
        classes=cv.classes,
        positive=cv.positive,
        calibration=cv.calibration,
        target_std=None if cv.classes is not None else spread_of(y),
    )


def spread_of(values: pd.Series) -> float:
    """The standard deviation of numbers, missing ones left out."""
    return float(np.nanstd(values.to_numpy(dtype="float64")))
