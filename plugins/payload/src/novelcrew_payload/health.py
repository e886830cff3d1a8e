"""Payload's line in ``GET /health``: reachable, and accepting our API key.

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
from typing import TYPE_CHECKING, Any

from novelcrew.specs import Health
from novelcrew_payload.config import PayloadConfig, payload_config
from novelcrew_payload.errors import PayloadAuthError, PayloadError

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
    """``disabled`` without a URL; ``down`` when unreachable or when the key is rejected."""
    config = payload_config(settings)
    if config is None:
        return Health(status="disabled", detail="NOVELCREW_PAYLOAD_URL is not set")
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
        waited = time.monotonic() - shared[1]
        return last.model_copy(update={
            "detail": f"{last.detail} (the last probe's answer; a new one has waited "
                      f"{waited:.1f}s)"})


async def _remembered(key: _Key, config: PayloadConfig) -> Health:
    _answers[key] = answer = await _probe(config)
    return answer


async def _probe(config: PayloadConfig) -> Health:
    config = config.model_copy(update={"timeout_seconds": min(config.timeout_seconds,
                                                              HEALTH_TIMEOUT_SECONDS)})
    data: dict[str, Any] = {"url": config.api_url, "auth_collection": config.auth_collection}
    started = time.monotonic()
    try:
        from novelcrew_payload.client import PayloadClient  # httpx, only when used

        async with PayloadClient(config) as client:
            await client.find("projects", limit=1, depth=0, retries=0)
    except PayloadAuthError as exc:
        detail = ("Payload rejected the API key (403)" if config.api_key is not None
                  and config.api_key.get_secret_value()
                  else "Payload refused the request (403): no API key is configured")
        return Health(status="down", detail=detail, data={**data, "error": exc.message})
    except PayloadError as exc:
        return Health(status="down", detail=exc.message, data=data)
    data["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    return Health(status="ok", detail="Payload answered with our API key", data=data)
