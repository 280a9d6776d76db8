"""Training (`train`): a cross-validated model against a baseline, the quality gate, and what is written.

Input: the configured data and the data contract. Output: models/ (model file, metadata.json, reference
sample), reports/model_card.md and a line in reports/experiments.jsonl, all only when the gate passes. The
modules, in the order the data flows:

- `pipeline`: the model, one scikit-learn Pipeline from raw records to predictions (`features.py` runs in it);
- `classes`, `folds`: the target's classes and the positive class; the cross-validation folds (stratified,
  grouped by ID, or in time order);
- `evaluate`: model and baseline cross-validated on the same folds, with out-of-fold predictions;
- `parallel`: how many folds are fitted at once (`model.n_jobs`, cores, memory) and running them in
  threads without oversubscribing the cores;
- `gate`: the quality gate and the warnings that do not fail it;
- `calibration`: the probability calibration fitted on the out-of-fold probabilities, and the one function
  that applies it (training and serving alike);
- `groups`: the metrics per group of each sensitive column;
- `conformal`: the prediction intervals and sets (conformal prediction on the out-of-fold predictions),
  their scores and measured coverage, and the functions serving applies them with;
- `robustness`: the robustness suite, the gate metric and the decisions under noisy, missing,
  out-of-range and unseen inputs;
- `model_card`: the model card, in words a client can read; `calibration_card` its calibration section and
  reliability plot; `uncertainty_card` its section on the prediction intervals and sets; `robustness_card`
  its section on robustness (and the lines `train` prints about it);
- `write`: the files of a run that passed, written so that a failure leaves the previous set intact;
- `train`: the command, which wires them.
"""
