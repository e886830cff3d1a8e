"""Two small ASGI middlewares: the request body size limit, and one log line and the metrics
per request."""

from __future__ import annotations

import time

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from novelcrew import metrics
from novelcrew.api import errors

log = structlog.get_logger("novelcrew.api")


class BodySizeLimit:
    """Refuse a body over ``max_bytes`` with 413, by its Content-Length before the app runs,
    or as it streams in without one (FastAPI answers an ``HTTPException`` met while reading a
    body through the app's handlers)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((value for name, value in scope["headers"]
                       if name == b"content-length"), None)
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await errors.for_path(scope["path"], errors.error_response(
                    400, "bad_request", "invalid Content-Length header"))(scope, receive, send)
                return
            if size > self.max_bytes:
                await errors.for_path(scope["path"], errors.error_response(
                    413, "payload_too_large",
                    f"the body is {size} bytes; the limit is {self.max_bytes}",
                    {"limit_bytes": self.max_bytes}))(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        total = 0

        async def receive_limited() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.max_bytes:
                    raise HTTPException(
                        413, f"the body passed the limit of {self.max_bytes} bytes")
            return message

        await self.app(scope, receive_limited, send)


class RequestLog:
    """One ``request`` log line per HTTP request (method, path, status, ms, client, the name
    of its API key, never the key) and the Prometheus request counter and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        state = scope.setdefault("state", {})  # the auth dependency writes ``key`` here

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
            metrics.HTTP_DURATION.labels(method, template).observe(elapsed)
            client = scope.get("client")
            log.info("request", method=method, path=scope["path"], status=status,
                     ms=round(elapsed * 1000, 2), client=client[0] if client else None,
                     key=state.get("key"))
