"""Dependencies of the routes, as `Annotated` types: settings, the serving state, the API key check, the
request id and the validated records."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader
from pydantic import ValidationError

from .settings import API_KEY_HEADER, ApiSettings
from .state import ServingState

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="the key in the server's API_KEY environment variable"
)


# Every dependency is `async def`: FastAPI runs a plain `def` dependency in a thread pool, a thread hop per
# request and dependency that costs more than the work it does here.


async def get_state(request: Request) -> ServingState:
    return request.app.state.serving


async def get_settings(request: Request) -> ApiSettings:
    return request.app.state.serving.settings


State = Annotated[ServingState, Depends(get_state)]
Settings = Annotated[ApiSettings, Depends(get_settings)]


async def require_api_key(
    settings: Settings, api_key: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """Constant-time comparison, so the answer time does not reveal how much of a guessed key was right."""
    expected = settings.api_key
    if not settings.auth_enabled:
        return
    if not api_key or not expected or not hmac.compare_digest(api_key.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail=f"missing or wrong API key: send it in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )


async def ready_state(state: State) -> ServingState:
    if not state.ready:
        raise HTTPException(
            503, detail=f"the model is not ready: {state.reason}", headers={"Retry-After": "30"}
        )
    return state


async def request_id(request: Request) -> str:
    return request.state.request_id


Ready = Annotated[ServingState, Depends(ready_state)]
RequestId = Annotated[str, Depends(request_id)]


async def read_records(request: Request, state: Ready) -> list[dict[str, Any]]:
    """The body, checked against the record model in one pass over the raw bytes (pydantic parses the JSON
    itself, which is several times cheaper than json.loads followed by validation)."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            415, detail=f"send the records as JSON with Content-Type: application/json (got {content_type!r})"
        )
    body = await request.body()
    schemas = request.app.state.schemas
    try:
        parsed = schemas.predict_request.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
        ) from None
    return schemas.records(parsed)


Records = Annotated[list[dict[str, Any]], Depends(read_records)]
