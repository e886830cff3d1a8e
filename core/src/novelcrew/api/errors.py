"""The one place that turns errors into HTTP responses.

Every error the API answers is JSON ``{"error": {"type", "message", "details"}}``:

| raised                                   | status | type                        |
|------------------------------------------|--------|-----------------------------|
| ``CrewNotFound``, ``JobNotFound``        | 404    | ``crew_not_found``, ...     |
| ``ToolMissing``                          | 503    | ``tool_missing``            |
| ``InvalidInput`` / request validation    | 422    | ``invalid_input``           |
| malformed JSON body                      | 400    | ``malformed_json``          |
| ``BadRequest`` (a malformed header)      | 400    | ``invalid_idempotency_key`` |
| ``StoryTooLarge`` / body over the limit  | 413    | ``story_too_large``, ...    |
| ``Unauthorized``                         | 401    | ``unauthorized``            |
| ``RateLimited``                          | 429    | ``rate_limited``            |
| ``Conflict``                             | 409    | ``conflict``                |
| ``BackendUnavailable``, store outage     | 503    | ``backend_unavailable``     |
| unknown route / wrong method             | 404/405| ``not_found``, ...          |
| anything else                            | 500    | ``internal_error``          |

``ToolMissing`` is a ``NotFound`` in the exception tree, but over HTTP the request was fine: the
server lacks a plugin the crew needs, which its operator must install, so it answers 503.

Novel Movie's routes (``COMPAT_PATH``) answer the same errors, status and headers in the
original server's shape ``{success: false, job_id: "", error: str, error_type, details}``
(``compat_shaped``), whether a route, the request guard or a middleware raised them.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from http import HTTPStatus
from typing import Any, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from novelcrew.errors import (
    IdempotencyKeyInUse,
    NovelcrewError,
    RateLimited,
    ToolMissing,
    Unauthorized,
)

log = structlog.get_logger(__name__)

#: statuses whose meaning differs over HTTP from the exception tree's default
STATUS_OVERRIDES: dict[type[NovelcrewError], int] = {ToolMissing: 503}

HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"})

HTTP_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "service_unavailable",
}


class ErrorBody(BaseModel):
    type: str = Field(description="A stable machine-readable error type.")
    message: str = Field(description="What went wrong, for people.")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """The shape of every error the API answers."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": {
        "type": "crew_not_found", "message": "unknown crew 'archtect'; known crews: architect, "
        "director", "details": {"crew": "archtect", "known": ["architect", "director"]}}}]})

    error: ErrorBody


