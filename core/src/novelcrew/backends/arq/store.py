"""A ``JobStore`` in Redis, so every API instance and worker sees every job.

Layout (key names in ``keys.py``): one hash per job holding the record JSON beside the
fields that index and guard it; one Redis Stream per job for its event log, entry id ``0-<seq>``;
sorted sets by ``created_at`` per status, per project and per project and status for listing,
filtering, paging and counting, and the same again per tenant for a job that has one.

Two Lua scripts keep the rules every store shares atomic across processes:
- ``save``: ``events_count`` and ``cancel_requested`` belong to the store (a stale copy can
  neither rewind the count nor undo a cancellation), and a terminal record is final, so a job
  that a recovered worker finishes a second time keeps its first ending.
- ``append``: ``seq`` comes from ``HINCRBY`` in the same script as ``XADD``, so it has no gaps
  however many processes append; after the terminal event the log is closed (a second terminal
  event, or anything later, returns the terminal event instead of appending).

``wait_events`` blocks in ``XREAD BLOCK``, so a waiting SSE stream costs no polling.

Writes for a job this process runs are fenced by its lease: ``track(job_id, owner)`` names
the worker, and the script refuses (writes nothing of) a batch whose job's ``worker`` field
names someone else. A worker that stalled past its lease (SIGSTOP, a frozen VM) and wakes up
after another worker took the job over cannot write the job's record or log a second time:
its write raises ``LeaseLost`` and every later one for that job does too.

Writes are batched per job to spend fewer round trips: a ``save`` waits up to ``HOLD_SECONDS``
for the job's next event and goes with it in one script call. While a worker runs a job
(``track(job_id)``), it is the job's only writer, so its non-terminal events are held the same
way with the next ``seq`` assigned locally, and the batch (record, events) is written by one
script call when the terminal event comes or ``HOLD_SECONDS`` pass (a ``crew_finished``, whose
result must not wait, as soon as the runner yields). The script assigns the
real ``seq``s; they match the local ones unless another process appended meanwhile (a log
line says so: only ``job_event`` observers could have seen a different number). Every read,
``save_if`` and ``close`` first writes what is held, so a process reads its own writes; other
processes see a write at most ``HOLD_SECONDS`` later. Writes of one job go out in order.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from novelcrew.backends.arq.keys import Keys
from novelcrew.backends.arq.replies import RedisReplies
from novelcrew.backends.base import IdempotencyClaim, JobStore
from novelcrew.errors import JobError
from novelcrew.jobs import TERMINAL, TERMINAL_EVENTS, Job, JobEvent, JobStatus

log = structlog.get_logger(__name__)

_TERMINAL_LUA = "{" + ", ".join(f"['{s.value}']=true" for s in TERMINAL) + "}"

#: Save a record (ARGV[1..10], when ARGV[1] ~= ''), then append events to KEYS, unless
#: ARGV[11] names a lease owner that is not the job's ``worker``. A job with a tenant
#: (ARGV[10]) is indexed under the tenant's root too. Returns
#: {saved (1, 0 refused, -1 exists, -2 fenced), appended, first seq, terminal seq}.
WRITE_LUA = f"""
local terminal = {_TERMINAL_LUA}
local saved = 1
if ARGV[11] ~= '' and redis.call('HGET', KEYS[1], 'worker') ~= ARGV[11] then
  return {{-2, 0, 0, 0}}
