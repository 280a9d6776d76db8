"""Request and response models. The record model is built from the data contract the model was trained on
(the features in models/metadata.json), so validation, the OpenAPI schema and the model agree.

Per feature: numeric → a finite number of at most 1e15 in size (true/false too, as 1/0, for a column that
was boolean in training, as batch scoring reads them); categorical → text (a category unseen in training is
accepted, the model takes that feature as unknown, and it is counted in a metric); datetime → text in the
format the data contract recorded for the column (ISO 8601, or e.g. %d/%m/%Y), read by the same parser as
training and batch scoring (`data.to_datetime`), so "1975" or "02/01/2012" means the same date everywhere.
Null for every feature: where the contract says the column had missing values the field may also be left
out; elsewhere it must be there, and a null is scored (imputed) with a `missing` warning (`input_warnings`).
Unknown fields are refused, so a typo in a field name is an error rather than a silently
missing value. The configured ID columns (`data.id_columns`, never features) may come with a record, each
text or an integer; they are not given to the model, but answered back and logged with the prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ...data.dates import ISO8601, to_datetime

STRICT = ConfigDict(extra="forbid")
# pandas (and so the Pipeline) represents dates within these years only; the pattern says the same in the
# OpenAPI schema, so clients and schema-driven test tools know it.
FIRST_YEAR, LAST_YEAR = 1678, 2261
YEAR_PATTERN = r"^(1(6(7[89]|[89][0-9])|[7-9][0-9]{2})|2([01][0-9]{2}|2([0-5][0-9]|6[01])))-"
ISO_EXAMPLE = "2024-05-31 or 2024-05-31T14:00:00Z"

# Finite, and not absurdly large: beyond this size scaled values overflow the 32-bit floats a random forest
# works in, and a linear model's output overflows too. No real feature comes near it.
LARGEST = 1e15
# Strict: JSON numbers only (integers included); true/false and numeric strings are refused, as the
# OpenAPI schema says, rather than quietly turned into 1.0 or 3.0.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-LARGEST, le=LARGEST)]
# A column that was boolean in training: true/false as 1/0 (what the Pipeline makes of them in a file), or
# the numbers themselves.
Flag = Annotated[
    Number,
    BeforeValidator(lambda value: float(value) if isinstance(value, bool) else value),
    WithJsonSchema(
        {"anyOf": [{"type": "boolean"}, {"type": "number", "minimum": -LARGEST, "maximum": LARGEST}]}
    ),
]
Category = Annotated[str, Field(strict=True, max_length=1000)]
WARNINGS_DESCRIPTION = (
    "per record, in request order: where it lies outside what training gave the model evidence for, in the "
    "order of the features (empty when nowhere); kinds: out_of_range (a number below or above the training "
    "range), unseen_category (a category absent from the training data), missing (null in a feature that had "
    "no missing values in training, imputed); the prediction is made all the same"
)


class InputWarning(BaseModel):
    feature: str
    kind: Literal["out_of_range", "unseen_category", "missing"]


ID_MAX_LENGTH = 200


def _id_value(value: Any) -> Any:
    """The value of an ID column: text (1 to ID_MAX_LENGTH characters) or an integer, as clients' keys are;
    not true/false, not a fraction. One error that says so, rather than one per member of a union."""
    if isinstance(value, str) and 0 < len(value) <= ID_MAX_LENGTH:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    reason = f"expected an ID: text of 1 to {ID_MAX_LENGTH} characters, or an integer"
    raise PydanticCustomError("id_value", "{reason}", {"reason": reason})


IdValue = Annotated[
    str | int,
    BeforeValidator(_id_value),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "minLength": 1, "maxLength": ID_MAX_LENGTH}, {"type": "integer"}]}
    ),
]
BOOL_DTYPES = ("bool", "boolean")


def date_format_of(feature: dict[str, Any]) -> str:
    """The format the contract recorded for a date feature (ISO 8601 for contracts from before formats)."""
    return feature.get("format") or ISO8601


def describe_format(date_format: str) -> str:
    if date_format == ISO8601:
        return f"an ISO 8601 date or date-time, e.g. {ISO_EXAMPLE}"
    return f"a date written as {date_format}, e.g. {pd.Timestamp('2024-05-31 14:00').strftime(date_format)}"


def _date_type(date_format: str) -> Any:
    """Text here; read into a date for the whole request at once by `Schemas.records`."""
    expected = f"expected {describe_format(date_format)}"

    def text_only(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(expected)
        return value

    if date_format == ISO8601:
        variants = [
            {"type": "string", "format": kind, "pattern": YEAR_PATTERN} for kind in ("date", "date-time")
        ]
        schema: dict[str, Any] = {"anyOf": variants}
    else:
        schema = {"type": "string", "description": expected}
    return Annotated[str, BeforeValidator(text_only), Field(max_length=100), WithJsonSchema(schema)]


def _field_type(feature: dict[str, Any]) -> Any:
    kind = feature["kind"]
    if kind == "datetime":
        return _date_type(date_format_of(feature))
    if kind == "numeric" and feature.get("dtype") in BOOL_DTYPES:
        return Flag
    return Number if kind == "numeric" else Category


@dataclass(frozen=True)
class Schemas:
    """The models of one app; `field_names` maps each model field to its feature name."""

    record: type[BaseModel]
    predict_request: type[BaseModel]
    predict_response: type[BaseModel]
    explain_response: type[BaseModel]
    field_names: tuple[tuple[str, str], ...]
    date_formats: tuple[tuple[str, str], ...] = ()  # (feature name, format) of each date feature
    id_fields: tuple[tuple[str, str], ...] = ()  # (model field, ID column) of each configured ID column
    highest_coverage: float | None = None  # the highest ?coverage= documented; None: no intervals or sets

    def ids(self, request: BaseModel) -> list[dict[str, Any]] | None:
        """Per record, the ID columns it carried ({} for none); None when the project has no ID columns."""
        pairs = self.id_fields
        if not pairs:
            return None
        return [
            {name: value for field, name in pairs if (value := getattr(record, field)) is not None}
            for record in request.records
        ]

    def records(self, request: BaseModel) -> list[dict[str, Any]]:
        """The validated records as plain dicts keyed by feature name, dates read into datetimes (naive,
        UTC) with their column's format; a ValidationError naming each date that does not match it."""
        pairs = self.field_names
        records = [
            {feature: getattr(record, field) for field, feature in pairs} for record in request.records
        ]
        errors: list[InitErrorDetails] = []
        for name, date_format in self.date_formats:
            errors += _read_dates(records, name, date_format)
        if errors:
            raise ValidationError.from_exception_data("PredictRequest", errors)
        return records


