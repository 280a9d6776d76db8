"""Request and response models. The record model is built from the data contract the model was trained on
(the features in models/metadata.json), so validation, the OpenAPI schema and the model agree.

Per feature: numeric → a finite number of at most 1e15 in size; categorical → text (a category unseen in
training is accepted, the model ignores it, and it is counted in a metric); datetime → an ISO 8601 date or
date-time text. Null only where the contract says the column had missing values (and then the field may be
left out). Unknown fields are refused, so a typo in a field name is an error rather than a silently
missing value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)

STRICT = ConfigDict(extra="forbid")
# pandas (and so the Pipeline) represents dates within these years only; the pattern says the same in the
# OpenAPI schema, so clients and schema-driven test tools know it.
FIRST_YEAR, LAST_YEAR = 1678, 2261
YEAR_PATTERN = r"^(1(6(7[89]|[89][0-9])|[7-9][0-9]{2})|2([01][0-9]{2}|2([0-5][0-9]|6[01])))-"


def _text_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(
            "expected an ISO 8601 date or date-time as text, e.g. 2024-05-31 or 2024-05-31T14:00:00Z"
        )
    return value


def _in_pandas_range(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"dates must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


# Finite, and not absurdly large: beyond this size scaled values overflow the 32-bit floats a random forest
# works in, and a linear model's output overflows too. No real feature comes near it.
LARGEST = 1e15
# Strict: JSON numbers only (integers included); true/false and numeric strings are refused, as the
# OpenAPI schema says, rather than quietly turned into 1.0 or 3.0.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-LARGEST, le=LARGEST)]
Category = Annotated[str, Field(strict=True, max_length=1000)]
Timestamp = Annotated[
    datetime,
    BeforeValidator(_text_only),
    AfterValidator(_in_pandas_range),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date", "pattern": YEAR_PATTERN},
                {"type": "string", "format": "date-time", "pattern": YEAR_PATTERN},
            ]
        }
    ),
]
KIND_TYPES: dict[str, Any] = {"numeric": Number, "categorical": Category, "datetime": Timestamp}


@dataclass(frozen=True)
class Schemas:
    """The models of one app; `field_names` maps each model field to its feature name."""

    record: type[BaseModel]
    predict_request: type[BaseModel]
    predict_response: type[BaseModel]
    explain_response: type[BaseModel]
    field_names: tuple[tuple[str, str], ...]

    def records(self, request: BaseModel) -> list[dict[str, Any]]:
        """The validated records as plain dicts keyed by feature name."""
        pairs = self.field_names
        return [{feature: getattr(record, field) for field, feature in pairs} for record in request.records]


def build_schemas(
    features: list[dict[str, Any]], problem_type: str, classes: list[Any], max_records: int
) -> Schemas:
    # Field names are internal (f0, f1, …) and the feature name is the alias: any column name works, even one
    # that is not a Python identifier or that clashes with a pydantic attribute such as `copy` or `json`.
    fields: dict[str, Any] = {}
    for index, feature in enumerate(features):
        annotation = KIND_TYPES[feature["kind"]]
        info = {"alias": feature["name"], "description": _describe(feature)}
        if feature.get("nullable"):
            fields[f"f{index}"] = (annotation | None, Field(None, **info))
        else:
            fields[f"f{index}"] = (annotation, Field(..., **info))
    record = create_model("Record", __config__=STRICT, **fields)
    example = {"records": [example_record(features)]} if features else None
    predict_request = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]} if example else None),
        records=(list[record], Field(..., min_length=1, max_length=max_records)),
    )
    label = _label_type(problem_type, classes)
    classification = problem_type != "regression"
    predict_fields: dict[str, Any] = {
        "predictions": (list[label], Field(..., description="one per record, in request order")),
        "model_version": (str, ...),
    }
    if classification:
        predict_fields["probabilities"] = (
            list[dict[str, float]],
            Field(..., description="per record: class → probability"),
        )
    explanation = create_model(
        "Explanation",
        prediction=(label, ...),
        base_value=(float, Field(..., description="the model's output before any feature is known")),
        contributions=(
            dict[str, float],
            Field(..., description="per original feature; base_value + their sum = the model output"),
        ),
        scale=(str, Field(..., description="the scale of base_value and contributions")),
        explained_class=(label | None, Field(None, description="the class whose output is explained")),
    )
    return Schemas(
        record=record,
        predict_request=predict_request,
        predict_response=create_model("PredictResponse", **predict_fields),
        explain_response=create_model(
            "ExplainResponse", explanations=(list[explanation], ...), model_version=(str, ...)
        ),
        field_names=tuple((f"f{index}", feature["name"]) for index, feature in enumerate(features)),
    )


def example_record(features: list[dict[str, Any]]) -> dict[str, Any]:
    """A typical record for the documentation: the middle of each numeric range, the first category,
    the first date seen in training."""
    record: dict[str, Any] = {}
    for feature in features:
        kind, low, high = feature["kind"], feature.get("min"), feature.get("max")
        if kind == "numeric":
            record[feature["name"]] = (
                round((low + high) / 2, 2) if low is not None and high is not None else 0.0
            )
        elif kind == "categorical":
            record[feature["name"]] = (feature.get("categories") or ["a category"])[0]
        else:
            record[feature["name"]] = str(low or "2024-01-01")[:10]
    return record


def _label_type(problem_type: str, classes: list[Any]) -> Any:
    if problem_type == "regression":
        return float
    if classes and all(isinstance(label, bool) for label in classes):
        return bool
    if classes and all(isinstance(label, int) and not isinstance(label, bool) for label in classes):
        return int
    return str | int | float | bool if not classes else str


def _describe(feature: dict[str, Any]) -> str:
    parts = [feature.get("description") or f"{feature['kind']} feature"]
    if feature["kind"] == "categorical" and feature.get("categories"):
        shown = ", ".join(map(str, feature["categories"][:20]))
        parts.append(f"seen in training: {shown}{' …' if len(feature['categories']) > 20 else ''}")
    elif "min" in feature and "max" in feature:
        parts.append(f"range in training: {feature['min']} to {feature['max']}")
    if feature.get("nullable"):
        parts.append("may be null or left out")
    return "; ".join(parts)


# Answers that do not depend on the data contract.


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str = Field(description="ready, or unavailable with the reason")
    model_version: str | None = None
    reason: str | None = None


class FeatureInfo(BaseModel):
    name: str
    kind: str
    nullable: bool
    categories: list[str] | None = None
    min: float | str | None = None
    max: float | str | None = None


class ModelInfo(BaseModel):
    model_version: str
    trained_at: str | None
    problem_type: str
    model_family: str | None
    target: str | None
    classes: list[Any] | None
    positive_class: Any = None
    features: list[FeatureInfo]
    metrics: dict[str, Any]
    gate: dict[str, Any] | None = None
    explanation: str | None = Field(None, description="how /v1/explain explains this model, when available")
    scoring: str = Field(description="how records are prepared for the model in this process")


class ErrorItem(BaseModel):
    loc: list[str | int]
    field: str
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    detail: list[ErrorItem]


class ErrorResponse(BaseModel):
    detail: str
