"""The weekly summary (`report`) and the pieces every report shares. The modules, in the order the data
flows:

- `sources`: the inputs (experiment log, audit, drift and performance checks, model metadata), read through
  their owners;
- `weekly`: the command and the three bullets (done, blockers, business impact);
- `live_warnings`: the week's input warnings in the prediction log (count, share, most frequent pairs);
- `health`: the model's health: the drift alarm, realized and estimated performance, the share of
  predictions with input warnings, and whether it needs attention;
- `shadow`: the shadow model against the current one (from `models compare`) and the week's switches of
  the current model (promotions, rollbacks), from models/current.json;
- `weekly_render`: the Markdown text, the HTML page and the trend figure;
- `html`, `plots`: the page layout and the figure style shared with the other reports.
"""
