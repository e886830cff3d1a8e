"""Payload's line in ``GET /health``: reachable, and accepting our API key."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from novelcrew.specs import Health
from novelcrew_payload.client import PayloadClient
from novelcrew_payload.config import payload_config
from novelcrew_payload.errors import PayloadAuthError, PayloadError

if TYPE_CHECKING:
    from novelcrew.settings import Settings

#: a health check answers quickly: one short attempt, no retries
HEALTH_TIMEOUT_SECONDS = 3.0


async def payload_health(settings: Settings) -> Health:
    """``disabled`` without a URL; ``down`` when unreachable or when the key is rejected."""
    config = payload_config(settings)
    if config is None:
        return Health(status="disabled", detail="NOVELCREW_PAYLOAD_URL is not set")
    config = config.model_copy(update={"timeout_seconds": min(config.timeout_seconds,
                                                              HEALTH_TIMEOUT_SECONDS)})
    data: dict[str, Any] = {"url": config.api_url, "auth_collection": config.auth_collection}
    started = time.monotonic()
    try:
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
