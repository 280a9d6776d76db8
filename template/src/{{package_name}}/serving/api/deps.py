"""Dependencies of the routes, as `Annotated` types: the serving state (which holds the settings), the API
key check and readiness; `json_body`, a request body checked by its model straight from the raw bytes; and
`scoring_call`, the same checks plus the validated records for the prediction endpoints, as one plain
call."""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError

from ...core.config import Config
from ...training.conformal import CoverageError
from ..scoring import Coverage, Scorer
from .deployment import Deployment
from .settings import API_KEY_HEADER, ApiSettings
from .state import ServingState

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="the key in the server's API_KEY environment variable"
)


# Every dependency is `async def`: FastAPI runs a plain `def` dependency in a thread pool, a thread hop per
# request and dependency that costs more than the work it does here.


async def get_state(request: Request) -> ServingState:
    return request.app.state.serving


State = Annotated[ServingState, Depends(get_state)]


async def require_api_key(
    request: Request, api_key: Annotated[str | None, Security(_api_key_header)]
) -> None:
    check_api_key(request.app.state.serving.settings, api_key)


def check_api_key(settings: ApiSettings, api_key: str | None) -> None:
    """Constant-time comparison, so the answer time does not reveal how much of a guessed key was right."""
    if not settings.auth_enabled:
        return
    expected = settings.api_key
    if not api_key or not expected or not hmac.compare_digest(api_key.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail=f"missing or wrong API key: send it in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )


def check_ready(state: ServingState) -> ServingState:
    if not state.ready:
        raise HTTPException(
            503, detail=f"the model is not ready: {state.reason}", headers={"Retry-After": "30"}
        )
    return state


async def ready_state(request: Request) -> ServingState:
    return check_ready(request.app.state.serving)


Ready = Annotated[ServingState, Depends(ready_state)]


@dataclass
class ScoringCall:
    """What a prediction route works with: the ready state, the deployment that answers this request (read
    once: a model switch meanwhile does not change it), the validated records, the request id."""

    state: ServingState
    deployment: Deployment
    records: list[dict[str, Any]]
    request_id: str
    ids: list[dict[str, Any]] | None = None  # per record, the ID columns it carried (when configured)


async def scoring_call(request: Request, query: frozenset[str] = frozenset()) -> ScoringCall:
    """Everything a prediction route checks, in one call: the API key, readiness, the query parameters (only
    those in `query`: a misspelt ?coverge=0.8 is a 422, not silently ignored), the content type and the
    body against the record model. The body is parsed and validated by pydantic in one pass over the raw
    bytes, several times cheaper than json.loads followed by validation. The records are checked against
    the request models of the deployment that will answer them."""
    state: ServingState = request.app.state.serving
    check_api_key(state.settings, request.headers.get(API_KEY_HEADER))
    check_ready(state)
    refuse_unknown_query(request, query)
    deployment = state.deployment
    if deployment is None:  # ready without a model: only a state built by hand
        raise HTTPException(503, detail="the model is not ready", headers={"Retry-After": "30"})
    schemas = deployment.schemas
    request_model = await json_body(request, schemas.predict_request, "the records")
    try:
        records = schemas.records(request_model)
    except ValidationError as error:  # from reading the dates (`Schemas.records`)
        raise _invalid(error) from None
    return ScoringCall(state, deployment, records, request.state.request_id, schemas.ids(request_model))


UNCERTAINTY_OFF = "uncertainty is off in configs/project.yaml: no intervals or sets to give"
BAD_COVERAGE = "expected a number strictly between 0 and 1, e.g. 0.9"


def coverage_query(highest: float) -> Any:
    """The `?coverage=` parameter as the OpenAPI document shows it, up to the highest level the model can
    answer. The endpoint checks it itself (`requested_coverage`), since the fast lane calls it without
    FastAPI's parameter parsing."""
    return Annotated[
        float | None,
        Query(
            description="share of true values the interval or set of each prediction holds, above 0 and at "
            f"most {highest:g}, the highest this model's calibration rows allow (default: "
            "uncertainty.coverage in configs/project.yaml)",
            gt=0,
            le=highest,
            examples=[0.9],
        ),
    ]


def requested_coverage(request: Request, config: Config, scorer: Scorer) -> Coverage | None:
    """The coverage level of this request's intervals or sets: `?coverage=`, else uncertainty.coverage;
    None when uncertainty is off or the model has none and the request did not ask. A level the model
    cannot answer is a 422 naming `coverage` with the reason."""
    given = request.query_params.getlist("coverage")
    if len(given) > 1:  # which one was meant? (frameworks differ: the first, the last, a list)
        reason = f"given {len(given)} times; give one coverage, e.g. ?coverage=0.9"
        raise _query_error("coverage", given, reason)
    raw = given[0] if given else None
    if raw is None:
        if not (config.uncertainty.enabled and scorer.has_uncertainty):
            return None
        level: Any = config.uncertainty.coverage
    elif not config.uncertainty.enabled:
        raise _query_error("coverage", raw, UNCERTAINTY_OFF)
    else:
        try:
            level = float(raw)
        except ValueError:
            raise _query_error("coverage", raw, BAD_COVERAGE) from None
        if not math.isfinite(level):
            raise _query_error("coverage", raw, BAD_COVERAGE)
    try:
        return scorer.coverage(level)
    except CoverageError as error:
        raise _query_error("coverage", raw, str(error)) from None


def refuse_unknown_query(request: Request, allowed: frozenset[str]) -> None:
    """A 422 naming each query parameter the endpoint does not take."""
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in allowed]
    if unknown:
        message = f"unknown query parameter; this endpoint takes: {', '.join(sorted(allowed)) or 'none'}"
        problems = [_query_problem(name, request.query_params.get(name), message) for name in unknown]
        raise RequestValidationError(problems)


def _query_problem(name: str, value: Any, message: str) -> dict[str, Any]:
    """One entry of a 422 about the query parameter `name`."""
    return {"type": "value_error", "loc": ("query", name), "msg": message, "input": value}


def _query_error(name: str, value: Any, message: str) -> RequestValidationError:
    return RequestValidationError([_query_problem(name, value, message)])


async def json_body(request: Request, model: type[BaseModel], what: str) -> BaseModel:
    """The body as `model`: 415 unless it is JSON, 422 naming each field that does not fit. Parsed and
    validated by pydantic in one pass over the raw bytes."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            415, detail=f"send {what} as JSON with Content-Type: application/json (got {content_type!r})"
        )
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise _invalid(error) from None


def _invalid(error: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
    )
