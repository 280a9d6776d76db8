"""`train`: baseline and model cross-validated on the same folds, the quality gate, the final fit, the
artifacts (model, metadata, reference sample, model card) and a line in the experiment log.

Nothing under models/ or reports/model_card.md changes unless the gate passes; then the model is stored as
a new version (models/versions/<model_version>/) and made current in one atomic switch, so a failed or
killed run leaves the previous good model in place (`artifacts.model_store`).

Retraining (`train --data NEW`): the model trained on new labelled data is a challenger. The current model
(the champion) is scored on the same validation rows of the same folds; the challenger replaces it only
when it passes the gate and beats it on the gate metric. Both are logged in reports/experiments.jsonl.
"""

from __future__ import annotations

import resource
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from ..artifacts import files as artifacts
from ..artifacts.experiments import CHAMPION, REJECTED, Challenge, ExperimentEntry, append_experiment
from ..artifacts.metadata import GateVerdict, ModelMetadata
from ..artifacts.model_store import ModelStore
from ..artifacts.paths import ReportFolder
from ..core.config import Config
from ..core.errors import GateFailed, UserError
from ..core.metrics import METRICS
from ..core.progress import say, step
from ..core.wording import number
from ..data import contract as contract_mod
from ..data.tables import file_sha256
from ..data.training_data import load_training_data
from .calibration import calibrated_cv, fit_calibration
from .conformal import TIES_WORTH_SAYING, fit_uncertainty, measured_level
from .evaluate import CVResult, cross_validate, score_fitted_on_folds
from .gate import cautions, gate, robustness_verdict
from .pipeline import after_coercion, build_pipeline, coerce_rows, make_estimator
from .robustness import run_robustness
from .robustness_card import train_lines
from .write import TrainingRun, now, write_artifacts


