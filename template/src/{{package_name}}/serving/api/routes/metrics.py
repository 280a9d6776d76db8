"""Prometheus metrics in the text exposition format (never behind the API key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ..deps import State

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
