"""Payload's lines in ``GET /health``: reachable, and letting our API key do what we do.

A probe asks Payload what the key's user may do (``GET /api/access``: Payload's own answer,
its access functions run for that user, and nothing is written), so a key that may read but not
update projects shows ``down`` on ``payload_update_project`` before a job's update is refused;
reading a project would pass with it, and with any key at all where projects are public.
The three tools share this check; one probe per server answers all three (a probe started less
than ``SHARE_SECONDS`` ago in the same event loop is awaited rather than repeated). ``/health``
is a liveness probe and must not wait on a Payload that hangs: once a server has answered a
probe (or timed out), a check waits ``WAIT_SECONDS`` for a new probe, then answers with the last
probe's answer while the new one goes on. Only the first check waits for its probe (at most
``HEALTH_TIMEOUT_SECONDS``), so it never reports a server it has not heard from yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from novelcrew.specs import Health
from novelcrew_payload.config import PayloadConfig, payload_config
from novelcrew_payload.errors import PayloadAuthError, PayloadError
from novelcrew_payload.observer import pending_restores

if TYPE_CHECKING:
    from novelcrew.settings import Settings

#: a health check answers quickly: one short attempt, no retries
HEALTH_TIMEOUT_SECONDS = 3.0
SHARE_SECONDS = 2.0
WAIT_SECONDS = 0.5

_Key = tuple[str, str, str]
_probes: dict[_Key, tuple[asyncio.AbstractEventLoop, float, asyncio.Task[Health]]] = {}
_answers: dict[_Key, Health] = {}  # each server's last finished probe


async def payload_health(settings: Settings) -> Health:
    """``disabled`` without a URL; ``down`` when unreachable, when the key is unknown or when
    its user may not do all novelcrew does (``tool_health`` judges one tool's needs)."""
    config = payload_config(settings)
    if config is None:
        return Health(status="disabled",
                      detail="NOVEL_MOVIE_API_URL (or NOVELCREW_PAYLOAD_URL) is not set")
    secret = config.api_key.get_secret_value() if config.api_key else ""
    key = (config.api_url, config.auth_collection, hashlib.sha256(secret.encode()).hexdigest())
    loop = asyncio.get_running_loop()
    now = time.monotonic()
    shared = _probes.get(key)
    if shared is None or shared[0] is not loop or now - shared[1] > SHARE_SECONDS:
        shared = (loop, now, loop.create_task(_remembered(key, config)))
        _probes[key] = shared
    last = _answers.get(key)
    if last is None:
        return await asyncio.shield(shared[2])
    try:
        return await asyncio.wait_for(asyncio.shield(shared[2]), WAIT_SECONDS)
    except TimeoutError:
        stale = f" (the last probe's answer; a new one has waited " \
                f"{time.monotonic() - shared[1]:.1f}s)"
        return last.model_copy(update={"detail": f"{last.detail}{stale}",
                                       "data": {**last.data, "stale": stale}})


async def _remembered(key: _Key, config: PayloadConfig) -> Health:
    _answers[key] = answer = await _probe(config)
    return answer


#: what each tool needs Payload to allow its key: (operation, collection, field path); the
#: update tool's needs are the observer's too (it writes these fields)
NEEDS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "payload_read_project": (("read", "projects", ()),),
    "payload_read_story": (("read", "stories", ()),),
    "payload_update_project": (
        ("update", "projects", ()),
        ("update", "projects", ("status",)),
        ("update", "projects", ("workflowStatus", "currentStep")),
        ("update", "projects", ("workflowStatus", "completedSteps")),
        ("update", "projects", ("workflowStatus", "lastActivity")),
        ("update", "projects", ("generatedContent", "scenes")),
        ("update", "projects", ("generatedContent", "storyboard")),
    ),
}
CHECKED = "GET /api/access"


def _allowed(permission: Any) -> bool:
    """Payload 3's sanitised permission: ``true``, ``{permission: true[, where]}``; a denied
    operation is left out."""
    return permission is True or (isinstance(permission, Mapping)
                                  and permission.get("permission") is True)


def _may(access: Any, operation: str, collection: str, path: tuple[str, ...]) -> bool:
    """Whether ``access`` (``GET /api/access``) allows ``operation`` on the collection, or on
    the field at ``path``. A field it does not list is not judged here (Payload drops fields a
    collection lacks; the observer reports a missing storyboard field itself)."""
    collections = access.get("collections") if isinstance(access, Mapping) else None
    entry = collections.get(collection) if isinstance(collections, Mapping) else None
    if not isinstance(entry, Mapping):
        return False
    if not path:
        return _allowed(entry.get(operation))
    node: Any = entry
    for name in path:
        fields = node.get("fields") if isinstance(node, Mapping) else True
        if fields is True or not isinstance(fields, Mapping):
            return True  # the whole subtree is allowed
        node = fields.get(name)
        if node is None or node is True:
            return True
        if not _allowed(node.get(operation)):
            return False
    return True


