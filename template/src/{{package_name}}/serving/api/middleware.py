"""One plain ASGI middleware for what every request needs: a request id, the body size limit, the access
log line and the request metrics. (Plain ASGI rather than Starlette's BaseHTTPMiddleware, which costs a
task and a stream per request.)"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from .access_log import access
from .metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class BodyTooLarge(Exception):
    """The request body is larger than api.max_body_bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes; send fewer records per request")
        self.limit = limit


class RequestMiddleware:
    def __init__(self, app: Any, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, length = None, None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER and _SAFE_ID.match(value):
                request_id = value.decode()
            elif name == b"content-length":
                length = value
        request_id = request_id or uuid.uuid4().hex
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}
        status = 500
        limit = self.max_body_bytes

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        received = 0

        async def receive_limited() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            if length is not None and (not length.isdigit() or int(length) > limit):
                await _too_large(send_with_id, limit)
            else:
                await self.app(scope, receive_limited, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(scope["method"], path, status, seconds)
            access(
                {
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": path,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": scope["client"][0] if scope.get("client") else None,
                }
            )


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps({"detail": str(BodyTooLarge(limit))}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
