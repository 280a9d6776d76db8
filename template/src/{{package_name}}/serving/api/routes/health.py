"""Liveness and readiness, for load balancers and Kubernetes probes (never behind the API key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..answers import Health, Readiness
from ..deps import State

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """200 while the process lives."""
    return Health()


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(state: State) -> JSONResponse:
    """200 once the model is loaded and its checksum verified, and while the prediction log can be written;
    503 with the reason (no file system paths: this route needs no key) otherwise."""
    reason = state.unready_reason
    if reason is None:
        return JSONResponse(Readiness(status="ready", model_version=state.version).model_dump())
    status = state.status if not state.ready else "unavailable"
    version = state.version if state.ready else None
    answer = Readiness(status=status, model_version=version, reason=reason)
    return JSONResponse(answer.model_dump(), status_code=503)
