"""Outcomes sent back to `POST /v1/feedback`: the request model (built from the model's labels and the ID
columns), and `FeedbackDesk`, which matches outcomes to logged predictions and stores them
(`monitoring.outcomes`, shared with `outcomes --input`).

A prediction answered a moment ago may not be in the prediction index yet: the log's writer thread adds
it in its next batch (every ~50 ms), in whichever worker process answered it. So an outcome is counted
unknown only after a wait: once this process's writer has written what was queued before the outcome
came, the outcomes not found are looked up again every `POLL_SECONDS` (other processes' writers) until
all are found or `WAIT_SECONDS` have passed since the request came. Predict, then send the outcome, is
counted matched whichever worker answered either; an outcome that is really unknown costs its request
that wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ...artifacts.outcome_line import API_SOURCE
from ...artifacts.prediction_index import PredictionIndex
from ...monitoring.outcomes import PREDICTION_ID, Labels, Outcome, OutcomeStore, Stored, lines_of, resolve
from .prediction_log import PredictionLog
from .schemas import IdValue

WAIT_SECONDS = 1.0
POLL_SECONDS = 0.05  # the log writers' interval


def build_feedback_request(labels: Labels, id_columns: Sequence[str], max_records: int) -> type[BaseModel]:
    """`{"outcomes": [{"prediction_id" | ID columns…, "actual"}]}`: 1 to max_records outcomes, unknown
    fields refused, each `actual` checked against the model's labels."""

    def check_actual(value: Any) -> Any:
        reason = labels.check(value)
        if reason is not None:
            raise PydanticCustomError("label", "{reason}", {"reason": reason})
        return value

    label_schema = (
        {"type": "number"}
        if not labels.is_classification
        else {"enum": list(labels.classes)}
        if labels.classes
        else {}
    )
    actual = Annotated[Any, BeforeValidator(check_actual), WithJsonSchema(label_schema)]
    keys = (
        f"{PREDICTION_ID}, or all the ID columns ({', '.join(id_columns)})" if id_columns else PREDICTION_ID
    )
    fields: dict[str, Any] = {
        "prediction_id": (
            Annotated[str, Field(strict=True, min_length=1, max_length=200)] | None,
            Field(None, description="as /v1/predict answered it"),
        ),
        "actual": (actual, Field(..., description=f"the true outcome: {labels.allowed()}")),
    }
    for index, name in enumerate(id_columns):
        fields[f"i{index}"] = (IdValue | None, Field(None, alias=name, description="ID column"))

    def names_a_prediction(outcome: Any) -> Any:
        given = [getattr(outcome, f"i{index}") for index in range(len(id_columns))]
        if outcome.prediction_id is None and (not id_columns or any(value is None for value in given)):
            raise PydanticCustomError("no_prediction", "name the prediction: give {keys}", {"keys": keys})
        return outcome

    # The rule of `names_a_prediction` in the schema too, for clients and schema-driven test tools.
    named_by = [{"required": [PREDICTION_ID], "properties": {PREDICTION_ID: {"type": "string"}}}]
    if id_columns:
        given = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
        named_by.append({"required": list(id_columns), "properties": dict.fromkeys(id_columns, given)})
    outcome = create_model(
        "Outcome",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"anyOf": named_by}),
        __validators__={"names_a_prediction": model_validator(mode="after")(names_a_prediction)},
        **fields,
    )
    return create_model(
        "FeedbackRequest",
        __config__=ConfigDict(extra="forbid"),
        outcomes=(list[outcome], Field(..., min_length=1, max_length=max_records)),
    )


class FeedbackResponse(BaseModel):
    received: int = Field(description="outcomes received and stored (all of them, matched or not)")
    matched: int = Field(description="outcomes whose prediction is in the prediction log")
    unknown: int = Field(
        description="outcomes naming no logged prediction (never logged, or its log files deleted): stored, "
        "but performance finds no prediction to join them to"
    )


class FeedbackDesk:
    """Matches and stores the outcomes of one process."""

    def __init__(self, store: OutcomeStore, index: Path, id_columns: Sequence[str]) -> None:
        self.store = store
        self.index_path = index
        self.id_columns = tuple(id_columns)

    def outcomes_of(self, request: BaseModel) -> list[Outcome]:
        """The validated request as plain outcomes."""
        found = []
        for item in request.outcomes:
            ids = {name: getattr(item, f"i{index}") for index, name in enumerate(self.id_columns)}
            ids = {name: value for name, value in ids.items() if value is not None}
            found.append(Outcome(item.actual, item.prediction_id, ids or None))
        return found

    async def receive(self, outcomes: list[Outcome], log: PredictionLog | None) -> Stored:
        """Match (waiting for the writers while some are not indexed yet), then store; an OSError when the
        store cannot be written (nothing of these outcomes is stored then)."""
        deadline = time.monotonic() + WAIT_SECONDS
        target = log.queued if log is not None else 0  # what this process queued before the outcomes came
        matches = await asyncio.to_thread(self._resolve, outcomes)
        while None in matches and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            if log is not None and log.written < target:
                continue
            missing = [index for index, match in enumerate(matches) if match is None]
            again = await asyncio.to_thread(self._resolve, [outcomes[index] for index in missing])
            for index, match in zip(missing, again, strict=True):
                matches[index] = match
        lines = lines_of(outcomes, matches, API_SOURCE)
        output = await asyncio.to_thread(self.store.append, lines)
        matched = sum(match is not None for match in matches)
        return Stored(len(outcomes), matched, len(outcomes) - matched, output)

    def _resolve(self, outcomes: list[Outcome]) -> list[str | None]:
        index = PredictionIndex(self.index_path, create=False)
        try:
            return resolve(index, outcomes, self.id_columns)
        finally:
            index.close()
