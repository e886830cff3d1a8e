"""The per-client rate limit: ``rate_limit_per_minute`` requests in any 60 seconds.

Counted by the ``limits`` library with its moving-window strategy. On the ``arq`` backend the
counts live in the same Redis as the jobs, so every API instance spends from one budget per
client; on the ``inline`` backend (one process) they live in memory.

A client is an API key (by a digest of the key, the same in every instance whatever the order
of ``NOVELCREW_API_KEYS``) or, without a valid key, its IP address.
"""

from __future__ import annotations

import time

import structlog
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from novelcrew.errors import RateLimited
from novelcrew.settings import Settings

log = structlog.get_logger(__name__)

#: the Redis keys of the counts start with this
KEY_PREFIX = "novelcrew:ratelimit"
#: seconds between two warnings that the counts' storage failed
WARN_EVERY = 30.0


class RateLimit:
    """``await limit.hit(client)`` raises ``RateLimited`` once the client spent its budget."""

    def __init__(self, per_minute: int, storage: Storage | None = None) -> None:
        self.item = RateLimitItemPerMinute(max(per_minute, 1))
        self.enabled = per_minute > 0
        self.storage = storage or MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._warned_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimit:
        storage: Storage | None = None
        if settings.job_backend == "arq" and settings.rate_limit_per_minute > 0:
            storage = RedisStorage(f"async+{settings.redis_url}", implementation="redispy",
                                   key_prefix=KEY_PREFIX)
        return cls(settings.rate_limit_per_minute, storage)

    async def hit(self, client: str) -> None:
        if not self.enabled:
            return
        try:
            if await self.limiter.hit(self.item, client):
                return
            stats = await self.limiter.get_window_stats(self.item, client)
        except Exception as exc:
            # The budget's storage is down (Redis): let the request through, so that /health
            # still answers, and a route needing the job store answers 503 by itself.
            self._warn(exc)
            return
        wait = max(stats.reset_time - time.time(), 0.0)
        raise RateLimited(f"too many requests; retry in {wait:.1f}s", retry_after=wait,
                          details={"retry_after_seconds": round(wait, 3)})

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning("rate_limit_storage_failed", error=f"{type(exc).__name__}: {exc}",
                        effect="requests are not limited")
