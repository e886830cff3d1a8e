"""``novelcrew worker``: an arq worker that runs queued jobs through ``JobRunner``.

The arq ``WorkerSettings`` are built from ``Settings`` (``worker_settings``) and checked against
``ArqWorkerSettings``, a Protocol of the arq ``Worker`` options we set, so a typo fails loudly.

Beyond arq, each worker keeps a heartbeat in Redis (every ``worker_heartbeat_seconds``: host,
pid, running jobs, counters) and with it claims each job it runs. arq alone leaves a job whose
worker was SIGKILLed stuck until its in-progress key expires (the job timeout); here every heartbeat
tick one live worker (a Redis lock) also recovers jobs:
- claimed by a worker whose last heartbeat is older than ``worker_lease_seconds``;
- marked in progress by arq for longer than the lease with no claim (the worker died between
  arq picking the job and claiming it);
- unfinished records arq no longer holds (an enqueue lost to a crash).
Recovery re-queues the record, appends a ``warning`` event and clears arq's in-progress key so
the job runs again at once; a re-run resumes the chain at its first crew without a result. So a
job of a killed worker restarts within lease + heartbeat + poll delay (12.03 s by default). A
job that keeps losing its worker fails (``worker_lost``) after ``job_max_attempts + 2`` tries.

On SIGTERM (or SIGINT) the worker stops taking jobs, gives running ones
``worker_grace_seconds`` to finish, then hands the rest back (status ``queued``, a ``warning``
event) for another worker to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog
from redis.exceptions import RedisError

from novelcrew.backends.arq import enqueue
from novelcrew.backends.keys import (
    ARQ_IN_PROGRESS,
    ARQ_JOB,
    ARQ_RESULT,
    ARQ_RETRY,
    Keys,
)
from novelcrew.backends.redis_store import RedisStore
from novelcrew.jobs import JobErrorInfo, JobStatus, utcnow
from novelcrew.runner import JobRunner

if TYPE_CHECKING:
    from arq.connections import ArqRedis, RedisSettings

    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings

log = structlog.get_logger(__name__)

#: arq's own try counter stays out of the way: the runner bounds attempts, recovery bounds crashes
ARQ_MAX_TRIES = 1000
#: arq's job timeout sits above ours, so our timeout (which fails the job as data) fires first
ARQ_TIMEOUT_SLACK = 60.0
#: how many queue entries and unfinished records one recovery pass looks at
RECOVERY_SCAN = 500
#: extra recoveries allowed beyond ``job_max_attempts`` before a job fails as ``worker_lost``
EXTRA_RECOVERIES = 2

StartupShutdown = Callable[[dict[str, Any]], Awaitable[Any]]


@runtime_checkable
class ArqWorkerSettings(Protocol):
    """The arq ``Worker`` options novelcrew sets (each is a ``Worker.__init__`` parameter)."""

    functions: Sequence[Any]
    queue_name: str
    redis_settings: RedisSettings
    max_jobs: int
    job_timeout: float
    poll_delay: float
    max_tries: int
    keep_result: float
    allow_abort_jobs: bool
    job_completion_wait: int
    health_check_interval: float
    burst: bool
    handle_signals: bool
    on_startup: StartupShutdown
    on_shutdown: StartupShutdown
    ctx: dict[str, Any]


@dataclass
class WorkerSettings:
    """arq ``WorkerSettings`` as an object (``arq.worker.create_worker`` reads ``__dict__``)."""

    functions: Sequence[Any]
    queue_name: str
    redis_settings: RedisSettings
    max_jobs: int
    job_timeout: float
    poll_delay: float
    max_tries: int
    keep_result: float
    allow_abort_jobs: bool
    job_completion_wait: int
    health_check_interval: float
    burst: bool
    handle_signals: bool
    on_startup: StartupShutdown
    on_shutdown: StartupShutdown
    ctx: dict[str, Any] = field(default_factory=dict)


def worker_settings(settings: Settings, plugins: Plugins | None = None, *,
                    concurrency: int | None = None, burst: bool = False,
                    handle_signals: bool = True) -> WorkerSettings:
    """arq settings for a novelcrew worker; ``plugins`` default to the process's plugins."""
    from arq.connections import RedisSettings

    if plugins is None:
        from novelcrew.plugins import get_plugins

        plugins = get_plugins()
    state = WorkerState(settings, plugins, concurrency=concurrency or settings.concurrency)
    ws = WorkerSettings(
        functions=[run_job],
        queue_name=settings.queue_name,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        max_jobs=state.concurrency,
        job_timeout=settings.job_timeout_seconds + ARQ_TIMEOUT_SLACK,
        poll_delay=settings.worker_poll_delay_seconds,
        max_tries=ARQ_MAX_TRIES,
        keep_result=60.0,
        allow_abort_jobs=True,
        job_completion_wait=max(0, round(settings.worker_grace_seconds)),
        health_check_interval=60.0,
        burst=burst,
        handle_signals=handle_signals,
        on_startup=state.startup,
        on_shutdown=state.shutdown,
        ctx={"novelcrew": state},
    )
    check_worker_settings(ws)
    return ws