end
if ARGV[1] ~= '' then
  local root, id, record, status, project, score, cancel, mode, expect, tenant =
    ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
  local h = root .. ':job:' .. id
  local cur = redis.call('HGET', h, 'status')
  if mode == 'create' and cur then
    saved = -1
  elseif cur and expect ~= ''
      and not string.find(',' .. expect .. ',', ',' .. cur .. ',', 1, true) then
    saved = 0
  elseif cur and terminal[cur] then
    saved = 0
  else
    redis.call('HSET', h, 'record', record, 'status', status, 'project_id', project,
               'created_at', score)
    redis.call('HSETNX', h, 'events_count', 0)
    if cancel == '1' then redis.call('HSET', h, 'cancel_requested', 1) end
    local bases = {{root .. ':jobs'}}
    if tenant ~= '' then bases[2] = root .. ':tenant:' .. tenant .. ':jobs' end
    for _, base in ipairs(bases) do
      redis.call('ZADD', base, score, id)
      if project ~= '' then redis.call('ZADD', base .. ':project:' .. project, score, id) end
      if cur ~= status then
        if cur then
          redis.call('ZREM', base .. ':status:' .. cur, id)
          if project ~= '' then
            redis.call('ZREM', base .. ':project-status:' .. cur .. ':' .. project, id)
          end
        end
        redis.call('ZADD', base .. ':status:' .. status, score, id)
        if project ~= '' then
          redis.call('ZADD', base .. ':project-status:' .. status .. ':' .. project, score, id)
        end
      end
    end
  end
end
if saved == -1 then return {{saved, 0, 0, 0}} end
-- events: ARGV[12] = how many, then (kind, body) pairs; the log closes after a terminal one
local h, stream = KEYS[1], KEYS[2]
local n = tonumber(ARGV[12])
local appended, first = 0, 0
for i = 1, n do
  if redis.call('HEXISTS', h, 'terminal_seq') == 1 then break end
  local seq = redis.call('HINCRBY', h, 'events_count', 1)
  redis.call('XADD', stream, '0-' .. seq, 'e', ARGV[12 + 2 * i])
  if ARGV[11 + 2 * i] == 'terminal' then redis.call('HSET', h, 'terminal_seq', seq) end
  if appended == 0 then first = seq end
  appended = appended + 1