def _denied(access: Any, tool: str) -> list[str]:
    """What ``tool`` needs and may not do; a collection denied whole is not listed by field."""
    return [f"{operation} {'.'.join((collection, *path))}"
            for operation, collection, path in NEEDS[tool]
            if not _may(access, operation, collection, path)
            and (not path or _may(access, operation, collection, ()))]


def _what(tool: str) -> str:
    return {"payload_read_project": "read projects", "payload_read_story": "read stories",
            "payload_update_project": "update projects and the fields novelcrew writes"}[tool]


def tool_health(tool: str) -> Callable[[Settings], Awaitable[Health]]:
    """``tool``'s line in ``/health``: the shared probe's answer, judged by what it needs."""

    async def check(settings: Settings) -> Health:
        answer = await _judged(tool, settings)
        return _with_restores(answer, settings) if tool == "payload_update_project" else answer

    check.__name__ = f"{tool}_health"
    return check


def _with_restores(answer: Health, settings: Settings) -> Health:
    """The observer's restores waiting for Payload (``pending_restores``), on the update
    tool's line: ``degraded`` while any project stays generating for a job that is over."""
    config = payload_config(settings)
    pending = pending_restores(config.api_url) if config is not None else []
    if not pending:
        return answer
    listed = ", ".join(f"{p.project_id} (job {p.job_id}, {p.what})" for p in pending[:5])
    more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
    return answer.model_copy(update={
        "status": "degraded" if answer.status == "ok" else answer.status,
        "detail": f"{answer.detail}; {len(pending)} project(s) left at a running job's step by "
                  f"a job that is over, put back once Payload answers: {listed}{more}",
        "data": {**answer.data, "restores_pending": [
            {"project_id": p.project_id, "job_id": p.job_id, "what": p.what, "step": p.step,
             "since": p.since, "tries": p.tries, "error": p.error} for p in pending]}})


async def _judged(tool: str, settings: Settings) -> Health:
    """The shared probe's answer, judged by what ``tool`` needs."""
    answer = await payload_health(settings)
    denied = answer.data.get("denied")
    if not isinstance(denied, Mapping) or answer.data.get("key_unknown"):
        return answer
    missing = denied.get(tool) or []
    data = {key: value for key, value in answer.data.items()
            if key not in ("denied", "stale")}
    stale = answer.data.get("stale") or ""
    if missing:
        return answer.model_copy(update={
            "status": "down", "data": {**data, "denied": missing},
            "detail": f"Payload accepts the API key, but its user may not "
                      f"{', '.join(missing)} (checked with {CHECKED}){stale}"})
    return answer.model_copy(update={
        "status": "ok", "data": data,
        "detail": f"Payload lets the API key {_what(tool)} (checked with {CHECKED}){stale}"})


async def _probe(config: PayloadConfig) -> Health:
    """One ``GET /api/access`` (what the key's user may do: nothing is written), and only when
    something is denied a ``GET /api/<auth collection>/me`` to tell an unknown key (Payload
    answers it as an anonymous visitor, and a collection readable by anyone, as Novel Movie's
    projects are, reads fine with it) from a user without rights."""
    config = config.model_copy(update={"timeout_seconds": min(config.timeout_seconds,
                                                              HEALTH_TIMEOUT_SECONDS)})
    has_key = config.api_key is not None and bool(config.api_key.get_secret_value())
    data: dict[str, Any] = {"url": config.api_url, "auth_collection": config.auth_collection,
                            "checked": CHECKED}
    started = time.monotonic()
    try:
        from novelcrew_payload.client import PayloadClient  # httpx, only when used

        async with PayloadClient(config) as client:
            access = await client.request("GET", "/access", retries=0)
            denied = {tool: _denied(access, tool) for tool in NEEDS}
            user: Any = True
            if any(denied.values()):
                me = await client.request("GET", f"/{config.auth_collection}/me", retries=0)
                user = me.get("user") if isinstance(me, Mapping) else None
    except PayloadAuthError as exc:
        detail = ("Payload rejected the API key (403)" if has_key
                  else "Payload refused the request (403): no API key is configured")
        return Health(status="down", detail=detail, data={**data, "error": exc.message})
    except PayloadError as exc:
        return Health(status="down", detail=exc.message, data=data)
    data["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    if not user:
        detail = ("Payload rejected the API key: it does not know it, and answers as to an "
                  "anonymous visitor" if has_key else
                  "no API key is configured (NOVELCREW_PAYLOAD_API_KEY), and Payload answers "
                  "as to an anonymous visitor")
        return Health(status="down", detail=detail,
                      data={**data, "key_unknown": True, "denied": denied})
    data["denied"] = denied
    missing = sorted({item for items in denied.values() for item in items})
    if missing:
        return Health(status="down", data=data,
                      detail=f"Payload accepts the API key, but its user may not "
                             f"{', '.join(missing)} (checked with {CHECKED})")
    return Health(status="ok", data=data,
                  detail=f"Payload lets the API key read projects and stories and update "
                         f"projects (checked with {CHECKED})")