class _Clock:
    """Wall time and CPU time (this process and its workers) since creation."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = self._cpu()

    @staticmethod
    def _cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def elapsed(self) -> dict[str, float]:
        return {
            "wall_seconds": round(time.perf_counter() - self.wall, 3),
            "cpu_seconds": round(self._cpu() - self.cpu, 3),
        }


def run_train(config: Config, data_path: Path | None = None, as_shadow: bool = False) -> ModelMetadata:
    """Train, gate and (when the gate passes) store the new version and make it current (`as_shadow`: the
    shadow, scored beside the current model on live traffic). Returns the metadata.

    With `data_path` (new labelled data), the result is a challenger of the current model: kept only
    when it is better on the same validation rows (see the module docstring). One run at a time per
    project: a second one stops at once with the reason."""
    store = ModelStore(config.models_dir)
    with store.training_lock():
        if as_shadow and not store.current_folder().metadata.is_file():
            raise UserError("`train --shadow` needs a current model to shadow: run `train` first")
        return _run_train(config, data_path, as_shadow)


def _run_train(config: Config, data_path: Path | None, as_shadow: bool) -> ModelMetadata:
    clock = _Clock()
    source = data_path or config.data_path
    champion = _load_champion(config) if data_path is not None else None
    with step(f"loading {source}"):
        frame, training = load_training_data(source, config)
    say(f"  {training.rows_read:,} rows read, {training.rows_used:,} used")
    if training.rows_sampled_from:
        say(
            f"  training on a seeded sample of {training.rows_used:,} of {training.rows_sampled_from:,} rows "
            "(model.max_train_rows)"
        )
    if training.rows_missing_target:
        say(f"  dropped {training.rows_missing_target:,} rows with no value in target {config.data.target!r}")
    if training.rows_missing_time:
        say(f"  dropped {training.rows_missing_time:,} rows with no date in {config.data.time_column!r}")
    contract = _contract_for(frame, config)
    contract_mod.check_matches(training.frame, contract, config)
    X, y = training.frame, training.target
    coerced = coerce_rows(contract, X)  # once, for every fold and the final fit
    final_fit = partial(_final_fit, contract, config, coerced, y)
    cv = cross_validate(
        lambda rows: build_pipeline(contract, config, rows=rows, table_rows=len(X)),
        lambda rows: make_estimator(config, baseline=True),  # the dummy reads only the target
        X,
        y,
        config,
        coerced=coerced,
        final_fit=final_fit,
    )
    verdict = GateVerdict.from_json(gate(cv, config))
    entry = ExperimentEntry(
        timestamp=now(),
        problem_type=config.problem_type,
        model_family=config.model.family,
        cv_method=cv.method,
        metrics=_means(cv.summary("model")),
        baseline=_means(cv.summary("baseline")),
        gate=verdict,
        data_sha256=file_sha256(source),
        schema_hash=contract.schema_hash,
        rows_used=training.rows_used,
        settings={
            "cv_folds": config.model.cv_folds,
            "random_state": config.model.random_state,
            "max_train_rows": config.model.max_train_rows,
        },
        data_path=str(data_path) if data_path is not None else None,
    )
    if champion is not None:
        entry = replace(entry, challenge=_challenge(champion, X, y, cv, config, entry))
    if not verdict.passed:
        _reject(
            entry,
            clock,
            config,
            f"quality gate failed: {verdict.reason}; the previous model is kept"
            + (f"; {verdict.advice}" if verdict.advice else ""),
        )
    if entry.challenge is not None and not entry.challenge.promoted:
        challenge = entry.challenge
        _reject(
            entry,
            clock,
            config,
            f"the challenger is not better than the current model {challenge.champion_version} on the "
            f"same validation: {challenge.metric} {number(challenge.challenger)} vs "
            f"{number(challenge.champion)}; the current model is kept",
        )
    cv = _calibrate(cv, y, config)
    with step("robustness: the last validation fold with noisy, missing, out-of-range and unseen inputs"):
        robustness = run_robustness(cv, coerced, y, contract, config)
    for line in train_lines(robustness):
        say(line)
    entry = replace(entry, robustness=robustness.summary() if robustness.ran else None)
    if not robustness.passed:
        verdict = robustness_verdict(verdict, robustness)
        failed = f"quality gate failed: {verdict.reason}; the previous model is kept; {verdict.advice}"
        _reject(replace(entry, gate=verdict), clock, config, failed)
    cv = _conformal(cv, X, y, config)
    model = cv.final_model
    if model is None:
        with step(f"final fit on all {training.rows_used:,} rows"):
            model = final_fit()
    del coerced, final_fit  # the coerced copy of the table is not needed past the final fit
    with step("feature importance (permutation, on the last validation fold)"):
        importance = feature_importance(cv, contract, config)
    warnings = cautions(cv, verdict.to_json(), importance)
    for warning in warnings:
        say(f"  warning: {warning['message']}")
    run = TrainingRun(model, contract, training, cv, verdict, importance, warnings, entry, source, robustness)
    with step("writing artifacts"):
        metadata = write_artifacts(config, run, clock.elapsed, as_shadow=as_shadow)
    where = ModelStore(config.models_dir).folder(str(metadata.model_version)).root
    if as_shadow:
        say(
            f"model {metadata.model_version} stored in {where} as the shadow: running servers score live "
            "traffic with it too; `models compare` shows how it does, `models promote` makes it current"
        )
    else:
        say(f"model {metadata.model_version} stored in {where} and made the current model")
    return metadata


def _final_fit(contract: contract_mod.Contract, config: Config, coerced: pd.DataFrame, y: pd.Series):
    """The model shipped: fitted on every training row, already coerced (`pipeline.coerce_rows`)."""
    model = build_pipeline(contract, config, rows=len(coerced), table_rows=len(coerced))
    after_coercion(model).fit(coerced, y)
    return model


def _calibrate(cv: CVResult, y: pd.Series, config: Config) -> CVResult:
    """Fit the probability calibration on the out-of-fold probabilities and leave in `cv` what live scoring
    will answer for those rows (calibrated probabilities and their labels) for the reference sample, the
    per-group breakdown and drift. The fold scores the gate compared are unchanged."""
    calibration = fit_calibration(cv, y, config)
    if cv.classes is not None:
        say(
            f"  calibration ({calibration.chosen_by}): {calibration.method}; Brier score "
            f"{number(calibration.brier_before)} → {number(calibration.brier_after)}, ECE "
            f"{number(calibration.ece_before)} → {number(calibration.ece_after)} (out-of-fold, cross-fitted)"
        )
    return replace(calibrated_cv(cv, calibration), calibration=calibration)


def _conformal(cv: CVResult, X: pd.DataFrame, y: pd.Series, config: Config) -> CVResult:
    """The conformal scores of the out-of-fold predictions (`conformal`), as live scoring will answer them
    (calibrated), with their coverage measured on rows each threshold was not taken from."""
    uncertainty = fit_uncertainty(cv, y, X, config)
    if not uncertainty.enabled:
        say(f"  no prediction {'sets' if cv.classes is not None else 'intervals'}: {uncertainty.reason}")
        return replace(cv, uncertainty=uncertainty)
    what = f"prediction {'sets' if uncertainty.kind == 'set' else 'intervals'} at {uncertainty.coverage:.0%}"
    level = measured_level(uncertainty, uncertainty.coverage)
    if level is None:
        say(f"  {what} (conformal, on {uncertainty.rows:,} out-of-fold rows): too few rows to measure them")
        return replace(cv, uncertainty=uncertainty)
    size = (
        f"mean set size {level['mean_set_size']:.2f}"
        if uncertainty.kind == "set"
        else f"mean width {number(level['mean_width'])}"
    )
    say(
        f"  {what}: measured coverage {level['measured']:.1%}, {size} "
        f"(conformal, on {uncertainty.rows:,} out-of-fold rows, cross-fitted)"
    )
    if level["at_threshold"] > TIES_WORTH_SAYING:
        say(
            f"  {level['at_threshold']:.0%} of those rows share the threshold's score (the model gives them "
            "the very same output), so more true values fall inside than asked"
        )
    return replace(cv, uncertainty=uncertainty)


def _load_champion(config: Config):
    """The current model and its metadata, which a challenger must beat."""
    from ..serving.trained_model import load_trained

    try:
        return load_trained(config)
    except UserError as exc:
        raise UserError(f"{exc} (`train --data` challenges the current model: train one first)") from None


def _reject(entry: ExperimentEntry, clock: _Clock, config: Config, reason: str) -> NoReturn:
    """Log a run that may not replace the current model, then stop with exit code 1 (models/ untouched)."""
    log = ReportFolder(config.reports_dir).experiments
    append_experiment(log, entry.finished(REJECTED, None, clock.elapsed()))
    raise GateFailed(reason)


def _means(summary: dict[str, dict[str, float]]) -> dict[str, float]:
    return {name: value["mean"] for name, value in summary.items()}


def _challenge(
    champion, X: pd.DataFrame, y: pd.Series, cv: CVResult, config: Config, entry: ExperimentEntry
) -> Challenge:
    """Score the current model on the challenger's validation rows, log it, and compare on the gate
    metric. The champion's line in the experiment log has status "champion"."""
    needed = _raw_features(champion)
    missing = [name for name in needed if name not in X.columns]
    if missing:
        raise UserError(
            f"the new data lacks column(s) {', '.join(map(repr, missing))} that the current model needs; "
            "it cannot be compared with a challenger on that data"
        )
    with step(f"scoring the current model {champion.version} on the same validation folds"):
        champion_scores = score_fitted_on_folds(champion.pipeline, X[needed], y, cv, config)
    if entry.data_sha256 == champion.metadata.data.sha256:
        say("  note: the current model was trained on this file: its scores on it are in-sample, flattering")
    metric = config.gate_metric
    champion_value = champion_scores[metric]["mean"]
    challenger_value = entry.metrics[metric]
    append_experiment(
        ReportFolder(config.reports_dir).experiments,
        ExperimentEntry(
            timestamp=now(),
            status=CHAMPION,
            model_version=champion.version,
            problem_type=config.problem_type,
            model_family=champion.metadata.model_family,
            cv_method=cv.method,
            metrics=_means(champion_scores),
            data_sha256=entry.data_sha256,
            data_path=entry.data_path,
            rows_used=entry.rows_used,
            note="current model scored on the validation folds of a challenger trained on new data",
        ),
    )
    better = METRICS[metric].is_better(challenger_value, champion_value)
    promoted = bool(np.isfinite(challenger_value) and better)
    say(
        f"  {metric}: challenger {number(challenger_value)}, current model {number(champion_value)} "
        f"({'challenger is better' if promoted else 'current model stays'})"
    )
    return Challenge(champion.version, metric, champion_value, challenger_value, promoted)