end
local closed = redis.call('HGET', h, 'terminal_seq')
return {{saved, appended, first, tonumber(closed or '0')}}
"""

#: set a claim's expiry (ARGV[2] ms), or delete it when ARGV[2] <= 0, if job ARGV[1] holds it
KEEP_CLAIM_LUA = """
local held = redis.call('GET', KEYS[1])
if not held or string.sub(held, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then return 0 end
if tonumber(ARGV[2]) <= 0 then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

#: how long a save (or a tracked job's event) may wait to travel with the job's next write
HOLD_SECONDS = 0.02
#: while Redis is away the held writes are retried every ``HOLD_SECONDS``: one
#: ``redis_store_flush_failed`` line at the first failure, then one per this many seconds
FLUSH_FAILURE_LOG_SECONDS = 10.0
#: events of a tracked job sent as soon as the runner yields rather than after
#: ``HOLD_SECONDS``: a finished crew's result (saved just before) must reach Redis at once, so
#: a crash right after a crew ends does not run it again
SENT_AT_ONCE = frozenset({"crew_finished"})
_NO_SAVE = [""] * 10
_TERMINAL_VALUES = frozenset(s.value for s in TERMINAL)


class LeaseLost(JobError):
    """This worker no longer holds the job (another took it over): nothing it writes for the
    job is stored."""

    error_type = "lease_lost"


@dataclass
class _Held:
    """A job's writes not yet sent: its latest record and events numbered locally."""

    save: list[str] | None = None
    events: list[tuple[str, str]] = field(default_factory=list)
    first_seq: int = 0


def connect(url: str) -> aioredis.Redis:
    """A client for ``url`` (no read timeout: ``XREAD BLOCK`` waits on purpose)."""
    return aioredis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


class RedisStore(JobStore):
    """Job records and event logs in Redis at ``url`` under ``keys.root``."""

    unavailable = (RedisError,)

    def __init__(self, url: str, keys: Keys | None = None,
                 client: aioredis.Redis | None = None) -> None:
        self.url = url
        self.keys = keys or Keys()
        self._client = client
        self._own_client = client is None
        self._held: dict[str, _Held] = {}
        #: jobs this process runs (it is their only writer): job id -> last seq handed out
        self._runs: dict[str, int] = {}
        #: the lease owner each tracked job's writes are fenced by
        self._owners: dict[str, str] = {}
        #: tracked jobs whose lease another worker holds now: their writes are refused
        self._fenced: set[str] = set()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._flush_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._replies: RedisReplies | None = None
        #: failed flushes since the last one that went through, and when the first failed
        self._flush_failures = 0
        self._flush_failing_since = 0.0
        self._flush_failure_logged = 0.0

    # connection ---------------------------------------------------------------------------
    async def open(self) -> None:
        if self._client is None:
            self._client = connect(self.url)
        self._script = self._client.register_script(WRITE_LUA)
        self._keep_claim = self._client.register_script(KEEP_CLAIM_LUA)
        await self._client.ping()

    def reply_store(self) -> RedisReplies:
        """Model answers under this store's key root (``replies.py``)."""
        if self._replies is None:
            self._replies = RedisReplies(self.url, self.keys)
        return self._replies

    async def close(self) -> None:
        replies, self._replies = self._replies, None
        if replies is not None:
            replies.close()
        if self._client is not None:
            await self.flush(keep_endings=False)
        client, self._client = self._client, None
        if client is not None and self._own_client:
            await client.aclose()

    @property
    def redis(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError("RedisStore is not open; call open() first")
        return self._client

    # records ------------------------------------------------------------------------------
    def _save_args(self, job: Job, mode: str, expect: str = "") -> list[str]:
        return [
            self.keys.root, job.id, job.model_dump_json(), job.status.value,
            job.project_id or "", repr(job.created_at.timestamp()),
            "1" if job.cancel_requested else "0", mode, expect, job.tenant or "",
        ]

    def _lock(self, job_id: str) -> asyncio.Lock:
        lock = self._locks.get(job_id)
        if lock is None:
            lock = self._locks[job_id] = asyncio.Lock()
        return lock

    async def _call(self, job_id: str, save: list[str],
                    events: list[tuple[str, str]]) -> tuple[int, int, int, int]:
        """One script call; ``LeaseLost`` if the job's lease owner is not this writer."""
        self._check_fence(job_id)
        args: list[str | int] = [*save, self._owners.get(job_id, ""), len(events)]
        for kind, body in events:
            args += [kind, body]
        out = await self._script(keys=[self.keys.job(job_id), self.keys.events(job_id)],
                                 args=args)
        saved, appended, first, closed = (int(v) for v in out)
        if saved == -2:
            self._fenced.add(job_id)
            self._held.pop(job_id, None)
            log.warning("write_fenced", job_id=job_id, owner=self._owners.get(job_id))
            raise LeaseLost(f"job {job_id} is held by another worker", {"job_id": job_id})
        return saved, appended, first, closed

    async def _send(self, job_id: str, held: _Held,
                    extra: Sequence[tuple[str, str]] = ()) -> tuple[int, int, int, int]:
        """Write ``held`` (plus ``extra`` events) for ``job_id``; on failure keep it held."""
        try:
            result = await self._call(job_id, held.save or _NO_SAVE, [*held.events, *extra])
        except LeaseLost:
            raise  # what was held is dropped: it belongs to a run that lost the job
        except BaseException:
            later = self._held.get(job_id)
            if later is None:
                self._held[job_id] = held
            else:  # written after: keep the order, and the newest record
                later.events[:0] = held.events
                later.first_seq = held.first_seq if held.events else later.first_seq
                later.save = later.save or held.save
            raise
        _, appended, first, _ = result
        if held.events and appended and first != held.first_seq:
            log.warning("event_seq_moved", job_id=job_id, expected=held.first_seq, got=first)
        if job_id in self._runs and appended:
            self._runs[job_id] = max(self._runs[job_id], first + appended - 1)
        return result

    async def _flush_job(self, job_id: str, *, keep_ending: bool = False) -> None:
        """Write what is held for ``job_id``. With ``keep_ending`` (a flush the runner did not
        ask for), a running job's final record stays held: the runner sends its terminal event
        right after, and the two go in one script call. Sent alone, a crash or an outage
        between the two would leave a job ``succeeded`` with no terminal event in its log."""
        async with self._lock(job_id):
            held = self._held.pop(job_id, None)
            if held is None:
                return
            if (keep_ending and job_id in self._runs and held.save is not None
                    and held.save[3] in _TERMINAL_VALUES):
                self._held[job_id] = _Held(save=held.save)
                held.save = None
                if not held.events:
                    return
            await self._send(job_id, held)

    async def flush(self, *, keep_endings: bool = True) -> None:
        """Write everything held now (but a running job's final record: see ``_flush_job``)."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        for job_id in list(self._held):
            with contextlib.suppress(LeaseLost):  # dropped: the job's new holder writes it
                await self._flush_job(job_id, keep_ending=keep_endings)

    def _flush_soon(self) -> None:
        if self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(
                HOLD_SECONDS, lambda: loop.create_task(self._timed_flush())
            )

    def _flush_now(self, job_id: str) -> None:
        """Write ``job_id``'s held writes as soon as the current task yields (unless a write
        that the task does before then takes them along)."""
        task = asyncio.get_running_loop().create_task(self._flush_job_logged(job_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_job_logged(self, job_id: str) -> None:
        try:
            await self._flush_job(job_id, keep_ending=True)
        except Exception as exc:  # kept held; the next write or read tries again
            self._flush_failed(exc, job_id)
            self._flush_soon()
        else:
            self._flush_went_through()

    async def _timed_flush(self) -> None:
        self._flush_timer = None
        try:
            await self.flush()
        except Exception as exc:  # kept held; the next write or read tries again
            self._flush_failed(exc)
            if self._held:
                self._flush_soon()
        else:
            self._flush_went_through()

    def _flush_failed(self, exc: Exception, job_id: str | None = None) -> None:
        """Log a failed flush at the first failure and then every
        ``FLUSH_FAILURE_LOG_SECONDS``, with how many failed: retried every 20 ms, a Redis
        outage of a few seconds wrote a hundred identical lines."""
        now = time.monotonic()
        if not self._flush_failures:
            self._flush_failing_since = now
        self._flush_failures += 1
        if self._flush_failures == 1 or now - self._flush_failure_logged >= \
                FLUSH_FAILURE_LOG_SECONDS:
            self._flush_failure_logged = now
            fields: dict[str, Any] = {"job_id": job_id} if job_id else {}
            log.warning("redis_store_flush_failed", error=f"{type(exc).__name__}: {exc}",
                        failures=self._flush_failures, held_jobs=len(self._held),
                        seconds=round(now - self._flush_failing_since, 1), **fields)

    def _flush_went_through(self) -> None:
        if self._flush_failures:
            log.info("redis_store_flush_recovered", failures=self._flush_failures,
                     seconds=round(time.monotonic() - self._flush_failing_since, 1))
            self._flush_failures = 0

    def track(self, job_id: str, owner: str | None = None) -> None:
        """This process now runs ``job_id`` (its only writer): hold its events too; with
        ``owner``, every write for the job is fenced by that lease owner."""
        self._runs.setdefault(job_id, -1)
        if owner:
            self._owners[job_id] = owner

    async def untrack(self, job_id: str) -> None:
        """The run ended: write what is held for it and stop holding its events."""
        try:
            await self._flush_job(job_id)
        finally:
            self._runs.pop(job_id, None)
            self._owners.pop(job_id, None)
            self._fenced.discard(job_id)

    async def create(self, job: Job) -> None:
        await self.flush()
        if (await self._call(job.id, self._save_args(job, "create"), []))[0] == -1:
            raise ValueError(f"job {job.id} already exists")

    async def save_with_event(self, job: Job, type: str, *, crew: str | None = None,
                              message: str = "", data: dict[str, Any] | None = None,
                              create: bool = False) -> JobEvent:
        """The record and its event in one script call (so atomically); a job this process
        runs goes through ``save`` and ``append_event``, which hold its writes."""
        if job.id in self._runs and not create:
            return await super().save_with_event(job, type, crew=crew, message=message,
                                                 data=data)
        await self.flush()
        event = JobEvent(seq=0, job_id=job.id, type=type, crew=crew, message=message,
                         data=data or {})
        kind = "terminal" if type in TERMINAL_EVENTS else "event"
        saved, appended, seq, closed = await self._call(
            job.id, self._save_args(job, "create" if create else "save"),
            [(kind, event.model_dump_json(exclude={"seq", "job_id"}))])
        if saved == -1:
            raise ValueError(f"job {job.id} already exists")
        if appended:
            event.seq = seq
            return event
        return (await self.events(job.id, after=closed - 1, limit=1))[0]

    def forget(self, job_id: str) -> None:
        """This process lost ``job_id`` to another worker: drop what it holds unwritten."""
        self._held.pop(job_id, None)
        self._runs.pop(job_id, None)
        self._owners.pop(job_id, None)
        self._fenced.discard(job_id)

    def _check_fence(self, job_id: str) -> None:
        if job_id in self._fenced:
            raise LeaseLost(f"job {job_id} is held by another worker", {"job_id": job_id})

    async def save(self, job: Job) -> None:
        self._check_fence(job.id)
        args = self._save_args(job, "save")
        held = self._held.get(job.id)
        if held is not None and held.save is not None:
            if held.save[3] in _TERMINAL_VALUES:  # an ending is final: it goes first
                await self._flush_job(job.id)
            elif held.save[6] == "1":
                args[6] = "1"  # a later save from a stale copy must not undo a cancellation
        self._held.setdefault(job.id, _Held()).save = args
        self._flush_soon()

    async def save_if(self, job: Job, expect: set[JobStatus]) -> bool:
        """Save only if the stored status is one of ``expect`` (a check-and-set transition)."""
        await self.flush()
        args = self._save_args(job, "save", ",".join(s.value for s in expect))
        return (await self._call(job.id, args, []))[0] == 1

    # idempotency keys ---------------------------------------------------------------------
    async def claim_idempotency_key(self, key: str, claim: IdempotencyClaim,
                                    ttl: float) -> IdempotencyClaim | None:
        """``SET NX PX``: atomic across every API instance; Redis drops an expired claim."""
        name = self.keys.idempotency(key)
        value = f"{claim.job_id}:{claim.fingerprint}"
        for _ in range(3):  # the holder may expire between SET and GET: claim again
            if await self.redis.set(name, value, nx=True, px=max(1, round(ttl * 1000))):
                return None
            held = await self.redis.get(name)
            if held is not None:
                job_id, _, fingerprint = held.decode().partition(":")
                return IdempotencyClaim(fingerprint=fingerprint, job_id=job_id)
        raise RedisError(f"idempotency key {name} changed hands three times in a row")

    async def keep_idempotency_key(self, key: str, job_id: str, ttl: float) -> None:
        await self._keep_claim(keys=[self.keys.idempotency(key)],
                               args=[job_id, max(1, round(ttl * 1000)) if ttl > 0 else 0])

    async def mark_cancel_requested(self, job_id: str) -> bool:
        """Set ``cancel_requested`` alone (no record rewrite that could race a worker's save);
        False if the job is unknown or has ended."""
        await self.flush()
        return bool(await self.redis.eval(  # type: ignore[misc]
            "local s = redis.call('HGET', KEYS[1], 'status') "
            "if (not s) or s == 'succeeded' or s == 'failed' or s == 'cancelled' then return 0 end "
            "redis.call('HSET', KEYS[1], 'cancel_requested', 1) return 1",
            1, self.keys.job(job_id),
        ))

    @staticmethod
    def _decode(fields: list[Any]) -> Job | None:
        record, events_count, cancel = fields
        if record is None:
            return None
        job = Job.model_validate_json(record)
        job.events_count = int(events_count or 0)
        job.cancel_requested = job.cancel_requested or cancel in (b"1", "1")
        return job

    async def get(self, job_id: str) -> Job | None:
        if self._held:
            await self.flush()
        fields = await self.redis.hmget(  # type: ignore[misc]
            self.keys.job(job_id), ["record", "events_count", "cancel_requested"]
        )
        job = self._decode(fields)
        if job is not None and job_id in self._runs:
            self._runs[job_id] = max(self._runs[job_id], job.events_count)
        return job

    async def get_many(self, job_ids: list[str]) -> list[Job]:
        if self._held:
            await self.flush()
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(self.keys.job(job_id), ["record", "events_count", "cancel_requested"])
            rows = await pipe.execute()
        return [job for job in map(self._decode, rows) if job is not None]

    def _index(self, project_id: str | None, status: JobStatus | None,
               tenant: str | None = None) -> str:
        if project_id is not None and status is not None:
            return self.keys.by_project_status(project_id, status.value, tenant)
        if project_id is not None:
            return self.keys.by_project(project_id, tenant)
        if status is not None:
            return self.keys.by_status(status.value, tenant)
        return self.keys.jobs(tenant)

    async def list(self, *, project_id: str | None = None, status: JobStatus | None = None,
                   limit: int = 50, offset: int = 0,
                   tenant: str | None = None) -> tuple[builtins.list[Job], int]:
        if self._held:
            await self.flush()
        key = self._index(project_id, status, tenant)
        if limit <= 0:
            return [], int(await self.redis.zcard(key))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(key)
            pipe.zrevrange(key, offset, offset + limit - 1)
            total, ids = await pipe.execute()
        return await self.get_many([i.decode() for i in ids]), int(total)

    async def counts(self) -> dict[str, int]:
        if self._held:
            await self.flush()
        async with self.redis.pipeline(transaction=False) as pipe:
            for status in JobStatus:
                pipe.zcard(self.keys.by_status(status.value))
            values = await pipe.execute()
        return {s.value: int(v) for s, v in zip(JobStatus, values, strict=True)}

    # events -------------------------------------------------------------------------------
    async def append_event(self, job_id: str, type: str, *, crew: str | None = None,
                           message: str = "", data: dict[str, Any] | None = None) -> JobEvent:
        event = JobEvent(seq=0, job_id=job_id, type=type, crew=crew, message=message,
                         data=data or {})
        body = event.model_dump_json(exclude={"seq", "job_id"})
        terminal = type in TERMINAL_EVENTS
        self._check_fence(job_id)
        last = self._runs.get(job_id, -1)
        if not terminal and last >= 0:  # a tracked job: hold the event, numbered locally
            event.seq = last + 1
            self._runs[job_id] = event.seq
            held = self._held.setdefault(job_id, _Held())
            if not held.events:
                held.first_seq = event.seq
            held.events.append(("event", body))
            if type in SENT_AT_ONCE:
                self._flush_now(job_id)
            else:
                self._flush_soon()
            return event
        async with self._lock(job_id):
            held = self._held.pop(job_id, _Held())
            _, appended, first, closed = await self._send(
                job_id, held, [("terminal" if terminal else "event", body)]
            )
        if appended == len(held.events) + 1:
            event.seq = first + appended - 1
            return event
        ended = await self.events(job_id, after=closed - 1, limit=1)
        return ended[0]

    @staticmethod
    def _event(job_id: str, entry: tuple[bytes, dict[bytes, bytes]]) -> JobEvent:
        entry_id, fields = entry
        data = json.loads(fields[b"e"])
        return JobEvent(seq=int(entry_id.split(b"-")[1]), job_id=job_id, **data)

    async def events(self, job_id: str, after: int = 0,
                     limit: int = 1000) -> builtins.list[JobEvent]:
        if self._held:
            await self.flush()
        entries = await self.redis.xrange(
            self.keys.events(job_id), min=f"(0-{after}", max="+", count=limit
        )
        return [self._event(job_id, e) for e in entries]

    async def wait_events(self, job_id: str, after: int,
                          timeout: float) -> builtins.list[JobEvent]:
        found = await self.events(job_id, after)
        if found or timeout <= 0:
            return found
        ready = await self.redis.xread(
            {self.keys.events(job_id): f"0-{after}"}, block=max(1, int(timeout * 1000))
        )
        if not ready:
            return []
        return await self.events(job_id, after)
