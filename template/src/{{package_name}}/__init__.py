"""Machine-learning project for this engagement: audit, train, serve, monitor and report.

One package per stage, in the order the data flows: `core` (settings, metrics, errors), `data` (tables and
the data contract), `audit`, `training`, `artifacts` (the files written and their typed records),
`serving` (scoring, batch files, the API), `drift`, `monitoring` (ground truth and performance) and
`reporting`. `cli` is the command line;
`features` holds the engagement's own derived features.
"""

__version__ = "0.1.0"
