"""The fast lane: the scoring routes, served without FastAPI's routing and dependency resolution.

Under load, FastAPI's per-request machinery (router lookup through included routers, dependency
resolution, an exit stack, exception wrappers) costs about a third of a prediction's CPU time, more than
the model call itself once requests are batched. The scoring endpoints need none of it: each takes the
request and returns the response, doing its own checks (`deps.scoring_call`). This middleware hands
those requests straight to the same endpoint functions the FastAPI routes call, and renders their errors
with the app's own exception handlers, so both ways give the same answers. It is only a shortcut: any
request it does not recognise (another path, a mounted root path) takes the normal route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class RouteLabel:
    path: str


class FastLane:
    def __init__(self, app: Any, *, fastapi_app: FastAPI, endpoints: dict[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.endpoints = endpoints
        # What the metrics and the access log label a request with (as a matched route would).
        self.routes = {path: RouteLabel(path) for _, path in endpoints}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        endpoint = (
            self.endpoints.get((scope.get("method", ""), scope.get("path", "")))
            if scope["type"] == "http"
            else None
        )
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.routes.get(scope["path"])
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as error:
            handler = self._handler_for(error)
            if handler is None:
                raise  # unexpected: the server error handler answers 500
            response = await handler(request, error)
        await response(scope, receive, send)

    def _handler_for(self, error: Exception) -> Callable[..., Awaitable[Response]] | None:
        handlers = self.fastapi_app.exception_handlers
        for kind in type(error).__mro__:
            if kind in handlers and kind is not Exception:
                return handlers[kind]
        return None
