"""The ``arq`` backend: the API enqueues jobs in Redis; ``novelcrew worker`` processes run them.

Records, progress and event logs live in Redis (``RedisStore``), so every API instance answers
status, list and SSE for every job, whichever worker runs it. Submitting enqueues arq's
``run_job`` with the job id as arq's ``_job_id`` (so the same job is never queued twice), then
stores the record and its ``queued`` event: a crash in between leaves an arq job without a
record, which a worker drops after waiting for it briefly, never a stored job that no queue
holds. Cancelling from any instance sets ``cancel_requested`` on the record; a queued job ends
``cancelled`` at once (a check-and-set on its status), and arq's ``abort_job`` stops it
wherever it is: still queued, no worker starts it; running, its worker ends it ``cancelled``.
The worker side is ``worker.py``.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import structlog
from redis.exceptions import RedisError

from novelcrew.backends.arq.keys import RUN_JOB_FUNCTION, WORKER_COUNTERS, Keys
from novelcrew.backends.arq.store import RedisStore
from novelcrew.backends.base import JobBackend
from novelcrew.errors import BackendUnavailable, Conflict
from novelcrew.jobs import Job, JobStatus, utcnow
from novelcrew.runner import JobRunner
from novelcrew.specs import Health

if TYPE_CHECKING:
    from arq.connections import ArqRedis

    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings

log = structlog.get_logger(__name__)


class ArqBackend(JobBackend):
    """Jobs queued in Redis for any number of ``novelcrew worker`` processes."""

    name = "arq"

    def __init__(self, plugins: Plugins, settings: Settings,
                 store: RedisStore | None = None) -> None:
        self.plugins = plugins
        self.settings = settings
        self.keys = Keys.for_queue(settings.queue_name)
        self.store: RedisStore = store or RedisStore(settings.redis_url, self.keys)
        self.runner = JobRunner(plugins, settings, self.store)
        self._pool: ArqRedis | None = None

    @classmethod
    def from_settings(cls, settings: Settings, plugins: Plugins) -> ArqBackend:
        return cls(plugins, settings)

    # lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        from arq.connections import RedisSettings, create_pool

        await self.store.open()
        self._pool = await create_pool(
            RedisSettings.from_dsn(self.settings.redis_url),
            default_queue_name=self.settings.queue_name,
        )

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()
        await self.store.close()

    @property
    def pool(self) -> ArqRedis:
        if self._pool is None:
            raise RuntimeError("ArqBackend is not started; call start() first")
        return self._pool

    # submitting and cancelling ------------------------------------------------------------
    async def submit(self, job: Job) -> Job:
        job.status = JobStatus.queued
        try:
            if not await enqueue(self.pool, self.settings.queue_name, job.id):
                raise ValueError(f"job {job.id} already exists")
            await self.runner.record_queued(job, create=True)
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(f"Redis is unavailable: {exc}",
                                     {"backend": self.name}) from exc
        return job  # as stored (the emit set its events_count)

    async def cancel(self, job_id: str) -> Job:
        """Like ``JobBackend.cancel``, but only the flag is written: a whole-record save from
        the API could overwrite a worker's newer save of the same job."""
        job = await self.get(job_id)
        if job.status.terminal or not await self.store.mark_cancel_requested(job_id):
            job = await self.get(job_id)
            raise Conflict(
                f"job {job_id} has already ended ({job.status.value})",
                {"job_id": job_id, "status": job.status.value},
            )
        job.cancel_requested = True
        await self.request_cancel(job)
        return await self.get(job_id)

    async def request_cancel(self, job: Job) -> None:
        from arq.jobs import Job as ArqJob

        if job.status is JobStatus.queued:
            done = job.model_copy(update={"status": JobStatus.cancelled,
                                          "finished_at": utcnow(), "cancel_requested": True})
            if await self.store.save_if(done, {JobStatus.queued}):
                await self.runner.emit(done, "cancelled", message="job cancelled")
        # queued: no worker starts it; running: its worker ends it as cancelled. The abort is
        # asked for, not waited for (the record says when the job has ended)
        arq_job = ArqJob(job.id, self.pool, _queue_name=self.settings.queue_name)
        with contextlib.suppress(TimeoutError):
            await arq_job.abort(timeout=0, poll_delay=0)

    # introspection ------------------------------------------------------------------------
    async def workers(self) -> list[dict[str, Any]]:
        """Workers seen lately, from their heartbeats, newest first."""
        return await worker_list(self.store, self.settings)

    async def health(self) -> Health:
        if self.draining:  # a load balancer takes this instance out while it drains
            return Health(status="down", required=True,
                          detail=f"{self.name}: the server is shutting down")
        try:
            await self.store.redis.ping()
            workers = [w for w in await self.workers() if w["alive"]]
            depth = int(await self.pool.zcard(self.settings.queue_name))
            aof = (await self.store.redis.info("persistence")).get("aof_enabled")
        except (RedisError, OSError) as exc:
            return Health(status="down", required=True,
                          detail=f"Redis unreachable: {type(exc).__name__}: {exc}",
                          data={"redis": "down", "workers": []})
        data = {"redis": "ok", "workers": workers, "live_workers": len(workers),
                "queue": self.settings.queue_name, "queue_depth": depth,
                "persistence": "aof" if aof in (1, "1") else
                "off: a Redis restart loses every queued job (see the operator guide)"}
        if not workers:
            return Health(status="degraded", required=True,
                          detail="Redis ok, but no live worker: jobs queue without running",
                          data=data)
        return Health(status="ok", required=True,
                      detail=f"Redis ok, {len(workers)} live worker(s)", data=data)

    async def stats(self) -> dict[str, Any]:
        counts = await self.store.counts()
        workers = await self.workers()
        return {
            "backend": self.name,
            "counts": counts,
            "queue_depth": counts.get("queued", 0),
            "arq_queue_size": int(await self.pool.zcard(self.settings.queue_name)),
            "running": counts.get("running", 0),
            "workers": workers,
            "live_workers": sum(1 for w in workers if w["alive"]),
        }


