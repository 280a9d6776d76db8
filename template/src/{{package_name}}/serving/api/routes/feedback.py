"""Ground truth sent back after predictions: `POST /v1/feedback` (behind the API key, like predict).

The request model depends on the model's labels and the ID columns, so the route is built per app
(`build_router`). The body is validated from the raw bytes, as predict's is (`deps.json_body`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..answers import ErrorResponse, ValidationErrorResponse
from ..deps import check_ready, json_body
from ..feedback import FeedbackResponse
from ..state import ServingState, public_reason
from .predict import request_body

logger = logging.getLogger(f"{__package__.split('.')[0]}.api")

ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "request body too large"},
    415: {"model": ErrorResponse, "description": "not JSON"},
    422: {"model": ValidationErrorResponse, "description": "invalid outcomes: each error names the field"},
    503: {"model": ErrorResponse, "description": "the model is not ready, or the outcomes cannot be stored"},
}


def build_router(feedback_request: type[BaseModel]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["feedback"])
    body = request_body(feedback_request)

    @router.post(
        "/feedback",
        status_code=202,
        response_model=FeedbackResponse,
        openapi_extra=body,
        responses=ERRORS,
    )
    async def feedback(request: Request) -> JSONResponse:
        """The true outcomes of earlier predictions, each naming its prediction by `prediction_id` (as
        /v1/predict answered it) or by all the ID columns (then the latest logged prediction with those
        values). 1 to api.max_records outcomes; each `actual` a class the model knows (classification) or a
        finite number (regression). 202 once stored: `received` counts all, `matched` those whose
        prediction is in the prediction log, `unknown` the others (stored too)."""
        state: ServingState = check_ready(request.app.state.serving)
        desk = request.app.state.feedback
        request_model = await json_body(request, feedback_request, "the outcomes")
        outcomes = desk.outcomes_of(request_model)
        try:
            stored = await desk.receive(outcomes, state.prediction_log)
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            logger.error("outcomes not stored: %s", error, extra={"request_id": request.state.request_id})
            detail = f"the outcomes could not be stored ({reason}); nothing was stored: send them again"
            raise HTTPException(503, detail=public_reason(detail)) from None
        state.metrics.count_feedback(stored.rows, stored.matched, stored.unknown)
        answer = FeedbackResponse(received=stored.rows, matched=stored.matched, unknown=stored.unknown)
        return JSONResponse(answer.model_dump(), status_code=202)

    return router