class CompatError(BaseModel):
    """Every error on Novel Movie's routes (the original server's shape)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "success": False, "job_id": "", "error": "invalid inputs for crew 'architect': 1 "
        "error(s): story_text: the story is empty: send its text, or leave story_text out to "
        "read the project's story from Payload",
        "error_type": "invalid_input", "details": {"crew": "architect", "errors": [
            {"loc": ["story_text"], "msg": "the story is empty: send its text, or leave "
             "story_text out to read the project's story from Payload",
             "type": "story_empty"}]}}]})

    success: Literal[False] = False
    job_id: str = ""
    error: str = Field(description="What went wrong, for people.")
    error_type: str = Field(description="The native API's stable error type.")
    details: dict[str, Any] = Field(default_factory=dict)


#: the paths of Novel Movie's routes (``routes/compat.py``), whose client reads ``error`` as a
#: string: their errors keep the original's shape, also those answered before any route runs
#: (a body over the limit) or when no route matched (a wrong method)
COMPAT_PATH = re.compile(r"/crews/(?:execute|list|status(?:/[^/]+)?)/?")


def compat_shaped(native: Response) -> Response:
    """``native`` (the ``{"error": {...}}`` envelope) in the original's shape, its status and
    headers (``Retry-After``, ``Allow``, ``WWW-Authenticate``) kept; any other answer as is."""
    try:
        envelope = json.loads(bytes(native.body))["error"]
    except (ValueError, KeyError, TypeError):
        return native
    if not isinstance(envelope, dict):
        return native  # already in the original's shape
    details = envelope.get("details") or {}
    message = str(envelope.get("message") or envelope.get("type") or "error")
    body = CompatError(error=message, error_type=str(envelope.get("type", "error")),
                       details=details)
    headers = {k: v for k, v in native.headers.items()
               if k.lower() not in ("content-length", "content-type")}
    return JSONResponse(body.model_dump(mode="json"), status_code=native.status_code,
                        headers=headers)


def for_path(path: str, response: Response) -> Response:
    """``response`` in the shape the client of ``path`` reads."""
    return compat_shaped(response) if COMPAT_PATH.fullmatch(path) else response


#: how many of pydantic's errors an ``invalid_input`` message names (``details`` has all)
NAMED_PROBLEMS = 5


def problems_of(errors: Any) -> str:
    """``story_text: Field required; config.model: ...``: what a person reads first."""
    if not isinstance(errors, list):
        return ""
    return "; ".join(
        ": ".join(part for part in (".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                                    str(e.get("msg", ""))) if part)
        for e in errors[:NAMED_PROBLEMS] if isinstance(e, dict))


def error_response(status: int, type: str, message: str,
                   details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error envelope; an ``invalid_input`` message names its problems, so a client
    that shows only the message still says which field is wrong."""
    if type == "invalid_input" and details and (named := problems_of(details.get("errors"))):
        message = f"{message}: {named}"
    body = {"error": {"type": type, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


def status_for(exc: NovelcrewError) -> int:
    for cls, status in STATUS_OVERRIDES.items():
        if isinstance(exc, cls):
            return status
    return exc.status_code


def from_novelcrew_error(exc: NovelcrewError) -> JSONResponse:
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited | IdempotencyKeyInUse):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="novelcrew"'
    if status >= 500:
        # the error type is the event (backend_unavailable, tool_unavailable...)
        log.warning(exc.error_type, status=status, error=exc.message)
    return error_response(status, exc.error_type, exc.message, exc.details, headers or None)


def clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors without the rejected input (which may be a whole story) or context."""
    out = []
    for err in errors:
        out.append({
            "loc": [part if isinstance(part, (str, int)) else str(part)
                    for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        })
    return out


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON: ``application/json`` or
    ``application/*+json``, or no type at all (``strict_content_type=False``)."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    main, _, subtype = kind.partition("/")
    return main == "application" and (subtype == "json" or subtype.endswith("+json"))


def from_validation_error(exc: RequestValidationError,
                          content_type: str | None = None) -> JSONResponse:
    errors = clean_validation_errors(exc.errors())
    broken = next((e for e in errors if e["type"] == "json_invalid"), None)
    if broken is not None:
        where = broken["loc"][1:2]  # FastAPI gives the character where decoding stopped
        at = f" (at character {where[0]})" if where and isinstance(where[0], int) else ""
        return error_response(400, "malformed_json", f"the request body is not valid JSON{at}",
                              {"errors": errors})
    if not is_json(content_type) and any(e["loc"][:1] == ["body"] for e in errors):
        return error_response(415, "unsupported_media_type",
                              "send the body as JSON (Content-Type: application/json)",
                              {"content_type": content_type[:100] if content_type else None})
    return error_response(422, "invalid_input", f"invalid request: {len(errors)} error(s)",
                          {"errors": errors})


def from_http_exception(exc: StarletteHTTPException) -> Response:
    status = exc.status_code
    if status < 400:  # e.g. 304 raised by a route: not an error body
        return Response(status_code=status, headers=exc.headers)
    if status == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI's answer to a body it could not decode (not UTF-8) or nest (too deep)
        return error_response(400, "malformed_json", "the request body is not valid JSON",
                              {"errors": [{"loc": ["body"], "msg": str(exc.__cause__)[:200],
                                           "type": "json_invalid"}]})
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "HTTP error"
    message = exc.detail if isinstance(exc.detail, str) else phrase
    if status == 404 and message == "Not Found":
        message = "no such route"
    details: dict[str, Any] = {} if isinstance(exc.detail, str) else {"detail": exc.detail}
    return error_response(status, HTTP_TYPES.get(status, "http_error"), message, details,
                          dict(exc.headers) if exc.headers else None)


def allowed_methods(request: Request) -> str | None:
    """The methods the request's path answers, for the ``Allow`` of a 405 (None: a path the
    API document does not list).

    Starlette names only the methods of the first route whose path matched (``POST`` for
    ``OPTIONS /jobs``, though ``GET /jobs`` exists too). The API document knows them all; of
    the documented paths that match, the most specific (fewest parameters) answers, as routing
    does (``/crews/execute`` before ``/crews/{name}``)."""
    table: list[tuple[re.Pattern[str], str]] | None = getattr(request.app.state,
                                                             "allow_table", None)
    if table is None:
        paths = request.app.openapi().get("paths", {})
        rows = []
        for template, operations in paths.items():
            methods = {m.upper() for m in operations if m.upper() in HTTP_METHODS}
            if "GET" in methods:
                methods.add("HEAD")
            pattern = re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))
            rows.append((template.count("{"), pattern, ", ".join(sorted(methods))))
        table = [(pattern, allow) for _, pattern, allow in sorted(rows, key=lambda r: r[0])]
        request.app.state.allow_table = table
    path = request.scope.get("path", "")
    return next((allow for pattern, allow in table if pattern.fullmatch(path)), None)


def internal_error() -> JSONResponse:
    return error_response(500, "internal_error", "the server failed; see its logs")


def store_outage(exc: BaseException) -> JSONResponse:
    log.warning("backend_unavailable", status=503, error=f"{type(exc).__name__}: {exc}",
                source="job store")
    return error_response(503, "backend_unavailable",
                          f"the job store is unavailable ({type(exc).__name__})")


#: what a job store raises when it is unreachable or broken
STORE_OUTAGES: tuple[type[Exception], ...] = (
    ConnectionError, TimeoutError, RedisError, sqlite3.Error)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one JSON shape."""

    async def novelcrew_handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NovelcrewError)
        return from_novelcrew_error(exc)

    async def validation_handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return from_validation_error(exc, request.headers.get("content-type"))

    async def http_handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405 and (allow := allowed_methods(request)) is not None:
            exc = StarletteHTTPException(405, exc.detail, {**(exc.headers or {}), "Allow": allow})
        return for_path(request.url.path, from_http_exception(exc))

    async def outage_handler(request: Request, exc: Exception) -> Response:
        return store_outage(exc)

    async def unexpected_handler(request: Request, exc: Exception) -> Response:
        log.error("unhandled_error", method=request.method, path=request.url.path,
                  exc_info=(type(exc), exc, exc.__traceback__))
        return internal_error()

    app.add_exception_handler(NovelcrewError, novelcrew_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_handler)
    for outage in STORE_OUTAGES:
        app.add_exception_handler(outage, outage_handler)
    app.add_exception_handler(Exception, unexpected_handler)


#: the error responses every route may answer, for the OpenAPI document (``model``:
#: ``CompatError`` on Novel Movie's routes)
def responses(*statuses: int, model: type[BaseModel] = ErrorResponse
              ) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Malformed JSON body",
        401: "Missing or wrong API key",
        404: "Not found",
        409: "Conflict with the job's state",
        413: "Story or body too large",
        415: "The body is not JSON",
        422: "Invalid input",
        429: "Rate limited; see the Retry-After header",
        503: "A required dependency (job backend, tool) is unavailable",
    }
    return {
        status: {"model": model, "description": descriptions.get(status, "Error")}
        for status in statuses
    }


#: what any guarded route may answer before it runs (the key and rate limit dependencies)
GUARDED = responses(401, 429)
#: the same for a route that needs no key (``/health``)
PUBLIC = responses(429)