async def enqueue(pool: ArqRedis, queue_name: str, job_id: str) -> bool:
    """Enqueue arq's ``run_job`` for ``job_id`` (idempotent: False if arq already has it)."""
    queued = await pool.enqueue_job(RUN_JOB_FUNCTION, job_id, _job_id=job_id,
                                    _queue_name=queue_name)
    return queued is not None


async def worker_list(store: RedisStore, settings: Settings) -> list[dict[str, Any]]:
    """Every worker with a heartbeat in the last hour: alive if within the lease."""
    keys = store.keys
    now = time.time()
    seen = await store.redis.zrevrangebyscore(keys.workers, "+inf", now - 3600, withscores=True)
    if not seen:
        return []
    async with store.redis.pipeline(transaction=False) as pipe:
        for worker_id, _ in seen:
            pipe.hgetall(keys.worker(worker_id.decode()))
        rows = await pipe.execute()
    out: list[dict[str, Any]] = []
    for (worker_id, last_seen), row in zip(seen, rows, strict=True):
        info = {k.decode(): v.decode() for k, v in row.items()}
        running = info.get("running", "")
        out.append({
            "id": worker_id.decode(),
            "host": info.get("host"),
            "pid": int(info["pid"]) if info.get("pid") else None,
            "alive": now - last_seen <= settings.worker_lease_seconds,
            "last_seen": last_seen,
            "last_seen_seconds_ago": round(now - last_seen, 3),
            "started_at": float(info["started_at"]) if info.get("started_at") else None,
            "concurrency": int(info.get("concurrency", 0) or 0),
            "running": [j for j in running.split(",") if j],
            **{name: int(info.get(name) or 0) for name in WORKER_COUNTERS},
        })
    return out
