"""How many calls a model takes at once: one limit per model (or provider), for every job.

Crews start all their independent model calls at once (every chunk, every scene); what bounds
them is this module, around each call to a model (``RoutedLLM``). A model's calls share a
*pool*: named after the model id, or after the provider or model prefix that
``model_concurrency_overrides`` names (``{"openrouter": 32}`` is one pool of 32 for every
OpenRouter model, ``{"openai/gpt-4o": 8}`` one of 8 for that model alone). The rest get
``model_concurrency`` (16) each.

The limit adapts, AIMD-style, as TCP's window does: a 429 (rate limited) halves the pool's
limit (at most once per ``DECREASE_INTERVAL``, so one burst of 429s counts once) and each
answered call raises it by ``1/limit`` (one step per round of calls) back up to the
configured limit.

Pools live in this process (``LocalLimiter``), shared by all its jobs; with the ``arq`` backend
they live in Redis (``RedisLimiter``), shared by every worker: a slot is a lease in a sorted
set, renewed while the call runs, so a crashed holder's slot comes back when its lease expires
(``LEASE_SECONDS``) instead of leaking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from novelcrew.errors import causes
from novelcrew.llm.policy import status_of

if TYPE_CHECKING:
    from novelcrew.settings import Settings

log = logging.getLogger(__name__)

#: while Redis is away, one warning per this many seconds (each model call falls back)
REDIS_DOWN_LOG_SECONDS = 10.0

__all__ = ["LEASE_SECONDS", "LocalLimiter", "ModelLimiter", "RedisLimiter", "Slot",
           "give_back_slots", "limiter_for", "model_slot", "rate_limited"]

#: a 429 halves a pool's limit at most once in this many seconds
DECREASE_INTERVAL = 2.0
#: a Redis slot's lease; renewed every third of it while its call runs
LEASE_SECONDS = 30.0
#: longest pause between two looks at a full pool
MAX_POLL = 0.25


def rate_limited(exc: BaseException | None) -> bool:
    """Whether a failed call was the provider saying "too many requests" (HTTP 429)."""
    return exc is not None and any(status_of(err) == 429 for err in causes(exc))


@dataclass
class _Pool:
    """A pool's adaptive limit (the configured one is its ceiling)."""

    ceiling: int
    limit: float
    cut_at: float = 0.0

    def allowed(self) -> int:
        return max(1, int(self.limit))

    def decrease(self, now: float) -> bool:
        if now - self.cut_at < DECREASE_INTERVAL:
            return False
        self.cut_at = now
        self.limit = max(1.0, float(int(self.limit) // 2))
        return True

    def increase(self) -> None:
        self.limit = min(float(self.ceiling), self.limit + 1.0 / max(1.0, self.limit))


class ModelLimiter:
    """Slots per pool; ``slot`` holds one for the duration of a call.

    Subclasses implement ``_try`` (take a slot if the pool has one free: a token, else
    None) and ``_release`` (give it back, saying whether the call was rate limited), and say
    whether those block on I/O (``blocking``: a coroutine then calls them on a thread).
    """

    #: whether ``_try`` / ``_release`` wait on I/O
    blocking = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake: dict[str, threading.Condition] = {}
        self._pollers: dict[str, threading.Lock] = {}

    # to implement ---------------------------------------------------------------------------
    def _try(self, pool: str, ceiling: int) -> str | None:
        raise NotImplementedError

    def _release(self, pool: str, token: str, ceiling: int, throttled: bool) -> None:
        raise NotImplementedError

    def limit(self, pool: str) -> float | None:
        """The pool's current (adaptive) limit; None before its first call."""
        raise NotImplementedError

    def in_use(self, pool: str) -> int:
        """Slots of the pool held now (by this process, or by every worker in Redis)."""
        raise NotImplementedError

    # waiting --------------------------------------------------------------------------------
    def _parts(self, pool: str) -> tuple[threading.Condition, threading.Lock]:
        with self._lock:
            if pool not in self._wake:
                self._wake[pool] = threading.Condition(threading.Lock())
                self._pollers[pool] = threading.Lock()
            return self._wake[pool], self._pollers[pool]

    def _notify(self, pool: str) -> None:
        wake, _ = self._parts(pool)
        with wake:
            wake.notify_all()

    def acquire(self, pool: str, ceiling: int, check: Callable[[], None] | None = None) -> str:
        """A slot of ``pool`` (blocking this thread); ``check`` runs while waiting and may
        raise (a cancelled job stops waiting)."""
        wake, poller = self._parts(pool)
        # one thread per pool and process asks at a time; the others wait their turn here
        while not poller.acquire(timeout=MAX_POLL):
            if check is not None:
                check()
        try:
            delay = 0.005
            # asked under ``wake``'s lock: a release in this process (which notifies under
            # it) wakes the asker at once, never between its look and its wait
            with wake:
                while (token := self._try(pool, ceiling)) is None:
                    if check is not None:
                        check()
                    wake.wait(delay)  # other processes' releases: seen at the next look
                    delay = min(delay * 2, MAX_POLL)
            return token
        finally:
            poller.release()

    async def aacquire(self, pool: str, ceiling: int,
                       check: Callable[[], None] | None = None) -> str:
        """``acquire`` for a coroutine: it waits without blocking the event loop (other
        processes' releases, and this process's, are seen at the next look)."""
        delay = 0.005
        while (token := await self._call(self._try, pool, ceiling)) is None:
            if check is not None:
                check()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_POLL)
        return token

    def release(self, pool: str, token: str, ceiling: int, throttled: bool = False) -> None:
        try:
            self._release(pool, token, ceiling, throttled)
        except Exception:  # a lost slot expires with its lease; never fail the call for it
            log.warning("could not release a model slot of %s", pool, exc_info=True)
        self._notify(pool)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` from a coroutine: on a thread when it does I/O (Redis)."""
        return await asyncio.to_thread(fn, *args) if self.blocking else fn(*args)

    def slot(self, pool: str, ceiling: int,
             check: Callable[[], None] | None = None) -> Slot:
        """A slot of ``pool`` around one call, held with ``with`` (a thread) or
        ``async with`` (a coroutine); a 429 raised through it lowers the limit."""
        return Slot(self, pool, ceiling, check)


class Slot:
    """One call's slot of a pool: the same rules whether a thread or a coroutine holds it."""

    def __init__(self, limiter: ModelLimiter, pool: str, ceiling: int,
                 check: Callable[[], None] | None) -> None:
        self.limiter = limiter
        self.pool = pool
        self.ceiling = ceiling
        self.check = check
        self.token: str | None = None

    def __enter__(self) -> Slot:
        self.token = self.limiter.acquire(self.pool, self.ceiling, self.check)
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        self.limiter.release(*self._ending(exc))

    async def __aenter__(self) -> Slot:
        self.token = await self.limiter.aacquire(self.pool, self.ceiling, self.check)
        return self

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        await self.limiter._call(self.limiter.release, *self._ending(exc))

    def _ending(self, exc: BaseException | None) -> tuple[str, str, int, bool]:
        token, self.token = self.token, None
        assert token is not None, "a slot is released once, after it was taken"
        return self.pool, token, self.ceiling, rate_limited(exc)


class LocalLimiter(ModelLimiter):
    """Pools in this process: every job of the process (the inline backend) shares them."""

    def __init__(self) -> None:
        super().__init__()
        self._pools: dict[str, _Pool] = {}
        self._held: dict[str, set[str]] = {}
        self._state = threading.Lock()

    def _pool(self, pool: str, ceiling: int) -> _Pool:
        state = self._pools.get(pool)
        if state is None:
            state = self._pools[pool] = _Pool(ceiling=ceiling, limit=float(ceiling))
        elif state.ceiling != ceiling:  # the settings changed: a pool not held down by a
            # 429 takes the new ceiling, one held down stays down (within the new ceiling)
            unthrottled = state.limit >= state.ceiling
            state.ceiling = ceiling
            state.limit = float(ceiling) if unthrottled else min(state.limit, float(ceiling))
        return state

    def _try(self, pool: str, ceiling: int) -> str | None:
        with self._state:
            state = self._pool(pool, ceiling)
            held = self._held.setdefault(pool, set())
            if len(held) >= state.allowed():
                return None
            token = uuid.uuid4().hex
            held.add(token)
            return token

    def _release(self, pool: str, token: str, ceiling: int, throttled: bool) -> None:
        with self._state:
            self._held.get(pool, set()).discard(token)
            state = self._pool(pool, ceiling)
            if throttled:
                if state.decrease(time.monotonic()):
                    log.warning("model pool %s rate limited: at most %d calls at once for "
                                "now", pool, state.allowed())
            else:
                state.increase()

    def limit(self, pool: str) -> float | None:
        with self._state:
            state = self._pools.get(pool)
            return state.limit if state else None

    def in_use(self, pool: str) -> int:
        with self._state:
            return len(self._held.get(pool, ()))


#: KEYS[1] holders (sorted set token -> lease end), KEYS[2] state (hash limit, cut_at);
#: ARGV now, lease end, ceiling, token. Expired leases go first: a crashed holder's slot
#: returns here.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local ceiling = tonumber(ARGV[3])
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit') or ARGV[3])
local was = tonumber(redis.call('HGET', KEYS[2], 'ceiling') or ARGV[3])
if was ~= ceiling then
  -- new settings: a pool not held down by a 429 takes the new ceiling
  if limit >= was or limit > ceiling then limit = ceiling end
  redis.call('HSET', KEYS[2], 'limit', limit, 'ceiling', ceiling)
end
if limit < 1 then limit = 1 end
if redis.call('ZCARD', KEYS[1]) >= math.floor(limit) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil((tonumber(ARGV[2]) - tonumber(ARGV[1])) * 1000) + 60000)
return 1
"""
#: KEYS as above; ARGV token, throttled (1/0), ceiling, now, decrease interval
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
local ceiling = tonumber(ARGV[3])
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit') or ceiling)
if ARGV[2] == '1' then
  local cut = tonumber(redis.call('HGET', KEYS[2], 'cut_at') or '0')
  if tonumber(ARGV[4]) - cut >= tonumber(ARGV[5]) then
    limit = math.max(1, math.floor(math.floor(limit) / 2))
    redis.call('HSET', KEYS[2], 'limit', limit, 'cut_at', ARGV[4])
  end
else
  limit = math.min(ceiling, limit + 1 / math.max(1, limit))
  redis.call('HSET', KEYS[2], 'limit', limit)
end
redis.call('EXPIRE', KEYS[2], 86400)
return tostring(limit)
"""


class RedisLimiter(ModelLimiter):
    """Pools in Redis, shared by every process that uses the same Redis and key root."""

    blocking = True

    def __init__(self, url: str, root: str = "novelcrew",
                 lease_seconds: float = LEASE_SECONDS) -> None:
        super().__init__()
        import redis

        self.root = root
        self.lease_seconds = lease_seconds
        self.redis = redis.Redis.from_url(url)
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._release_script = self.redis.register_script(_RELEASE)
        self._held: dict[str, set[str]] = {}
        self._state = threading.Lock()
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()
        #: while Redis does not answer, this process limits its own calls (a Redis blip must
        #: not fail model calls; the arq backend itself waits for Redis meanwhile)
        self._fallback = LocalLimiter()
        self._redis_errors = redis.RedisError
        #: when the last "Redis did not answer" line was written (one per
        #: ``REDIS_DOWN_LOG_SECONDS``, not one per model call), and calls limited since
        self._down_logged = float("-inf")
        self._down_calls = 0

    def _keys(self, pool: str) -> list[str]:
        return [f"{self.root}:limit:{pool}:holders", f"{self.root}:limit:{pool}:state"]

    def _try(self, pool: str, ceiling: int) -> str | None:
        token = uuid.uuid4().hex
        now = time.time()
        try:
            got = self._acquire(keys=self._keys(pool),
                                args=[now, now + self.lease_seconds, ceiling, token])
        except self._redis_errors as exc:
            self._down_calls += 1
            if time.monotonic() - self._down_logged >= REDIS_DOWN_LOG_SECONDS:
                self._down_logged = time.monotonic()
                log.warning("model limit: Redis did not answer (%s); limiting %s in this "
                            "process meanwhile (%d call(s) so far)", exc, pool,
                            self._down_calls)
            local = self._fallback._try(pool, ceiling)
            return None if local is None else f"local:{local}"
        if not got:
            return None
        with self._state:
            self._held.setdefault(pool, set()).add(token)
        self._ensure_renewer()
        return token

    def _release(self, pool: str, token: str, ceiling: int, throttled: bool) -> None:
        if token.startswith("local:"):
            self._fallback._release(pool, token.removeprefix("local:"), ceiling, throttled)
            return
        with self._state:
            self._held.get(pool, set()).discard(token)
        limit = self._release_script(
            keys=self._keys(pool),
            args=[token, "1" if throttled else "0", ceiling, time.time(), DECREASE_INTERVAL])
        if throttled:
            log.warning("model pool %s rate limited: limit now %s (all workers)", pool,
                        limit.decode() if isinstance(limit, bytes) else limit)

    def limit(self, pool: str) -> float | None:
        value: Any = self.redis.hget(self._keys(pool)[1], "limit")
        return float(value) if value is not None else None

    def in_use(self, pool: str) -> int:
        holders = self._keys(pool)[0]
        self.redis.zremrangebyscore(holders, "-inf", time.time())
        count: Any = self.redis.zcard(holders)
        return int(count)

    # leases ---------------------------------------------------------------------------------
    def _ensure_renewer(self) -> None:
        with self._state:
            if self._renewer is not None and self._renewer.is_alive():
                return
            self._renewer = threading.Thread(target=self._renew, daemon=True,
                                             name="novelcrew-model-leases")
            self._renewer.start()

    def _renew(self) -> None:
        """Every third of a lease, push the lease end of every slot held here forward."""
        while not self._stop.wait(self.lease_seconds / 3):
            with self._state:
                held = {pool: list(tokens) for pool, tokens in self._held.items() if tokens}
            if not held:
                continue
            until = time.time() + self.lease_seconds
            try:
                with self.redis.pipeline(transaction=False) as pipe:
                    for pool, tokens in held.items():
                        # XX: only slots still held (a released one must not come back)
                        pipe.zadd(self._keys(pool)[0], dict.fromkeys(tokens, until), xx=True)
                    pipe.execute()
            except Exception:
                log.warning("could not renew model slot leases", exc_info=True)

    def give_back(self) -> None:
        """Give back every slot this process holds, its calls unfinished: a worker that exits
        without them (other workers need not wait for the leases to end)."""
        with self._state:
            held = {pool: list(tokens) for pool, tokens in self._held.items() if tokens}
            self._held.clear()
        with contextlib.suppress(Exception), self.redis.pipeline(transaction=False) as pipe:
            for pool, tokens in held.items():
                pipe.zrem(self._keys(pool)[0], *tokens)
            pipe.execute()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self.redis.close()


_limiters: dict[tuple[str, ...], ModelLimiter] = {}
_limiters_lock = threading.Lock()


def give_back_slots() -> None:
    """Give back the Redis slots of every limiter of this process (``RedisLimiter.give_back``)."""
    with _limiters_lock:
        limiters = list(_limiters.values())
    for limiter in limiters:
        if isinstance(limiter, RedisLimiter):
            limiter.give_back()


def limiter_for(settings: Settings) -> ModelLimiter:
    """The process's limiter for these settings: Redis pools under the ``arq`` backend (every
    worker shares them), else this process's own."""
    if settings.job_backend == "arq":
        queue = settings.queue_name
        root = (queue.rsplit(":", 1)[0] if ":" in queue else queue) or "novelcrew"
        key: tuple[str, ...] = ("redis", settings.redis_url, root)
    else:
        key = ("local",)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = (RedisLimiter(key[1], key[2]) if key[0] == "redis"
                                        else LocalLimiter())
    return limiter


def model_slot(settings: Settings, model_id: str,
               check: Callable[[], None] | None = None) -> Slot:
    """A slot of ``model_id``'s pool for one call (what ``RoutedLLM`` wraps a call in):
    ``with`` from a thread, ``async with`` from a coroutine."""
    pool, ceiling = settings.model_pool(model_id)
    return limiter_for(settings).slot(pool, ceiling, check)