def check_worker_settings(ws: object) -> ArqWorkerSettings:
    """Refuse settings that do not provide every option of ``ArqWorkerSettings``."""
    if not isinstance(ws, ArqWorkerSettings):
        missing = [n for n in ArqWorkerSettings.__annotations__ if not hasattr(ws, n)]
        raise TypeError(f"worker settings lack {missing}")
    return ws


async def run_job(ctx: dict[str, Any], job_id: str) -> dict[str, Any]:
    """The arq function behind every novelcrew job."""
    state: WorkerState = ctx["novelcrew"]
    return await state.run(job_id)


class WorkerState:
    """One worker process: its runner, running jobs, heartbeat, cancel listener and recovery."""

    def __init__(self, settings: Settings, plugins: Plugins, *, concurrency: int) -> None:
        self.settings = settings
        self.plugins = plugins
        self.concurrency = concurrency
        self.keys = Keys.for_queue(settings.queue_name)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:6]}"
        self.store = RedisStore(settings.redis_url, self.keys)
        self.runner = JobRunner(plugins, settings, self.store)
        self.running: dict[str, threading.Event] = {}
        #: running jobs whose claim a heartbeat has written (a job shorter than one heartbeat
        #: never costs a claim; if its worker dies, arq's stale in-progress key gives it away)
        self.claimed: set[str] = set()
        self.counters = {"jobs_done": 0, "jobs_failed": 0, "jobs_retried": 0,
                         "jobs_handed_back": 0, "jobs_recovered": 0}
        self.started_at = time.time()
        self._pool: ArqRedis | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def lease(self) -> float:
        return self.settings.worker_lease_seconds

    # lifecycle (arq on_startup / on_shutdown) ---------------------------------------------
    async def startup(self, ctx: dict[str, Any]) -> None:
        self._pool = ctx["redis"]
        await self.store.open()
        await self.heartbeat()
        self._tasks = [
            asyncio.create_task(self._heartbeat_loop(), name="novelcrew-heartbeat"),
            asyncio.create_task(self._cancel_listener(), name="novelcrew-cancel-listener"),
        ]
        log.info("worker_started", worker=self.id, queue=self.settings.queue_name,
                 concurrency=self.concurrency)

    async def shutdown(self, ctx: dict[str, Any]) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            async with self.store.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self.keys.workers, self.id)
                pipe.delete(self.keys.worker(self.id))
                await pipe.execute()
        webhooks = sys.modules.get("novelcrew.webhooks")  # only if a job sent any
        if webhooks is not None:
            with contextlib.suppress(Exception):
                await webhooks.drain_webhooks(timeout=5.0)
        await self.store.close()
        log.info("worker_stopped", worker=self.id, **self.counters)

    @property
    def pool(self) -> ArqRedis:
        if self._pool is None:
            raise RuntimeError("the worker has not started")
        return self._pool

    # running one job ----------------------------------------------------------------------
    async def run(self, job_id: str) -> dict[str, Any]:
        from arq.worker import Retry

        cancel = threading.Event()
        self.running[job_id] = cancel  # claimed in Redis by the next heartbeat
        self.store.track(job_id)  # this worker is the job's writer: batch its events
        try:
            async with asyncio.timeout(self.settings.job_timeout_seconds):
                outcome = await self.runner.run(job_id, cancel)
        except TimeoutError:
            await self.finish_failed(job_id, JobErrorInfo(
                type="timeout",
                message=f"the job ran longer than {self.settings.job_timeout_seconds:g}s",
            ))
            self.counters["jobs_failed"] += 1
            return {"status": JobStatus.failed.value}
        except asyncio.CancelledError:
            # shutdown past its grace period (or arq's abort): hand the job back unless it ended
            await asyncio.shield(self.hand_back(job_id, "the worker stopped before it finished"))
            raise
        except LookupError:
            log.warning("job_record_missing", job_id=job_id)
            return {"status": "missing"}
        finally:
            self.running.pop(job_id, None)
            with contextlib.suppress(RedisError, OSError):
                await self.store.untrack(job_id)
            if job_id in self.claimed:
                self.claimed.discard(job_id)
                with contextlib.suppress(RedisError, OSError):
                    await self._unclaim(job_id, self.id)
        job = outcome.job
        if outcome.retry_in is not None and not job.status.terminal:
            self.counters["jobs_retried"] += 1
            raise Retry(defer=outcome.retry_in)
        key = "jobs_done" if job.status is JobStatus.succeeded else "jobs_failed"
        self.counters[key] += 1
        return {"status": job.status.value, "attempts": job.attempts}

    async def _unclaim(self, job_id: str, worker_id: str) -> None:
        """Drop a claim only if ``worker_id`` still holds it (a recovered job has a new one)."""
        await self.store.redis.eval(  # type: ignore[misc]
            "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
            "return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0",
            1, self.keys.claims, job_id, worker_id,
        )

    async def hand_back(self, job_id: str, reason: str) -> None:
        job = await self.store.get(job_id)
        if job is None or job.status is not JobStatus.running:
            return
        job.status = JobStatus.queued
        if await self.store.save_if(job, {JobStatus.running}):
            self.counters["jobs_handed_back"] += 1
            await self.runner.emit(job, "warning", message=f"handed back: {reason}",
                                   data={"handed_back": True, "worker": self.id})

    async def finish_failed(self, job_id: str, error: JobErrorInfo) -> None:
        """End a job as failed from outside the runner (timeout, lost too often)."""
        job = await self.store.get(job_id)
        if job is None or job.status.terminal:
            return
        job.status = JobStatus.failed
        job.error = error
        job.finished_at = utcnow()
        if await self.store.save_if(job, {JobStatus.queued, JobStatus.running}):
            await self.runner.emit(job, "failed", crew=error.crew, message=error.message,
                                   data={"error": error.model_dump()})

    # heartbeat, cancel listener -----------------------------------------------------------
    async def heartbeat(self) -> None:
        now = time.time()
        unclaimed = {job_id: self.id for job_id in self.running if job_id not in self.claimed}
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.workers, {self.id: now})
            if unclaimed:
                pipe.hset(self.keys.claims, mapping=unclaimed)
            pipe.hset(self.keys.worker(self.id), mapping={
                "host": self.host, "pid": self.pid, "started_at": self.started_at,
                "last_seen": now, "concurrency": self.concurrency,
                "running": ",".join(self.running), **self.counters,
            })
            pipe.expire(self.keys.worker(self.id), 3600)
            pipe.zremrangebyscore(self.keys.workers, "-inf", now - 86400)
            await pipe.execute()
        self.claimed.update(j for j in unclaimed if j in self.running)

    async def _heartbeat_loop(self) -> None:
        interval = self.settings.worker_heartbeat_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.heartbeat()
                for job_id in await self.store.cancel_requested(list(self.running)):
                    self.running[job_id].set()  # in case the pub/sub message was missed
                await self.recover()
            except (RedisError, OSError) as exc:
                log.warning("heartbeat_failed", worker=self.id, error=str(exc))
            except Exception:
                log.exception("heartbeat_crashed", worker=self.id)

    async def _cancel_listener(self) -> None:
        while True:
            pubsub = self.store.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.keys.cancel_channel)
                async for message in pubsub.listen():
                    job_id = message["data"].decode()
                    event = self.running.get(job_id)
                    if event is not None:
                        log.info("cancel_requested", job_id=job_id, worker=self.id)
                        event.set()
            except (RedisError, OSError) as exc:
                log.warning("cancel_listener_reconnecting", error=str(exc))
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    # recovery -----------------------------------------------------------------------------
    async def recover(self) -> int:
        """One recovery pass (by one worker at a time); returns how many jobs it re-queued."""
        redis = self.store.redis
        lock_ms = max(1, int(self.settings.worker_heartbeat_seconds * 1000 * 0.9))
        if not await redis.set(self.keys.reaper_lock, self.id, nx=True, px=lock_ms):
            return 0
        now = time.time()
        beats = await redis.zrangebyscore(self.keys.workers, now - self.lease, "+inf")
        live = {b.decode() for b in beats}
        held = await redis.hgetall(self.keys.claims)  # type: ignore[misc]
        claims = {k.decode(): v.decode() for k, v in held.items()}
        found: dict[str, str] = {}
        for job_id, worker_id in claims.items():
            if worker_id not in live:
                found[job_id] = f"worker {worker_id} stopped sending heartbeats"
        found.update(await self._stale_in_progress(claims, now))
        found.update(await self._orphans(claims, live, now))
        recovered = 0
        for job_id, reason in found.items():
            if await self.requeue(job_id, reason, claims.get(job_id)):
                recovered += 1
        return recovered

    async def _stale_in_progress(self, claims: dict[str, str], now: float) -> dict[str, str]:
        """Ready queue entries arq holds in progress, unclaimed, for longer than the lease."""
        ids = await self.pool.zrangebyscore(self.settings.queue_name, "-inf", int(now * 1000),
                                            start=0, num=RECOVERY_SCAN)
        ids = [i.decode() for i in ids if i.decode() not in claims]
        if not ids:
            return {}
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.pttl(ARQ_IN_PROGRESS + job_id)
            ttls = await pipe.execute()
        in_progress_ms = (self.settings.job_timeout_seconds + ARQ_TIMEOUT_SLACK + 10) * 1000
        out = {}
        for job_id, ttl in zip(ids, ttls, strict=True):
            if ttl > 0 and in_progress_ms - ttl > self.lease * 1000 and job_id not in self.running:
                out[job_id] = "arq held it in progress with no live worker claiming it"
        return out

    async def _orphans(self, claims: dict[str, str], live: set[str],
                       now: float) -> dict[str, str]:
        """Unfinished records that arq no longer holds (not queued, running or retrying)."""
        ids = [*await self.store.oldest(JobStatus.running, RECOVERY_SCAN),
               *await self.store.oldest(JobStatus.queued, RECOVERY_SCAN)]
        ids = [i for i in ids if claims.get(i) not in live]
        if not ids:
            return {}
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.exists(ARQ_JOB + job_id)
            held = await pipe.execute()
        candidates = [i for i, h in zip(ids, held, strict=True) if not h]
        out = {}
        for job in await self.store.get_many(candidates):
            if job.status.terminal or now - job.created_at.timestamp() <= self.lease:
                continue  # just submitted: its enqueue may still be on its way
            out[job.id] = "the queue had lost it"
        return out

    async def requeue(self, job_id: str, reason: str, worker_id: str | None = None) -> bool:
        """Put a job whose worker is gone back in the queue (once, whoever else tries too)."""
        redis = self.store.redis
        if not await redis.set(self.keys.recover_lock(job_id), self.id, nx=True,
                               px=max(1000, int(self.lease * 1000))):
            return False
        if worker_id is not None:
            await self._unclaim(job_id, worker_id)
        job = await self.store.get(job_id)
        if job is None or job.status.terminal:
            await self.pool.delete(ARQ_IN_PROGRESS + job_id)
            return False
        recoveries = int(await redis.hincrby(  # type: ignore[misc]
            self.keys.job(job_id), "recoveries", 1))
        if recoveries > self.settings.job_max_attempts + EXTRA_RECOVERIES:
            await self.finish_failed(job_id, JobErrorInfo(
                type="worker_lost", message=f"the job lost its worker {recoveries} times",
                crew=job.progress.current_crew, details={"last_reason": reason},
            ))
            await self._clear_arq(job_id)
            return False
        if job.status is JobStatus.running:
            job.status = JobStatus.queued
            await self.store.save_if(job, {JobStatus.running})
        await self.runner.emit(job, "warning", message=f"re-queued: {reason}",
                               data={"recovered": True, "worker": worker_id,
                                     "recovered_by": self.id, "recoveries": recoveries})
        if await self.pool.exists(ARQ_JOB + job_id):
            async with self.pool.pipeline(transaction=True) as pipe:
                pipe.delete(ARQ_IN_PROGRESS + job_id, ARQ_RESULT + job_id)
                pipe.zadd(self.settings.queue_name, {job_id: int(time.time() * 1000)})
                await pipe.execute()
        else:
            await self._clear_arq(job_id)
            await enqueue(self.pool, self.settings.queue_name, job_id)
        self.counters["jobs_recovered"] += 1
        log.warning("job_recovered", job_id=job_id, reason=reason, worker=self.id)
        return True

    async def _clear_arq(self, job_id: str) -> None:
        async with self.pool.pipeline(transaction=True) as pipe:
            pipe.delete(ARQ_IN_PROGRESS + job_id, ARQ_RESULT + job_id, ARQ_RETRY + job_id,
                        ARQ_JOB + job_id)
            pipe.zrem(self.settings.queue_name, job_id)
            await pipe.execute()


async def local_worker_alive(settings: Settings) -> bool:
    """Whether a worker on this host has a heartbeat younger than the lease."""
    from novelcrew.backends.redis_store import connect

    keys = Keys.for_queue(settings.queue_name)
    client = connect(settings.redis_url)
    try:
        beats = await client.zrangebyscore(
            keys.workers, time.time() - settings.worker_lease_seconds, "+inf"
        )
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()
    host = socket.gethostname()
    return any(b.decode().split(":", 1)[0] == host for b in beats)


def run_worker(settings: Settings, *, concurrency: int | None = None,
               burst: bool = False) -> None:
    """Run a worker in this process until SIGTERM/SIGINT (or, with ``burst``, an empty queue)."""
    from arq.worker import create_worker

    ws = worker_settings(settings, concurrency=concurrency, burst=burst)
    worker = create_worker(ws)  # type: ignore[arg-type]
    worker.run()

