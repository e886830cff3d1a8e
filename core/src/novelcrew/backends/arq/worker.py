"""``novelcrew worker``: an arq ``Worker`` that runs queued jobs through ``JobRunner``.

The arq ``WorkerSettings`` are built from ``Settings`` (``worker_settings``): a dataclass whose
fields are arq ``Worker`` options (a test checks each against ``Worker``'s signature).

arq itself starts each job once (its in-progress marker), retries it on ``Retry`` (a transient
failure) and runs it again when it was cancelled by a shutdown, and ``abort_job`` cancels it.
What arq leaves to us is a worker that dies: its job's in-progress marker lasts the job
timeout (an hour) before arq runs the job again. So the marker is made a lease:
- when a worker starts a job it takes the job (``worker`` field of the record's hash) and cuts
  the marker's expiry to ``worker_lease_seconds``; every ``worker_heartbeat_seconds`` it renews
  the expiry of the markers of the jobs it still holds. A SIGKILLed worker's markers expire
  within the lease and arq gives the job to another worker, which resumes it at its first crew
  without a result (a warning event says so). A job that keeps losing its worker fails
  (``worker_lost``) after ``job_max_attempts + 2`` takeovers.
- a worker that finds it no longer holds a job (it stalled past its lease and another worker
  took the job over: its next renewal says so, or the store refuses its next write, which is
  fenced by the lease owner) stops running it, writes nothing more for it and waits for it to end
  before telling arq, so that arq's end-of-job cleanup cannot clear the new holder's marker:
  no job runs on two workers at once past one heartbeat.
- the reaper (one worker per heartbeat) cuts to the lease any in-progress marker still at its
  full length: a worker that died between arq starting a job and taking it.

crewAI is imported in a thread before the worker takes its first job, so its seconds of
import never stall the event loop that renews the leases. A lost Redis connection never ends
the process: the worker reconnects with backoff (``serve``), and jobs whose lease lapsed
meanwhile go to whichever worker takes them first. On SIGTERM (or SIGINT) the worker stops
taking jobs, gives running ones ``worker_grace_seconds`` to finish, then hands the rest back
(status ``queued``, a ``warning`` event) and arq runs them again elsewhere; the process then
ends without waiting for a stopped crew's model call (``run_worker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from redis.exceptions import RedisError

from novelcrew.backends.arq.keys import ARQ_IN_PROGRESS, WORKER_COUNTERS, Keys
from novelcrew.backends.arq.store import LeaseLost, RedisStore, connect
from novelcrew.backends.base import warm_up_crewai
from novelcrew.jobs import JobErrorInfo, JobStatus, utcnow
from novelcrew.runner import JobRunner

if TYPE_CHECKING:
    from arq.connections import ArqRedis, RedisSettings

    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings

log = structlog.get_logger(__name__)

#: arq's own try counter stays out of the way: the runner bounds attempts, takeovers bound crashes
ARQ_MAX_TRIES = 1000
#: arq's job timeout sits above ours, so our timeout (which fails the job as data) fires first
ARQ_TIMEOUT_SLACK = 60.0
#: takeovers allowed beyond ``job_max_attempts`` before a job fails as ``worker_lost``
EXTRA_RECOVERIES = 2
#: arq tries a job whose record is not there yet gets (submit enqueues, then stores the record)
MISSING_RECORD_TRIES = 5
#: how many queue entries one reaper pass looks at
REAPER_SCAN = 500
#: how long a stopped worker waits for the crewAI threads of the crews it stopped
STRAGGLER_SECONDS = 0.5
#: backoff between reconnections to Redis (seconds, doubling)
RECONNECT_MIN, RECONNECT_MAX = 0.5, 30.0

#: take a job: KEYS job hash, arq in-progress key; ARGV worker id, lease ms -> previous holder
TAKE_LUA = """
local previous = redis.call('HGET', KEYS[1], 'worker') or ''
redis.call('HSET', KEYS[1], 'worker', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return previous
"""
#: renew a lease: -1 if another worker holds the job now, else its ``cancel_requested`` flag
RENEW_LUA = """
if redis.call('HGET', KEYS[1], 'worker') ~= ARGV[1] then return -1 end
if redis.call('PEXPIRE', KEYS[2], ARGV[2]) == 0 then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
end
return tonumber(redis.call('HGET', KEYS[1], 'cancel_requested') or '0')
"""

StartupShutdown = Callable[[dict[str, Any]], Awaitable[Any]]


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
                    burst: bool = False, state: WorkerState | None = None) -> WorkerSettings:
    """arq settings for a novelcrew worker; ``plugins`` default to the process's plugins."""
    from arq.connections import RedisSettings

    if state is None:
        if plugins is None:
            from novelcrew.plugins import get_plugins

            plugins = get_plugins()
        state = WorkerState(settings, plugins, concurrency=settings.concurrency)
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
        handle_signals=True,
        on_startup=state.startup,
        on_shutdown=state.shutdown,
        ctx={"novelcrew": state},
    )
    return ws


