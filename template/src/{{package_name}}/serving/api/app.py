"""The application factory. `uvicorn --factory <package>.api.app:create_app` (what `serve` runs) calls it in
every worker process; the model is loaded in the lifespan, and again in each process whenever
models/current.json names another version (then the documentation of the prediction routes follows).

Everything a request can get wrong is answered 4xx with a reason; an unexpected failure is a JSON 500 with
the request id (and a log line with the traceback), never an HTML page or a dropped connection.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.requests import ClientDisconnect

from ... import __version__
from ...artifacts.metadata import ModelMetadata
from ...artifacts.prediction_index import index_path
from ...core.config import Config, load_config
from ...core.errors import UserError
from ...data.contract import load_contract
from ...monitoring.outcomes import Labels, OutcomeStore
from ..trained_model import read_metadata
from .access_log import SERVER_LOGGER, configure_logging, stop_logging
from .answers import ErrorResponse
from .deployment import Deployment, coverage_limit
from .deps import require_api_key
from .fast_lane import FastLane
from .feedback import FeedbackDesk, build_feedback_request
from .metrics import Metrics
from .middleware import BodyTooLarge, RequestMiddleware
from .routes import feedback, health, metrics, model, predict
from .schemas import build_schemas
from .settings import ApiSettings, check_can_start, load_settings
from .state import NotScorable, ServingState

logger = logging.getLogger(SERVER_LOGGER)


def create_app(config: Config | None = None, settings: ApiSettings | None = None) -> FastAPI:
    """Build the app for the project's config; refuses (UserError) when auth is on without a key."""
    configure_logging()
    config = config or load_config()
    settings = settings or load_settings(config)
    check_can_start(settings)
    metadata = _metadata_or_none(config)
    features, problem_type, classes = _request_features(config, metadata)
    schemas = build_schemas(
        features,
        problem_type,
        classes,
        settings.max_records,
        training_values=not settings.auth_enabled,
        id_columns=config.data.id_columns,
        highest_coverage=coverage_limit(metadata, config),
    )
    labels = Labels.of(metadata, config.problem_type)
    feedback_request = build_feedback_request(labels, config.data.id_columns, settings.max_records)
    serving = ServingState(config=config, settings=settings, metrics=Metrics(), metadata=metadata)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await serving.start()
        try:
            yield
        finally:
            await serving.stop()
            stop_logging()

    # The interactive docs (/docs) load Swagger UI from files shipped with the package (mounted at
    # /static-offline-docs), not from a CDN: they work offline and on a client's closed network. Like
    # /openapi.json, they need no API key, so with a key required they show types and formats but none
    # of the categories or ranges seen in training (those are in /v1/model, behind the key). No /redoc:
    # ReDoc still fetches its logo from the internet.
    app = FastAPIOffline(
        redoc_url=None,
        title=f"{config.project_name} API",
        version=__version__,
        description=f"Predictions and explanations for {config.client or config.project_name}.",
        lifespan=lifespan,
    )
    app.state.serving = serving
    app.state.schemas = schemas
    app.state.feedback = FeedbackDesk(
        OutcomeStore(config.outcomes_dir),
        index_path(config.prediction_log_dir.parent),
        config.data.id_columns,
    )
    protected: dict[str, Any] = {}
    if settings.auth_enabled:
        protected = {
            "dependencies": [Depends(require_api_key)],
            "responses": {401: {"model": ErrorResponse, "description": "missing or wrong API key"}},
        }
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(model.router, **protected)
    app.include_router(predict.build_router(schemas), **protected)
    serving.on_switch = lambda deployment: _document(app, deployment, protected)
    app.include_router(feedback.build_router(feedback_request), **protected)
    _add_error_handlers(app)
    # Added last = outermost: every request gets its id, size limit, log line and metrics first.
    app.add_middleware(FastLane, fastapi_app=app, endpoints=predict.ENDPOINTS)
    app.add_middleware(RequestMiddleware, metrics=serving.metrics, max_body_bytes=settings.max_body_bytes)
    return app


def _document(app: FastAPI, deployment: Deployment, protected: dict[str, Any]) -> None:
    """After a switch to a model with other features or classes: the prediction routes' documentation
    describes its request models, and /openapi.json is built again. (Requests are checked against the
    deployment's own models whatever the documentation says.)"""
    schemas = deployment.schemas
    if schemas is app.state.schemas:
        return
    app.state.schemas = schemas
    documented = {path for _, path in predict.ENDPOINTS}
    app.router.routes[:] = [
        route for route in app.router.routes if not (isinstance(route, APIRoute) and route.path in documented)
    ]
    router = APIRouter()
    router.include_router(predict.build_router(schemas), **protected)
    app.include_router(router)
    app.openapi_schema = None


def _metadata_or_none(config: Config) -> ModelMetadata | None:
    try:
        return read_metadata(config)
    except UserError:
        return None  # the state reports it: not ready, with the reason


def _request_features(config: Config, metadata: ModelMetadata | None) -> tuple[list[dict], str, list]:
    """The features of the model's own contract (metadata.json); without a model, those of the current
    data contract, so the documentation still shows what the API will take."""
    if metadata is not None:
        return metadata.input_features, metadata.problem_type or config.problem_type, metadata.classes or []
    try:
        contract = load_contract(config.schema_path)
    except UserError:
        contract = None
    return contract.input_features if contract else [], config.problem_type, []


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_error_item(item) for item in error.errors()]}, status_code=422)

    @app.exception_handler(NotScorable)
    async def not_scorable(request: Request, error: NotScorable) -> JSONResponse:
        places = (
            [("body", "records", index) for index in error.indices]
            if error.indices
            else [("body", "records")]
        )
        items = [{"loc": loc, "msg": error.reason, "type": "not_scorable"} for loc in places]
        logger.warning("records not scored: %s", error.reason, extra={"request_id": _request_id(request)})
        return JSONResponse({"detail": [_error_item(item) for item in items]}, status_code=422)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, error: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=413)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, error: ClientDisconnect) -> Response:
        return Response(status_code=499)  # nobody reads it; the access log shows the client left

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        request_id = _request_id(request)
        logger.error("unhandled error", exc_info=error, extra={"request_id": request_id})
        return JSONResponse(
            {"detail": f"internal error; quote request id {request_id} when reporting it"}, status_code=500
        )


def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _error_item(item: dict[str, Any]) -> dict[str, Any]:
    """`loc`, `msg` and `type` as FastAPI gives them, plus `field` in a readable form."""
    loc = [part for part in item.get("loc", ()) if isinstance(part, str | int)]
    path = loc[1:] if loc[:1] in (["body"], ["query"]) else loc
    field = (
        "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".") or "body"
    )
    message = str(item.get("msg", "invalid"))
    return {
        "loc": loc,
        "field": field,
        "msg": f"{field}: {message}",
        "type": str(item.get("type", "invalid")),
    }