def _raw_features(trained) -> list[str]:
    return [feature["name"] for feature in trained.input_features]


def _contract_for(frame: pd.DataFrame, config: Config) -> contract_mod.Contract:
    """The data contract on disk, or one inferred now (and written) when `audit` has not run yet."""
    contract = contract_mod.load_contract(config.schema_path)
    if contract is not None:
        return contract
    from ..audit.checks import detect
    from ..audit.tables import exclusions

    with step("no configs/schema.json yet: inferring the data contract (run `audit` for the full report)"):
        contract = contract_mod.infer_contract(frame, config, exclusions(detect(frame, config)))
        artifacts.write_json(config.schema_path, contract.to_json())
    return contract


def feature_importance(
    cv: CVResult, contract: contract_mod.Contract, config: Config
) -> list[dict[str, float]]:
    """Permutation importance of each original feature: how much the gate metric drops when that column is
    shuffled, measured on held-out rows so that overfitting does not inflate it.

    Scored on one thread: each of its many predictions is of a few thousand rows, too few for the boosting's
    threads to pay for their start-up, which on a busy machine made them several times slower (same
    answers: the prediction does not depend on the number of threads)."""
    from sklearn.inspection import permutation_importance
    from threadpoolctl import threadpool_limits

    X_valid, y_valid = cv.last_fold_validation
    raw = [column["name"] for column in contract.input_features]
    sample = X_valid[raw].sample(min(len(X_valid), 2000), random_state=config.model.random_state)
    with threadpool_limits(limits=1, user_api="openmp"):
        result = permutation_importance(
            cv.last_fold_model,
            sample,
            y_valid.loc[sample.index],
            scoring=METRICS[config.gate_metric].sklearn_scoring,
            n_repeats=5,
            random_state=config.model.random_state,
        )
    ranked = sorted(
        zip(raw, result.importances_mean, result.importances_std, strict=True), key=lambda item: -item[1]
    )
    return [{"feature": name, "importance": float(mean), "std": float(std)} for name, mean, std in ranked]
