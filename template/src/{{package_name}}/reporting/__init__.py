"""The weekly summary (`report`) and the pieces every report shares. The modules, in the order the data
flows:

- `sources`: the inputs (experiment log, audit, drift check, model metadata), read through their owners;
- `weekly`: the command and the three bullets (done, blockers, business impact);
- `weekly_render`: the Markdown text, the HTML page and the trend figure;
- `html`, `plots`: the page layout and the figure style shared with the other reports.
"""
