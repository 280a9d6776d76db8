"""The drift monitor (`drift`): live traffic compared with the training reference, column by column.

Reference: models/reference.parquet (training rows with out-of-fold predictions). Current: the prediction
log under logs/predictions/ (optionally a time window), or a file or a folder of Parquet files given with
`--current`. Column types come from the data contract the model was trained on, methods and thresholds
from configs/project.yaml, the verdicts from Evidently. The modules, in the order the data flows:

- `columns`: which columns are monitored, how (kind, method, threshold), and their values made comparable;
- `training_rows`: live rows that are training rows, compared by their out-of-fold output as the reference is;
- `current`: reading the reference and the live rows (seeded sampling keeps big traffic fast);
- `parquet_sample`: that sample drawn from a Parquet file or a (partitioned) folder of them without loading
  it: row counts from the files' metadata, only the row groups the sample needs read;
- `noise`: each column's threshold for this live sample: the configured one, raised to what unchanged data
  scores by chance when the live rows are too few for the column's number of categories or its spread;
- `evidently_run`: everything that touches Evidently (verdicts, the HTML report, the workspace);
- `alarm`: the alarm policy, which rules fire on the verdicts (the model's output, the most important
  features, the share of drifted columns);
- `monitor`: the command itself, which writes reports/drift/drift.json and drift.html.

Evidently is imported only inside `evidently_run`, and only by the `drift` command: serving never loads it.
"""
