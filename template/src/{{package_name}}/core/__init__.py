"""What every stage shares, and nothing stage-specific. The modules:

- `settings`: how a setting is declared (default and check together) and read, with one-line errors;
- `config`: the sections of configs/project.yaml (data, audit, model, drift, api) declared with it, and
  `load_config`;
- `metrics`: the one definition of every metric (label, meaning, direction, scorer) and which one gates;
- `errors`: the errors a command turns into one `error:` line and an exit code;
- `progress`, `wording`: progress lines on long work, and numbers and counts in plain words.
"""
