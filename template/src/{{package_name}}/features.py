"""Client-specific feature engineering: the place for your own derived columns.

`add_features` runs inside the model Pipeline on every input (training data, batch files and API
requests alike), so a feature defined here is computed the same way everywhere. It receives the raw
columns and returns them with any new columns added. Derived columns enter the data contract as
features marked `derived` (the API does not ask for them); rerun `audit` after changing this file.

Example:

    def add_features(frame):
        if {"total_charges", "tenure_months"} <= set(frame.columns):
            tenure = frame["tenure_months"].clip(lower=1)
            frame = frame.assign(charges_per_month=frame["total_charges"] / tenure)
        return frame

Keep it deterministic and row-wise (no statistics over the whole frame: those belong in the Pipeline).
Return the frame unchanged when the columns a feature needs are absent: the project's own tests train
and serve models on small synthetic tables that do not have your data's columns.
"""

from __future__ import annotations

import pandas as pd

# Full names (module.ClassName, as in models/metadata.json under model_types) of types a customised Pipeline
# holds beyond the ones the template's pipelines use, e.g. "sklearn.preprocessing._data.RobustScaler". The
# model loader refuses any type that is not on its list; this list is code, so a model file cannot extend it.
EXTRA_MODEL_TYPES: tuple[str, ...] = ()


def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with derived feature columns added (none by default)."""
    return frame
