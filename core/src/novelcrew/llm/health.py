"""Health of the model providers, as ``GET /health`` shows it (no crewAI import here).

A provider that no routed model uses is ``disabled``; one that is routed to but not configured
or not answering is ``down``. Answers are cached briefly so ``/health`` polling does not turn
into provider traffic.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from novelcrew.specs import Health

if TYPE_CHECKING:
    from novelcrew.settings import Settings

CACHE_SECONDS = 30.0
_cache: dict[tuple[str, str], tuple[float, Health]] = {}


def routed_providers(settings: Settings) -> set[str]:
    """Providers of the default, per-crew, per-agent and fallback models."""
    models = [settings.model_for_default, *settings.crew_models.values(),
              *settings.agent_models.values(), *settings.fallback_models]
    return {m.split("/", 1)[0] for m in models}


async def _probe(url: str, key: str | None) -> Health:
    cache_key = (url, key or "")
    hit = _cache.get(cache_key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        async with httpx.AsyncClient(timeout=4.0) as client:
            response = await client.get(f"{url.rstrip('/')}/models", headers=headers)
        if response.status_code < 400:
            health = Health(status="ok", detail=url)
        else:
            health = Health(status="down", detail=f"{url}/models answered {response.status_code}")
    except httpx.HTTPError as exc:
        health = Health(status="down", detail=f"{url}: {type(exc).__name__}: {exc}")
    _cache[cache_key] = (time.monotonic(), health)
    return health


async def openrouter_health(settings: Settings) -> Health:
    used = "openrouter" in routed_providers(settings)
    key = settings.openrouter_api_key.get_secret_value() if settings.openrouter_api_key else ""
    if not key:
        if used:
            return Health(status="down", detail="a routed model needs OPENROUTER_API_KEY")
        return Health(status="disabled", detail="OPENROUTER_API_KEY is not set")
    if not used:
        return Health(status="ok", detail="key set; no routed model uses openrouter")
    return await _probe(settings.openrouter_base_url, key)


async def openai_health(settings: Settings) -> Health:
    used = "openai" in routed_providers(settings)
    if not used:
        return Health(status="disabled", detail="no routed model uses openai/...")
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return await _probe(settings.openai_base_url or "https://api.openai.com/v1", key)
