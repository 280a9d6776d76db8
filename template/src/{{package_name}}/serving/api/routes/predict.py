"""Predictions and their explanations: validated records in, batched scoring, JSON out.

The request model comes from the data contract, so the routes are built per app (`build_router`). The
endpoints take the request and return the response themselves (the checks they need are one call,
`deps.scoring_call`), which lets the fast lane serve them without FastAPI's routing.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ..answers import ErrorResponse, ValidationErrorResponse
from ..deps import coverage_query, requested_coverage, scoring_call
from ..schemas import Schemas
from ..state import public_reason

PREDICT_QUERY = frozenset({"coverage"})  # the query parameters /v1/predict takes
ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "request body too large"},
    415: {"model": ErrorResponse, "description": "not JSON"},
    422: {"model": ValidationErrorResponse, "description": "invalid records: each error names the field"},
    503: {"model": ErrorResponse, "description": "the model is not ready"},
}


async def predict_endpoint(request: Request) -> Response:
    """Predictions for 1 to api.max_records records; classifiers add each class's probability. Each
    record gets a unique `prediction_id` (name it when sending the outcome to /v1/feedback); `ids` gives
    back the ID columns each record carried, and `warnings` its input warnings (a value outside the training
    range, an unseen category, a value missing where training had none: scored all the same). With
    uncertainty on, each record also gets its conformal `interval` [low, high] (regression) or `set` of
    classes (classification), which holds the true value for the share `coverage` of predictions
    (`?coverage=`, default uncertainty.coverage)."""
    call = await scoring_call(request, PREDICT_QUERY)
    coverage = requested_coverage(request, call.state.config, call.deployment.scorer)
    scored = await call.state.predict(call.deployment, call.records, call.request_id, call.ids, coverage)
    answer: dict[str, Any] = {"predictions": scored.labels, "prediction_ids": scored.prediction_ids}
    answer["warnings"] = scored.warnings
    if call.ids is not None:
        answer["ids"] = call.ids
    answer["model_version"] = call.deployment.version
    if scored.probabilities is not None:
        answer["probabilities"] = scored.probabilities
    if scored.coverage is not None:
        answer["coverage"] = scored.coverage.level
        answer["set" if scored.probabilities is not None else "interval"] = scored.uncertainty
    return json_response(answer)


async def explain_endpoint(request: Request) -> Response:
    """Per record: the prediction, and each original feature's contribution (SHAP values) to the model
    output on the stated scale; base_value + sum of contributions = that output."""
    call = await scoring_call(request)
    deployment = call.deployment
    if deployment.explainer is None:
        reason = deployment.explain_reason or "explanations are unavailable"
        raise HTTPException(503, detail=public_reason(reason))
    explanations = await call.state.explain(deployment, call.records)
    answer: dict[str, Any] = {"explanations": explanations, "model_version": deployment.version}
    if call.ids is not None:
        answer["ids"] = call.ids
    return json_response(answer)


# The hot routes: the fast lane (`fast_lane.FastLane`) calls these endpoints directly under load; the
# FastAPI routes below call the same functions and give them their OpenAPI documentation.
ENDPOINTS = {("POST", "/v1/predict"): predict_endpoint, ("POST", "/v1/explain"): explain_endpoint}


def build_router(schemas: Schemas) -> APIRouter:
    """The documented routes of /v1/predict and /v1/explain for these request models. `?coverage=` is
    documented only where the model has intervals or sets, up to the highest level it answers."""
    router = APIRouter(prefix="/v1", tags=["predictions"])
    body = request_body(schemas.predict_request)

    async def predict(request: Request) -> Response:
        return await predict_endpoint(request)

    async def predict_at(request: Request, coverage: float | None = None) -> Response:
        return await predict_endpoint(request)

    async def explain(request: Request) -> Response:
        return await explain_endpoint(request)

    if schemas.highest_coverage is not None:
        # FastAPI reads the parameter's declaration from the annotation, built for this model.
        predict_at.__annotations__["coverage"] = coverage_query(schemas.highest_coverage)
        predict = predict_at
    predict.__doc__, explain.__doc__ = predict_endpoint.__doc__, explain_endpoint.__doc__
    documented = {"openapi_extra": body, "responses": ERRORS}
    router.post("/predict", response_model=schemas.predict_response, **documented)(predict)
    router.post("/explain", response_model=schemas.explain_response, **documented)(explain)
    return router


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body: the body is validated from raw bytes (see deps.json_body), so FastAPI
    does not see a body parameter and the schema is declared here, with references resolved in place."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _resolve(schema, definitions)}},
        }
    }


def _resolve(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        reference = node.get("$ref", "")
        if reference.startswith("#/$defs/"):
            return _resolve(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {key: _resolve(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, definitions) for item in node]
    return node


def json_response(payload: dict[str, Any]) -> Response:
    """Plain json.dumps of plain Python values: no response-model validation on the hot path."""
    return Response(json.dumps(payload, default=_plain, separators=(",", ":")), media_type="application/json")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
