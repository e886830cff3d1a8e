"""An async client for Payload CMS 3's REST API (``/api/<collection>``).

It authenticates as a machine client (``Authorization: <auth collection> API-Key <key>``),
retries with exponential backoff on connection errors, timeouts and 5xx (never on 4xx, which
would only fail again), and turns every failure into a typed ``PayloadError`` that says what
Payload meant: 403 is a rejected key, 400 lists each invalid field's path. Each call's outcome
also tells ``outage`` whether Payload is reachable, for the callers that stop retrying into an
outage.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from novelcrew_payload.config import PayloadConfig
from novelcrew_payload.errors import (
    PayloadAuthError,
    PayloadBadId,
    PayloadCollectionNotFound,
    PayloadError,
    PayloadNotFound,
    PayloadUnavailable,
    PayloadValidationError,
)
from novelcrew_payload.outage import note_available, note_unavailable

log = logging.getLogger(__name__)

DocId = int | str

#: Payload's ids: integers (SQLite, Postgres serial), 24-hex ObjectIds (MongoDB), UUIDs
_ID = re.compile(r"^(?:\d{1,19}|[0-9a-fA-F]{24}"
                 r"|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def doc_path(collection: str, doc_id: DocId | None = None) -> str:
    """``/<collection>[/<id>]`` from data that must never become a path of its own.

    A project id comes from a job's submitter: ``../users/1`` would otherwise make the plugin
    read and write another collection with the server's key. Ids must have Payload's id format
    and are percent-encoded as one path segment all the same.
    """
    if not _SLUG.match(collection):
        raise PayloadBadId(f"not a Payload collection slug: {collection[:40]!r}")
    if doc_id is None:
        return f"/{collection}"
    text = str(doc_id)
    if not is_doc_id(doc_id):
        raise PayloadBadId(
            f"not a Payload document id: {text[:40]!r} (an integer, an ObjectId or a UUID)")
    return f"/{collection}/{quote(text, safe='')}"


def is_doc_id(doc_id: object) -> bool:
    """Whether ``doc_id`` has the form of a Payload document id (see ``doc_path``)."""
    return isinstance(doc_id, int | str) and not isinstance(doc_id, bool) \
        and bool(_ID.match(str(doc_id)))


def flatten_query(value: Any, prefix: str) -> list[tuple[str, str]]:
    """Payload's ``qs`` query syntax: ``{"project": {"equals": 1}}`` under ``where`` becomes
    ``where[project][equals]=1`` (lists are indexed: ``where[or][0][...]``)."""
    if isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs.extend(flatten_query(item, f"{prefix}[{key}]"))
        return pairs
    if isinstance(value, list | tuple):
        pairs = []
        for index, item in enumerate(value):
            pairs.extend(flatten_query(item, f"{prefix}[{index}]"))
        return pairs
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, "" if value is None else str(value))]


def _messages(body: Any) -> list[str]:
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list):
            return [str(e.get("message", e)) if isinstance(e, Mapping) else str(e)
                    for e in errors]
        if "message" in body:
            return [str(body["message"])]
    return []


def _field_errors(body: Any) -> list[dict[str, str]]:
    """``[{path, message}]`` from a 400 body (``errors[].data.errors[]``)."""
    found: list[dict[str, str]] = []
    errors = body.get("errors") if isinstance(body, Mapping) else None
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, Mapping):
            continue
        data = error.get("data")
        fields = data.get("errors") if isinstance(data, Mapping) else None
        if isinstance(fields, list) and fields:
            for field in fields:
                if isinstance(field, Mapping):
                    found.append({"path": str(field.get("path", "")),
                                  "message": str(field.get("message", ""))})
        else:
            found.append({"path": "", "message": str(error.get("message", ""))})
    return found


class PayloadClient:
    """One Payload server; use as ``async with PayloadClient(config) as payload: ...``."""

    def __init__(self, config: PayloadConfig, *, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.config = config
        headers = {"Accept": "application/json", "User-Agent": "novelcrew-payload"}
        if config.api_key is not None and config.api_key.get_secret_value():
            headers["Authorization"] = (
                f"{config.auth_collection} API-Key {config.api_key.get_secret_value()}"
            )
        self._http = httpx.AsyncClient(base_url=config.api_url, headers=headers,
                                       timeout=config.timeout_seconds, transport=transport)

    async def __aenter__(self) -> PayloadClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # documents ----------------------------------------------------------------------------
    async def get(self, collection: str, doc_id: DocId, *, depth: int = 0,
                  select: Mapping[str, Any] | None = None,
                  populate: Mapping[str, Any] | None = None,
                  budget: float | None = None, retries: int | None = None) -> dict[str, Any]:
        """The document ``doc_id`` of ``collection`` (``PayloadNotFound`` when there is none).

        ``select`` keeps only some fields (``{"tone": True}``; unselected relationships are not
        populated either), and ``populate`` keeps only some fields of the documents populated
        from each collection (``{"tone-options": {"name": True}}``), as Payload 3's REST API
        takes them; both keep a ``depth`` > 0 answer small.
        """
        params: list[tuple[str, str]] = [("depth", str(depth))]
        if select:
            params.extend(flatten_query(select, "select"))
        if populate:
            params.extend(flatten_query(populate, "populate"))
        return await self.request("GET", doc_path(collection, doc_id), params=params,
                                  budget=budget, retries=retries)

    async def find(self, collection: str, *, where: Mapping[str, Any] | None = None,
                   limit: int = 10, page: int = 1, sort: str | None = None, depth: int = 0,
                   budget: float | None = None, retries: int | None = None) -> dict[str, Any]:
        """A page of documents: ``{docs, totalDocs, limit, totalPages, page, ...}``."""
        params: list[tuple[str, str]] = [("limit", str(limit)), ("page", str(page)),
                                         ("depth", str(depth))]
        if sort:
            params.append(("sort", sort))
        if where:
            params.extend(flatten_query(where, "where"))
        return await self.request("GET", doc_path(collection), params=params, budget=budget,
                                  retries=retries)

    async def patch(self, collection: str, doc_id: DocId, data: Mapping[str, Any], *,
                    depth: int = 0, budget: float | None = None, retries: int | None = None
                    ) -> dict[str, Any]:
        """Update only the fields in ``data``; returns the updated document."""
        body = await self.request("PATCH", doc_path(collection, doc_id), params={"depth": depth},
                                  json=dict(data), budget=budget, retries=retries)
        return body.get("doc", body) if isinstance(body, dict) else body

    async def create(self, collection: str, data: Mapping[str, Any], *, depth: int = 0,
                     budget: float | None = None) -> dict[str, Any]:
        """Create a document; returns it. Not retried (a retry could create it twice)."""
        body = await self.request("POST", doc_path(collection), params={"depth": depth},
                                  json=dict(data), budget=budget, retries=0)
        return body.get("doc", body) if isinstance(body, dict) else body

    # transport ----------------------------------------------------------------------------
    async def request(self, method: str, path: str, *, params: Any = None,
                      json: Any = None, budget: float | None = None,
                      retries: int | None = None) -> Any:
        """One call with retries; ``budget`` caps the seconds spent on it, retries included."""
        cfg = self.config
        retries = cfg.retries if retries is None else retries
        deadline = None if budget is None else time.monotonic() + budget
        url = f"{cfg.api_url}{path}"
        attempt = 0
        last: PayloadError | None = None
        while True:
            timeout = cfg.timeout_seconds
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:  # the budget ran out (a wait overshot, or nothing was left)
                    note_unavailable(cfg.api_url)
                    raise _noted(last, attempt) if last is not None else PayloadUnavailable(
                        f"Payload did not answer {method} {url} within {budget:.3g}s", url=url)
            try:
                response = await self._http.request(method, path, params=params, json=json,
                                                    timeout=timeout)
            except httpx.TransportError as exc:
                problem = (f"Payload timed out on {method} {url} after {timeout:.3g}s"
                           if isinstance(exc, httpx.TimeoutException)
                           else f"Payload is unreachable at {url}: {type(exc).__name__}: {exc}")
                failure: PayloadError = PayloadUnavailable(problem, url=url)
            else:
                if response.status_code < 500:
                    note_available(cfg.api_url)  # it answered, even if to refuse
                    return self._result(method, url, response)
                failure = PayloadUnavailable(
                    f"Payload answered {response.status_code} to {method} {url}: "
                    f"{'; '.join(_messages(_json(response))) or response.reason_phrase}",
                    status=response.status_code, url=url)
            delay = min(cfg.max_backoff_seconds, cfg.backoff_seconds * 2 ** attempt)
            delay *= 1 + random.random() * 0.25
            # give up when out of retries, or when the wait would leave no time for an attempt
            if attempt >= retries or (deadline is not None
                                      and time.monotonic() + delay >= deadline - 0.01):
                note_unavailable(cfg.api_url)
                raise _noted(failure, attempt + 1)
            attempt += 1
            last = failure
            log.info("payload call failed, retry %d/%d in %.2fs: %s", attempt, retries, delay,
                     failure.message)
            await asyncio.sleep(delay)

    def _result(self, method: str, url: str, response: httpx.Response) -> Any:
        status = response.status_code
        body = _json(response)
        if status < 300:
            if body is None and response.content:
                raise PayloadError(f"Payload answered {method} {url} with non-JSON content",
                                   status=status, url=url)
            return body
        messages = "; ".join(_messages(body)) or response.reason_phrase
        if status == 403:
            if self.config.api_key is None or not self.config.api_key.get_secret_value():
                text = ("Payload refused the request (403) and no API key is configured: set "
                        "NOVELCREW_PAYLOAD_API_KEY (or NOVEL_MOVIE_API_KEY)")
            else:
                text = (f"Payload rejected the API key (403) on {method} {url}: {messages}; "
                        "check NOVELCREW_PAYLOAD_API_KEY (or NOVEL_MOVIE_API_KEY) and that the "
                        f"key belongs to a '{self.config.auth_collection}' user with API keys "
                        "enabled")
            raise PayloadAuthError(text, status=status, url=url)
        if status == 404:
            if isinstance(body, Mapping) and "errors" not in body:
                raise PayloadCollectionNotFound(
                    f"Payload has no such route or collection: {method} {url} ({messages})",
                    status=status, url=url)
            raise PayloadNotFound(f"Payload found nothing at {url} (404)", status=status,
                                  url=url)
        if status == 400:
            fields = _field_errors(body)
            listed = "; ".join(f"{f['path']}: {f['message']}" if f["path"] else f["message"]
                               for f in fields) or messages
            raise PayloadValidationError(f"Payload rejected {method} {url} (400): {listed}",
                                         errors=fields, status=status, url=url)
        raise PayloadError(f"Payload answered {status} to {method} {url}: {messages}",
                           status=status, url=url)


def _noted(failure: PayloadError, attempts: int) -> PayloadError:
    """``failure`` saying how many attempts it took, when there were several."""
    if attempts > 1:
        failure.message = f"{failure.message} (after {attempts} attempts)"
        failure.args = (failure.message,)
    return failure


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
