"""Routes whose JSON body is read by pydantic's own parser instead of FastAPI's body machinery.

The submission routes are the API's busiest. FastAPI reads a body with ``json.loads`` and then
validates it through its dependency solver, about a quarter of its work per submission.
``JSONBodyRoute`` keeps the route's declaration, so the OpenAPI document (request schema,
responses) is still FastAPI's own, and replaces only the handler. The body is parsed by
``pydantic_core.from_json`` and validated by the model in one pass. What JSON does not allow
and no client could read back (``NaN``, ``Infinity``, nesting past 200 levels) is refused as
malformed; lone surrogates are JSON syntax and reach the submission check, which names the
field. Errors are raised as ``RequestValidationError`` in FastAPI's own shape (``loc``
starting with ``"body"``), so the app's error handlers answer them as they answer any route.

An endpoint served this way takes exactly ``(body: SomeModel, request: Request)`` and returns a
``Response``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, get_type_hints

import pydantic_core
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from novelcrew.api.errors import is_json

#: how deep pydantic's JSON parser reads, in the API and in the store: a body nested deeper
#: would be accepted and then never read back
MAX_DEPTH = 200

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=Callable[..., Any])
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _error(type: str, msg: str, **ctx: Any) -> RequestValidationError:
    """An error about the whole body, in FastAPI's shape."""
    error: dict[str, Any] = {"type": type, "loc": ("body",), "msg": msg, "input": None}
    if ctx:
        error["ctx"] = ctx
    return RequestValidationError([error])


async def read_model(request: Request, model: type[M]) -> M:
    """The request's JSON body as ``model``, or the ``RequestValidationError`` FastAPI would
    raise for it (missing body, not JSON, malformed JSON, invalid fields)."""
    try:
        raw = await request.body()
    except ClientDisconnect:
        raise HTTPException(400, "There was an error parsing the body") from None
    if not raw:
        raise _error("missing", "Field required")
    if not is_json(request.headers.get("content-type")):
        raise _error("model_attributes_type",
                     "Input should be a valid dictionary or object to extract fields from")
    try:
        data = pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        if not any(hint in str(exc) for hint in ("hex escape", "expected value", "invalid number")):
            # not JSON, or nested deeper than the parser (and so the store) reads
            raise _error("json_invalid", f"JSON decode error: {exc}", error=str(exc)) from None
        data = _parse_slowly(raw, exc)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]) from None


def _parse_slowly(raw: bytes, error: ValueError) -> Any:
    """A body the fast parser refused, parsed by the standard library, for two cases: a lone
    surrogate (``"\\ud800"``) is JSON syntax, and the submission check answers it with a 422
    naming the field; ``NaN`` and ``Infinity`` are not JSON, and the answer says so by name.
    Anything else the fast parser refused is refused here too."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON value")

    try:
        data = json.loads(raw, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        detail = str(exc) if "JSON value" in str(exc) else str(error)
        raise _error("json_invalid", f"JSON decode error: {detail}", error=detail) from None
    if _depth(data) > MAX_DEPTH:
        detail = f"nested deeper than {MAX_DEPTH} levels"
        raise _error("json_invalid", f"JSON decode error: {detail}", error=detail)
    return data


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1)
                         for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class JSONBodyRoute(APIRoute):
    """An ``APIRoute`` that reads its one JSON body with ``read_model`` (see the module)."""

    def get_route_handler(self) -> Handler:
        endpoint = self.endpoint
        if list(inspect.signature(endpoint).parameters) != ["body", "request"]:
            raise TypeError(f"{endpoint.__name__} must take exactly (body, request)")
        model = get_type_hints(endpoint)["body"]

        async def handler(request: Request) -> Response:
            response = await endpoint(body=await read_model(request, model), request=request)
            if not isinstance(response, Response):
                raise TypeError(f"{endpoint.__name__} must return a Response")
            return response

        return handler


def post(router: APIRouter, path: str, **options: Any) -> Callable[[E], E]:
    """``router.post`` for an endpoint served by ``JSONBodyRoute``."""

    def decorator(endpoint: E) -> E:
        route_class = options.pop("route_class", JSONBodyRoute)
        router.add_api_route(path, endpoint, methods=["POST"],
                             route_class_override=route_class, **options)
        return endpoint

    return decorator