async def run_job(ctx: dict[str, Any], job_id: str) -> dict[str, Any]:
    """The arq function behind every novelcrew job."""
    state: WorkerState = ctx["novelcrew"]
    return await state.run(job_id, int(ctx.get("job_try") or 1))


@dataclass
class _Run:
    """A job this worker runs: the event that stops its crew, and whether it lost its lease."""

    cancel: threading.Event
    task: asyncio.Task[Any]
    lost: bool = False


class WorkerState:
    """One worker process: its runner, running jobs, heartbeat, leases and reaper."""

    def __init__(self, settings: Settings, plugins: Plugins, *, concurrency: int,
                 on_ready: Callable[[], None] | None = None) -> None:
        self.settings = settings
        #: called once, when crewAI is imported and before the first job (the command's hook)
        self.on_ready = on_ready
        self.plugins = plugins
        self.concurrency = concurrency
        self.keys = Keys.for_queue(settings.queue_name)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:6]}"
        self.store = RedisStore(settings.redis_url, self.keys)
        self.runner = JobRunner(plugins, settings, self.store)
        self.running: dict[str, _Run] = {}
        self.counters = dict.fromkeys(WORKER_COUNTERS, 0)
        self.started_at = time.time()
        self._pool: ArqRedis | None = None
        self._take: Any = None  # the Lua scripts, registered on the store's client
        self._renew: Any = None
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def lease_ms(self) -> int:
        return max(1, int(self.settings.worker_lease_seconds * 1000))

    # lifecycle ----------------------------------------------------------------------------
    async def startup(self, ctx: dict[str, Any]) -> None:
        """arq's ``on_startup``, at every (re)connection: the first one opens the store,
        imports crewAI and starts the heartbeat."""
        self._pool = ctx["redis"]
        if self._loop_task is not None:
            return
        await self.store.open()
        self._take = self.store.redis.register_script(TAKE_LUA)
        self._renew = self.store.redis.register_script(RENEW_LUA)
        await warm_up_crewai(self.plugins, self.settings.resolved_data_dir)
        if self.on_ready is not None:
            self.on_ready()
        await self.heartbeat()
        self._loop_task = asyncio.create_task(self._heartbeat_loop(), name="novelcrew-heartbeat")
        log.info("worker_started", worker=self.id, queue=self.settings.queue_name,
                 concurrency=self.concurrency)

    async def shutdown(self, ctx: dict[str, Any]) -> None:
        """arq's ``on_shutdown``: arq closes its pool; ``close`` ends the rest."""
        self._pool = None

    async def close(self) -> None:
        task, self._loop_task = self._loop_task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            async with self.store.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self.keys.workers, self.id)
                pipe.delete(self.keys.worker(self.id))
                await pipe.execute()
        webhooks = sys.modules.get("novelcrew.webhooks")  # only if a job sent any
        if webhooks is not None:
            with contextlib.suppress(Exception):
                await webhooks.drain_webhooks(timeout=5.0)
        with contextlib.suppress(RedisError, OSError):
            await self.store.close()
        log.info("worker_stopped", worker=self.id, **self.counters)

    # running one job ----------------------------------------------------------------------
    async def run(self, job_id: str, job_try: int = 1) -> dict[str, Any]:
        from arq.worker import Retry

        try:
            job = await self.store.get(job_id)
            if job is None:  # submit enqueues first, then stores the record
                if job_try < MISSING_RECORD_TRIES:
                    raise Retry(defer=0.2 * job_try)
                log.warning("job_record_missing", job_id=job_id)
                return {"status": "missing"}
            previous = (await self._take(keys=[self.keys.job(job_id), ARQ_IN_PROGRESS + job_id],
                                         args=[self.id, self.lease_ms])).decode()
            if job.status is JobStatus.running and not await self._took_over(job_id, previous):
                return {"status": JobStatus.failed.value}
        except (RedisError, OSError) as exc:
            # Redis did not answer before the run began (a worker starved by crewAI's import
            # can time out connecting): arq keeps the job for a worker to take again, where
            # letting the error through would end arq's job and leave the record queued
            log.warning("job_deferred", job_id=job_id, error=f"{type(exc).__name__}: {exc}")
            raise Retry(defer=1.0) from exc
        cancel = threading.Event()
        run = _Run(cancel, asyncio.create_task(self.runner.run(job_id, cancel)))
        self.running[job_id] = run
        self.store.track(job_id, self.id)  # its writer, fenced by its lease: batch its events
        try:
            async with asyncio.timeout(self.settings.job_timeout_seconds):
                outcome = await self._run(job_id, run)
        except TimeoutError:
            run.cancel.set()
            with contextlib.suppress(LeaseLost):  # another worker holds it: theirs to end
                await self.finish_failed(job_id, JobErrorInfo(
                    type="timeout",
                    message=f"the job ran longer than {self.settings.job_timeout_seconds:g}s",
                ))
            self.counters["jobs_failed"] += 1
            return {"status": JobStatus.failed.value}
        except asyncio.CancelledError:
            # arq's abort, or a shutdown past its grace period
            run.cancel.set()  # stops a crewAI kickoff still running in its thread
            with contextlib.suppress(LeaseLost):  # another worker holds it: theirs to end
                await asyncio.shield(self._stopped(job_id))
            raise
        except (RedisError, OSError) as exc:
            # Redis went away mid-run (or blipped): arq keeps the job (a worker runs it
            # again), whether or not it can say so now; if Redis answers already, what the
            # store holds for the job is written, the record says ``queued`` and the
            # hand-back is an event. If not, what it holds is dropped: the re-run writes anew
            run.cancel.set()
            run.lost = True
            log.warning("job_interrupted", job_id=job_id, error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(RedisError, OSError, LeaseLost):
                await self._stopped(job_id)
                await self.store.untrack(job_id)
            raise Retry(defer=1.0) from exc
        finally:
            self.running.pop(job_id, None)
            if run.lost:
                self.store.forget(job_id)
            else:
                with contextlib.suppress(RedisError, OSError):
                    await self.store.untrack(job_id)
        if outcome is None:
            return {"status": "lost"}
        job = outcome.job
        if outcome.retry_in is not None and not job.status.terminal:
            self.counters["jobs_retried"] += 1
            raise Retry(defer=outcome.retry_in)
        key = "jobs_done" if job.status is JobStatus.succeeded else "jobs_failed"
        self.counters[key] += 1
        return {"status": job.status.value, "attempts": job.attempts}

    async def _run(self, job_id: str, run: _Run) -> Any:
        """The runner's outcome, or None if another worker took the job over meanwhile."""
        try:
            return await run.task
        except asyncio.CancelledError:
            if not run.lost:
                raise
        except LeaseLost:  # a write found another worker holding the job: it wrote nothing
            run.lost = True
        # lost: wait for the new holder to end it, so arq's cleanup cannot clear its marker
        run.cancel.set()  # stops a crewAI kickoff still running in its thread
        self.counters["jobs_lost"] += 1
        log.warning("job_lease_lost", job_id=job_id, worker=self.id)
        while True:
            job = await self.store.get(job_id)
            if job is None or job.status.terminal:
                return None
            await asyncio.sleep(self.settings.worker_heartbeat_seconds)

    async def _took_over(self, job_id: str, previous: str) -> bool:
        """The job was running when this worker got it: its worker lost it. False if it lost
        it too often and was failed."""
        recoveries = int(await self.store.redis.hincrby(  # type: ignore[misc]
            self.keys.job(job_id), "recoveries", 1))
        if recoveries > self.settings.job_max_attempts + EXTRA_RECOVERIES:
            await self.finish_failed(job_id, JobErrorInfo(
                type="worker_lost", message=f"the job lost its worker {recoveries} times",
                details={"last_worker": previous},
            ))
            return False
        job = await self.store.get(job_id)
        if job is not None:
            await self.runner.emit(job, "warning",
                                   message=f"re-queued: worker {previous} lost its lease",
                                   data={"recovered": True, "worker": previous,
                                         "recovered_by": self.id, "recoveries": recoveries})
        self.counters["jobs_recovered"] += 1
        log.warning("job_recovered", job_id=job_id, previous=previous, worker=self.id)
        return True

    async def _stopped(self, job_id: str) -> None:
        """The run was cancelled: end the job as cancelled if that was asked, else hand it
        back for another worker."""
        job = await self.store.get(job_id)
        if job is None or job.status.terminal:
            return
        if job.cancel_requested:
            job.status = JobStatus.cancelled
            job.finished_at = utcnow()
            if await self.store.save_if(job, {JobStatus.queued, JobStatus.running}):
                await self.runner.emit(job, "cancelled", message="job cancelled")
            return
        if job.status is not JobStatus.running:
            return
        job.status = JobStatus.queued
        if await self.store.save_if(job, {JobStatus.running}):
            self.counters["jobs_handed_back"] += 1
            await self.runner.emit(job, "warning",
                                   message="handed back: the worker stopped before it finished",
                                   data={"handed_back": True, "worker": self.id})

    async def finish_failed(self, job_id: str, error: JobErrorInfo) -> None:
        """End a job as failed from outside the runner (timeout, lost too often)."""
        job = await self.store.get(job_id)
        if job is None or job.status.terminal:
            return
        error = job.fail_outside_runner(error)
        if await self.store.save_if(job, {JobStatus.queued, JobStatus.running}):
            await self.runner.emit(job, "failed", crew=error.crew, message=error.message,
                                   data={"error": error.model_dump()})
            log.warning("job_failed_outside_runner", job_id=job_id, error_type=error.type)

    # heartbeat, leases, reaper ------------------------------------------------------------
    async def heartbeat(self) -> None:
        now = time.time()
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.workers, {self.id: now})
            pipe.hset(self.keys.worker(self.id), mapping={
                "host": self.host, "pid": self.pid, "started_at": self.started_at,
                "last_seen": now, "concurrency": self.concurrency,
                "running": ",".join(self.running), **self.counters,
            })
            pipe.expire(self.keys.worker(self.id), 3600)
            pipe.zremrangebyscore(self.keys.workers, "-inf", now - 86400)
            await pipe.execute()

    async def renew(self) -> None:
        """Renew the lease of every job this worker runs; stop those it no longer holds."""
        for job_id, run in list(self.running.items()):
            if run.lost:
                continue
            held = int(await self._renew(keys=[self.keys.job(job_id), ARQ_IN_PROGRESS + job_id],
                                         args=[self.id, self.lease_ms]))
            if held == -1:
                run.lost = True
                run.task.cancel()  # not ``run.cancel``: the runner would end the job cancelled
            elif held == 1:
                run.cancel.set()  # a cancellation whose abort has not reached arq yet

    async def reap(self) -> None:
        """Cut to the lease the in-progress markers still at their full length (their worker
        died before taking the job); one worker per heartbeat does it."""
        pool = self._pool
        redis = self.store.redis
        lock_ms = max(1, int(self.settings.worker_heartbeat_seconds * 900))
        if pool is None or not await redis.set(self.keys.reaper_lock, self.id, nx=True,
                                               px=lock_ms):
            return
        ids = await pool.zrangebyscore(self.settings.queue_name, "-inf", int(time.time() * 1000),
                                       start=0, num=REAPER_SCAN)
        if not ids:
            return
        async with pool.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.pttl(ARQ_IN_PROGRESS + job_id.decode())
            ttls = await pipe.execute()
        stale = [ARQ_IN_PROGRESS + job_id.decode() for job_id, ttl in zip(ids, ttls, strict=True)
                 if ttl > 2 * self.lease_ms]
        if stale:
            async with pool.pipeline(transaction=False) as pipe:
                for key in stale:
                    pipe.pexpire(key, self.lease_ms)
                await pipe.execute()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.worker_heartbeat_seconds)
            try:
                await self.renew()
                await self.heartbeat()
                await self.reap()
            except (RedisError, OSError) as exc:
                log.warning("heartbeat_failed", worker=self.id, error=str(exc))
            except Exception as exc:
                log.error("heartbeat_crashed", worker=self.id,
                          error=f"{type(exc).__name__}: {exc}")


