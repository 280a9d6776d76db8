"""Monitoring with ground truth: outcomes sent back after predictions, joined to the prediction log, give
realized performance; before they arrive, classifiers' calibrated probabilities give an estimate. The
modules, in the order the data flows:

- `outcomes`: the outcome store (logs/outcomes/): outcomes checked against the model and appended, from the
  feedback endpoint and from `outcomes --input FILE`;
- `joined`: outcomes joined to the prediction log (by prediction_id or the ID columns);
- `estimate`: performance estimated from calibrated probabilities, before labels arrive (classification);
- `coverage`: realized coverage: how often the logged intervals or prediction sets held the outcome,
  against the level asked, and whether the shortfall is beyond chance;
- `performance`: the `performance` command: realized and estimated performance and realized coverage per
  window and group, written to reports/performance/performance.json;
- `performance_html`: the self-contained reports/performance/performance.html;
- `command`: `monitor`, drift and performance with one exit code.
"""
