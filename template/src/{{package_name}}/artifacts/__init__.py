"""What the project writes and reads back, each file with one owner. The modules, in the order the data
flows:

- `paths`: the names of the files in the model and report folders;
- `files`: atomic writes, JSON and JSON-lines helpers, reading a model file safely;
- `model_file`, `signing`: the types a model file may hold, and its optional signature;
- `metadata`: models/metadata.json as the typed `ModelMetadata`, with `output_maps` its records of how the
  raw output becomes the answer (probability calibration, conformal scores) and `robustness_record` the
  robustness suite's results;
- `model_store`: models/versions/<model_version>/ and the models/current.json pointer (`ModelStore`), with
  `model_records` its typed records (`Pointer`, `VersionEntry`), `durable` its crash-safe writes and locks,
  `model_mirror` the check that the copies at the top of models/ are files of a stored version;
- `experiments`: reports/experiments.jsonl, one `ExperimentEntry` per training run;
- `training_outputs`: models/training_outputs.parquet, the training rows' out-of-fold outputs by fingerprint;
- `log_line`: one line of the prediction log (`LogLine`), written by the API and read by `drift`;
- `outcome_line`: one line of the outcome store (`OutcomeLine`): ground truth sent back after a prediction;
- `prediction_index`: logs/prediction_index.sqlite3, the prediction ids and ID values logged, for matching;
- `audit_summary`: reports/audit/audit.json.
"""
