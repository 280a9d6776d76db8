"""Liveness and readiness, for load balancers and Kubernetes probes (never behind the API key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import State
from ..schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """200 while the process lives."""
    return Health()


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(state: State) -> JSONResponse:
    """200 once the model is loaded and its checksum verified; 503 with the reason otherwise."""
    if state.ready:
        return JSONResponse(Readiness(status="ready", model_version=state.version).model_dump())
    answer = Readiness(status=state.status, reason=state.reason)
    return JSONResponse(answer.model_dump(), status_code=503)
