"""The request guard: API key, rate limit, repeated query parameters, body size, then one log
line and metrics per request.

A plain ASGI middleware (no per-request task or body copy) so the hot path stays cheap. It runs
before routing, so a wrong key is refused the same way on every path, known or not.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from novelcrew import metrics
from novelcrew.api import errors
from novelcrew.api.auth import PUBLIC_PATHS, KeyChecker
from novelcrew.api.ratelimit import RateLimiter
from novelcrew.logging import BoundOnce

log = BoundOnce("novelcrew.api")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, keys: KeyChecker, limiter: RateLimiter,
                 max_body_bytes: int, log_requests: bool = True) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter
        self.max_body_bytes = max_body_bytes
        self.log_requests = log_requests
        self._metric_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        method: str = scope["method"]
        path: str = scope["path"]

        started_response = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
            await send(message)

        client = scope.get("client")
        client_ip = client[0] if client else "unknown"
        identity: str | None = None
        try:
            refusal, identity, counted = self._check(scope, method, path, client_ip)
            if refusal is not None:
                await refusal(scope, receive, send_wrapper)
            else:
                if counted:
                    receive = self._limited(receive)
                try:
                    await self.app(scope, receive, send_wrapper)
                except Exception as exc:
                    # a lost job store is the service's outage, answered (and counted) as 503
                    if started_response or not errors.is_store_outage(exc):
                        raise
                    await errors.store_outage(exc)(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            counter, histogram = self._series(method, template, status)
            counter.inc()
            histogram.observe(elapsed)
            if self.log_requests:
                log.get().info("request", method=method, path=path, status=status,
                         ms=round(elapsed * 1000, 2), client=client_ip,
                         key=identity)

    def _series(self, method: str, template: str, status: int) -> tuple[Any, Any]:
        """The request counter and duration histogram of a route and status, looked up once
        (a ``labels()`` call costs more than the increment)."""
        key = (method, template, status)
        series = self._metric_series.get(key)
        if series is None:
            series = (metrics.HTTP_REQUESTS.labels(method, template, str(status)),
                      metrics.HTTP_DURATION.labels(method, template))
            if len(self._metric_series) < 10_000:  # bounded: templates, not raw paths
                self._metric_series[key] = series
        return series

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that refuses a body (sent without a length) once it passes the limit."""
        total = 0
        limit = self.max_body_bytes

        async def receive_limited() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    # FastAPI re-raises an HTTPException met while reading the body
                    raise HTTPException(413, f"the body passed the limit of {limit} bytes")
            return message

        return receive_limited

    def _check(self, scope: Scope, method: str, path: str,
               client_ip: str) -> tuple[Any, str | None, bool]:
        """A refusal response (or None), the key id of the request, and whether to count
        its body as it streams (when it came without a Content-Length)."""
        headers: dict[bytes, bytes] | None = None
        identity: str | None = None
        if self.keys.enabled:
            headers = dict(scope["headers"])
            identity = self.keys.identify(headers)
        if self.limiter.enabled:
            wait = self.limiter.take(identity or f"ip:{client_ip}")
            if wait > 0:
                return errors.from_novelcrew_error(_rate_limited(wait)), identity, False
        if identity is None and self.keys.enabled and path.rstrip("/") not in PUBLIC_PATHS \
                and not path.startswith("/ui"):
            if method == "OPTIONS" and headers and b"access-control-request-method" in headers:
                return None, None, False  # a CORS preflight never carries credentials
            return errors.from_novelcrew_error(_unauthorized(headers or {})), None, False
        query: bytes = scope.get("query_string", b"")
        if query:
            repeated = _repeated_parameter(query)
            if repeated is not None:
                return errors.error_response(
                    422, "invalid_input",
                    f"query parameter {repeated!r} is given more than once; each takes one value",
                    {"errors": [{"loc": ["query", repeated], "msg": "given more than once",
                                 "type": "repeated_parameter"}]}), identity, False
        if method in BODY_METHODS:
            if headers is None:
                headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            if length is not None:
                try:
                    size = int(length)
                except ValueError:
                    return errors.error_response(
                        400, "bad_request", "invalid Content-Length header"), identity, False
                if size > self.max_body_bytes:
                    return errors.error_response(
                        413, "payload_too_large",
                        f"the body is {size} bytes; the limit is {self.max_body_bytes}",
                        {"limit_bytes": self.max_body_bytes}), identity, False
            else:
                return None, identity, True
        return None, identity, False


def _repeated_parameter(query: bytes) -> str | None:
    """The first query parameter given twice, if any. Every parameter of this API takes one
    value, and a repeat would otherwise be settled silently (the last one wins)."""
    seen: set[str] = set()
    for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name[:100]
        seen.add(name)
    return None


def _rate_limited(wait: float) -> Any:
    from novelcrew.errors import RateLimited

    return RateLimited(f"too many requests; retry in {wait:.1f}s", retry_after=wait,
                       details={"retry_after_seconds": round(wait, 3)})


def _unauthorized(headers: dict[bytes, bytes]) -> Any:
    from novelcrew.errors import Unauthorized

    presented = b"x-api-key" in headers or b"authorization" in headers
    return Unauthorized("wrong API key" if presented else
                        "an API key is required: send X-API-Key or Authorization: Bearer")