def _read_dates(records: list[dict[str, Any]], name: str, date_format: str) -> list[InitErrorDetails]:
    """Replace the text of one date feature by datetimes, in place, in one call of the shared parser."""
    texts = pd.Series([record[name] for record in records], dtype=object)
    parsed = to_datetime(texts, date_format)
    errors = []
    for index, (text, value) in enumerate(zip(texts, parsed, strict=True)):
        if text is None:
            continue
        if pd.isna(value) or not FIRST_YEAR <= value.year <= LAST_YEAR:
            reason = (
                f"expected {describe_format(date_format)}"
                if pd.isna(value)
                else f"dates must lie between the years {FIRST_YEAR} and {LAST_YEAR}"
            )
            error = PydanticCustomError("date_format", "{reason}", {"reason": reason})
            errors.append(InitErrorDetails(type=error, loc=("records", index, name), input=text))
            continue
        records[index][name] = value.to_pydatetime()
    return errors


def build_schemas(
    features: list[dict[str, Any]],
    problem_type: str,
    classes: list[Any],
    max_records: int,
    training_values: bool = True,
    id_columns: tuple[str, ...] = (),
    highest_coverage: float | None = None,
) -> Schemas:
    """The models for these features (and the ID columns a record may carry). `training_values`: the
    documentation may show the categories and ranges seen in training (false when the API needs a key: the
    OpenAPI document is public, and those values describe the client's data; key holders find them in
    /v1/model). `highest_coverage`: the highest ?coverage= the model answers, None without intervals or
    sets (`deployment.coverage_limit`)."""
    # Field names are internal (f0, f1, …) and the feature name is the alias: any column name works, even one
    # that is not a Python identifier or that clashes with a pydantic attribute such as `copy` or `json`.
    fields: dict[str, Any] = {}
    for index, feature in enumerate(features):
        annotation = _field_type(feature)
        info = {"alias": feature["name"], "description": _describe(feature, training_values)}
        # A key left out of a record is an integration error, unless training had missing values too.
        fields[f"f{index}"] = (annotation | None, Field(None if feature.get("nullable") else ..., **info))
    for index, name in enumerate(id_columns):
        description = "ID column (not a feature): answered back and logged with the prediction; optional"
        fields[f"i{index}"] = (IdValue | None, Field(None, alias=name, description=description))
    record = create_model("Record", __config__=STRICT, **fields)
    example = {"records": [example_record(features, training_values)]} if features else None
    predict_request = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]} if example else None),
        records=(list[record], Field(..., min_length=1, max_length=max_records)),
    )
    label = _label_type(problem_type, classes)
    classification = problem_type != "regression"
    predict_fields: dict[str, Any] = {
        "predictions": (list[label], Field(..., description="one per record, in request order")),
        "prediction_ids": (
            list[str],
            Field(..., description="per record, its unique id: name it when sending the outcome back"),
        ),
        "warnings": (list[list[InputWarning]], Field(..., description=WARNINGS_DESCRIPTION)),
        "model_version": (str, ...),
    }
    if id_columns:
        carried = (
            list[dict[str, str | int]],
            Field(..., description=f"per record, the ID columns it carried ({', '.join(id_columns)})"),
        )
        predict_fields["ids"] = carried
    if classification:
        predict_fields["probabilities"] = (
            list[dict[str, float]],
            Field(..., description="per record: class → probability"),
        )
    predict_fields["coverage"] = (
        float | None,
        Field(None, description="with uncertainty on: the share of true values each interval or set holds"),
    )
    if classification:
        predict_fields["set"] = (
            list[list[label]] | None,
            Field(None, description="per record: the classes of its conformal prediction set, most probable "
                  "first (empty when no class is likely enough at this coverage)"),
        )  # fmt: skip
    else:
        predict_fields["interval"] = (
            list[tuple[float, float]] | None,
            Field(None, description="per record: its conformal prediction interval [low, high]"),
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
    explain_fields: dict[str, Any] = {"explanations": (list[explanation], ...), "model_version": (str, ...)}
    if id_columns:
        explain_fields["ids"] = carried
    return Schemas(
        record=record,
        predict_request=predict_request,
        predict_response=create_model("PredictResponse", **predict_fields),
        explain_response=create_model("ExplainResponse", **explain_fields),
        field_names=tuple((f"f{index}", feature["name"]) for index, feature in enumerate(features)),
        date_formats=tuple(
            (feature["name"], date_format_of(feature))
            for feature in features
            if feature["kind"] == "datetime"
        ),
        id_fields=tuple((f"i{index}", name) for index, name in enumerate(id_columns)),
        highest_coverage=highest_coverage,
    )


def example_record(features: list[dict[str, Any]], training_values: bool = True) -> dict[str, Any]:
    """A typical record for the documentation: the middle of each numeric range, the first category,
    the first date seen in training; without `training_values`, neutral values of the right types."""
    record: dict[str, Any] = {}
    for feature in features:
        kind, low, high = feature["kind"], feature.get("min"), feature.get("max")
        if not training_values:
            feature = {"name": feature["name"], "kind": kind, "format": feature.get("format")}
            low = high = None
        if kind == "numeric":
            record[feature["name"]] = (
                round((low + high) / 2, 2) if low is not None and high is not None else 0.0
            )
        elif kind == "categorical":
            record[feature["name"]] = (feature.get("categories") or ["a category"])[0]
        else:
            first, date_format = pd.Timestamp(str(low or "2024-01-01")), date_format_of(feature)
            record[feature["name"]] = (
                first.strftime("%Y-%m-%d") if date_format == ISO8601 else first.strftime(date_format)
            )
    return record


def _label_type(problem_type: str, classes: list[Any]) -> Any:
    if problem_type == "regression":
        return float
    if classes and all(isinstance(label, bool) for label in classes):
        return bool
    if classes and all(isinstance(label, int) and not isinstance(label, bool) for label in classes):
        return int
    return str | int | float | bool if not classes else str


def _describe(feature: dict[str, Any], training_values: bool = True) -> str:
    parts = [feature.get("description") or f"{feature['kind']} feature"]
    if feature["kind"] == "datetime":
        parts.append(describe_format(date_format_of(feature)))
    if feature["kind"] == "numeric" and feature.get("dtype") in BOOL_DTYPES:
        parts.append("boolean in training: true or false (read as 1 and 0), or a number")
    if training_values:
        parts += _seen_in_training(feature)
    nullable = feature.get("nullable")
    parts.append("may be null or left out" if nullable else "required; a null is scored, with a warning")
    return "; ".join(parts)


def _seen_in_training(feature: dict[str, Any]) -> list[str]:
    if feature["kind"] == "categorical" and feature.get("categories"):
        shown = ", ".join(map(str, feature["categories"][:20]))
        return [f"seen in training: {shown}{' …' if len(feature['categories']) > 20 else ''}"]
    if "min" in feature and "max" in feature:
        return [f"range in training: {feature['min']} to {feature['max']}"]
    return []