async def local_worker_alive(settings: Settings) -> bool:
    """Whether a worker on this host has a heartbeat younger than the lease."""
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


async def serve(settings: Settings, plugins: Plugins | None = None, *,
                concurrency: int | None = None, burst: bool = False,
                on_ready: Callable[[], None] | None = None) -> None:
    """Run a worker until SIGTERM/SIGINT (or, with ``burst``, an empty queue), reconnecting
    to Redis with backoff whenever the connection is lost: it never exits for that."""
    from arq.worker import create_worker

    from novelcrew import metrics

    if plugins is None:
        from novelcrew.plugins import get_plugins

        plugins = get_plugins()
    # the jobs this worker ends are counted here, as the inline server counts its own
    # (served when NOVELCREW_WORKER_METRICS_PORT is set: ``metrics.serve_worker_metrics``)
    observing = metrics.install(plugins)
    state = WorkerState(settings, plugins, concurrency=concurrency or settings.concurrency,
                        on_ready=on_ready)
    delay = RECONNECT_MIN
    #: set by arq's hook once it handled SIGTERM/SIGINT: a signal that lands while Redis is
    #: away (the worker between two connections) must stop it, not only be logged
    stopping = asyncio.Event()
    try:
        while True:
            worker = create_worker(worker_settings(settings, burst=burst, state=state))  # type: ignore[arg-type]
            worker.on_stop = lambda _signal: stopping.set()
            started = time.monotonic()
            try:
                await worker.async_run()
                return  # a burst ended
            except asyncio.CancelledError:
                return  # SIGTERM/SIGINT: arq let the jobs finish or handed them back
            except (RedisError, OSError, TimeoutError) as exc:
                if time.monotonic() - started > RECONNECT_MAX:
                    delay = RECONNECT_MIN  # it ran a while: a new outage starts over
                log.warning("worker_redis_lost", worker=state.id, retry_in=delay,
                            error=f"{type(exc).__name__}: {exc}")
            finally:
                with contextlib.suppress(RedisError, OSError, TimeoutError,
                                         asyncio.CancelledError):
                    await worker.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
            if stopping.is_set():
                log.info("worker_stopped", worker=state.id, reason="signal while Redis was away")
                return
            delay = min(delay * 2, RECONNECT_MAX)
    finally:
        await state.close()
        if observing:
            metrics.uninstall(plugins)


def run_worker(settings: Settings, *, concurrency: int | None = None, burst: bool = False,
               on_ready: Callable[[], None] | None = None) -> None:
    """``serve`` in a new event loop (the ``novelcrew worker`` command; ``on_ready``: see
    ``WorkerState``).

    When ``serve`` returns, the jobs have finished or been handed back and the worker has left
    the worker list. A crew it stopped may still have a thread waiting on a model's answer (or
    on crewAI's import, if it was stopped while starting): Python would join it at exit, so
    the process would outlive its grace period by the rest of the call, up to the model
    timeout. After ``STRAGGLER_SECONDS`` the process exits without it (its model slots given
    back, logs flushed)."""
    from novelcrew.crewai.kickoff import wait_idle

    asyncio.run(serve(settings, concurrency=concurrency, burst=burst, on_ready=on_ready))
    if not wait_idle(STRAGGLER_SECONDS):
        from novelcrew.llm.limit import give_back_slots

        log.warning("worker_exit_abandons_calls",
                    reason="a stopped crew is still waiting on a model or crewAI's import")
        give_back_slots()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)
