"""Serving: the trained model answering requests (`serve`) and scoring files (`predict`). The modules, in
the order the data flows:

- `trained_model`: models/metadata.json and the model file, loaded only once their hashes (and signature)
  match;
- `encoder`: a NumPy encoder compiled from the fitted Pipeline for fast single-record scoring, checked
  against the Pipeline at every start;
- `scoring`: `Scorer`, predictions (labels, probabilities, values) for a frame of records;
- `input_warnings`: per record, where it lies outside what training saw (range, categories, missing values),
  judged the same way for the API, files and Spark;
- `row_checks`: the API's rules for a record applied to every row of a file;
- `predict_command`: the `predict` command's options read against the settings, then `batch` or `spark_batch`;
- `batch`: `predict --input`, a file scored in chunks, with rejected rows set aside on request;
- `batch_input`: the input file cut into chunks (a CSV into byte ranges of whole rows) that the process
  scoring a chunk reads itself;
- `batch_chunks`: one chunk read, checked, scored and encoded for the output;
- `batch_output`: the scored chunks appended, in the input's order, to output files that appear when done;
- `batch_workers`: the chunks of a large file scored by one worker process per core, in the input's order;
- `spark_batch`: `predict --engine spark`, a file, folder or table scored on a Spark session (the driver);
- `spark_rows`: what the Spark executors run on each batch: the checks and scorer of `batch`;
- `explain`: SHAP explanations of single predictions;
- `api`: the HTTP service (routes, schemas built from the data contract, metrics, the prediction log);
- `serve`: the command, which starts uvicorn with the app factory of `api`.
"""
