"""The answers of the API that do not depend on the data contract: health, readiness, the model's metadata
and errors. (The request and prediction models are built from the contract: `schemas`.)"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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
    model_version: str = Field(description="the version answering now")
    shadow_version: str | None = Field(
        None, description="the version also scoring every record, off the request path"
    )
    switch_error: str | None = Field(
        None, description="why the version models/current.json names is not served (the one above still is)"
    )
    shadow_error: str | None = Field(
        None, description="why the shadow models/current.json names does not run"
    )
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
    uncertainty: dict[str, Any] | None = Field(
        None,
        description="prediction intervals or sets: kind, the default coverage, the highest one this model "
        "can answer, and the coverage measured at training (or why there are none)",
    )
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
