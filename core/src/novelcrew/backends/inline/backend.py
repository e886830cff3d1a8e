"""The ``inline`` backend: jobs run as asyncio tasks inside the server process.

At most ``settings.concurrency`` jobs run at once; the rest wait, in submission order, with
status ``queued``. Records and events live in SQLite under the data directory, so a job
submitted is never lost: ``start()`` re-runs every job a previous process left ``queued`` or
``running`` (a chain resumes at its first crew without a result). ``stop()`` stops taking
work and abandons running jobs without marking them, which is what lets the next start pick
them up again, up to a limit (a job that keeps taking its server down fails as
``worker_lost``); a job over ``job_timeout_seconds`` fails as ``timeout``. Webhook
deliveries cut short by a stop or a crash are sent again too (the store is their outbox).
One server per data directory: two would both recover the same jobs.

When the store cannot write (a full disk), the server degrades rather than losing work:
``/health`` says ``degraded``, submissions get 503, and a job whose write failed is parked
as it was last stored (queued or running, its finished crews kept); a background probe
re-queues the parked jobs once the store can write again.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from novelcrew.backends.base import JobBackend, JobStore, import_crewai, uses_crewai
from novelcrew.backends.inline.store import SQLiteStore, StoreNotWritable
from novelcrew.errors import BackendUnavailable
from novelcrew.jobs import Job, JobErrorInfo, JobStatus
from novelcrew.runner import JobRunner
from novelcrew.specs import Health
from novelcrew.webhooks import (
    drain_webhooks,
    pending_webhooks,
    schedule_webhook,
    webhook_counts,
)

if TYPE_CHECKING:
    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings

log = structlog.get_logger(__name__)

STORE_FILE = "jobs.sqlite3"
LOCK_FILE = "inline.lock"
#: restarts a running job survives beyond ``job_max_attempts`` before it fails as
#: ``worker_lost`` (a job that kills its server must not kill every next one too)
EXTRA_RECOVERIES = 2
#: jobs created at most this long before a start get their unsettled webhooks sent again
WEBHOOK_REDELIVERY_WINDOW = 24 * 3600.0
#: first and longest wait between probes of a store that cannot write
STORE_PROBE_SECONDS = (0.5, 10.0)


class InlineBackend(JobBackend):
    """Bounded asyncio concurrency over a durable store (SQLite unless one is given)."""

    name = "inline"

    def __init__(self, plugins: Plugins, settings: Settings,
                 store: JobStore | None = None) -> None:
        self._lock_path: Path | None = None
        self._lock_fd: int | None = None
        if store is None:
            store = SQLiteStore(settings.resolved_data_dir / STORE_FILE)
            self._lock_path = settings.resolved_data_dir / LOCK_FILE
        self.plugins = plugins
        self.settings = settings
        self.store = store
        self.concurrency = settings.concurrency
        self.runner = JobRunner(plugins, settings, store)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        #: jobs a worker (or a queued cancellation) is handling right now
        self._claimed: set[str] = set()
        self._running: set[str] = set()
        self._cancel_events: dict[str, threading.Event] = {}
        self._retries: dict[str, asyncio.TimerHandle] = {}
        self._warmup: asyncio.Future[None] | None = None
        #: how long stop() lets webhook deliveries in flight finish (the rest are sent again
        #: by the next start)
        self.webhook_drain_seconds = 5.0
        self._accepting = False
        #: jobs whose store write failed, waiting (in order) for the store to write again
        self._parked: dict[str, None] = {}
        self._store_probe: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, plugins: Plugins) -> InlineBackend:
        return cls(plugins, settings)

    # lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        self._take_lock()
        try:
            await self.store.open()
        except BaseException:
            self._release_lock()
            raise
        self._accepting = True
        self.draining, self._streams_end = False, None
        # a fresh queue for this event loop, keeping whatever was submitted before start()
        old, self._queue = self._queue, asyncio.Queue()
        while not old.empty():
            self._queue.put_nowait(old.get_nowait())
        self._workers = [
            asyncio.create_task(self._work(), name=f"novelcrew-inline-{i}")
            for i in range(self.concurrency)
        ]
        left: list[Job] = sorted(await self.store.unfinished(), key=lambda j: j.created_at)
        for job in left:
            if job.status is JobStatus.running:
                if job.attempts >= self.settings.job_max_attempts + EXTRA_RECOVERIES:
                    await self._fail(job.id, JobErrorInfo(
                        type="worker_lost",
                        message=f"the server stopped while running this job {job.attempts} "
                        "times; not trying again",
                    ))
                    continue
                await self.runner.emit(job, "warning", message="re-running after a restart",
                                       data={"recovered": True, "attempts": job.attempts})
            self._enqueue(job.id)
        if left:
            log.info("inline_recovered", jobs=len(left))
        await self._redeliver_webhooks()

    async def _redeliver_webhooks(self) -> None:
        """Send again the webhooks a previous process did not get to settle."""
        unsettled = getattr(self.store, "unsettled_webhooks", None)
        if unsettled is None:
            return
        jobs = await unsettled(time.time() - WEBHOOK_REDELIVERY_WINDOW)
        for job in jobs:
            schedule_webhook(job, self.settings, outbox=self.store)  # type: ignore[arg-type]
        if jobs:
            log.info("webhooks_redelivering", jobs=len(jobs))

    async def drain(self, grace: float) -> None:
        """A graceful shutdown's first step (SIGTERM; ``novelcrew serve`` calls it while the
        server still answers): new jobs get 503, queued ones stay queued for the next start,
        running ones get ``grace`` seconds to finish; the rest are handed back (stored as
        ``queued`` with a warning, to run again from their first crew without a result), and
        event streams end with a ``server_stopping`` event."""
        self.draining = True
        if self._running:
            log.info("inline_draining", running=len(self._running), grace_seconds=grace)
        handed_back = await self._let_go(grace)
        for job_id in handed_back:
            try:
                await self._hand_back(job_id)
            except Exception as exc:  # it stays running: the next start re-runs it anyway
                log.warning("inline_hand_back_failed", job_id=job_id,
                            error=f"{type(exc).__name__}: {exc}")
        if handed_back:
            log.warning("inline_jobs_handed_back", jobs=len(handed_back),
                        job_ids=sorted(handed_back))  # which to look for after the restart
        await super().drain(grace)

    async def _hand_back(self, job_id: str) -> None:
        job = await self.store.get(job_id)
        if job is None or job.status is not JobStatus.running:
            return
        job.status = JobStatus.queued
        await self.runner.emit(
            job, "warning", notify=False, save=True,
            message="handed back: the server stopped before this job finished; it runs again "
            "from its first crew without a result when the server is back",
            data={"handed_back": True})

    async def stop(self) -> None:
        """Stop taking work and abandon running jobs (they stay ``running`` in the store and
        are re-run by the next ``start``; ``drain`` first gives them time to finish)."""
        if self._store_probe is not None:
            self._store_probe.cancel()
            self._store_probe = None
        self._parked.clear()  # left as stored: the next start picks them up
        await self._let_go(0.0)
        await drain_webhooks(timeout=self.webhook_drain_seconds)
        await self.store.close()
        self._release_lock()

    async def _let_go(self, grace: float) -> set[str]:
        """Stop taking work, give running jobs ``grace`` seconds, then cancel the workers: the
        jobs still running (left ``running`` in the store; queued ones and pending retries
        stay queued there)."""
        self._accepting = False
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self._running and loop.time() < deadline:
            await asyncio.sleep(0.05)
        left = set(self._running)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        # only now (the runners have let go) stop what still runs in threads, e.g. a crewAI
        # kickoff, so the process can exit without waiting for it
        for job_id in left:
            event = self._cancel_events.pop(job_id, None)
            if event is not None:
                event.set()
        return left

    def _take_lock(self) -> None:
        """One inline server per data directory: a second would re-run the first's jobs."""
        if self._lock_path is None or self._lock_fd is not None:
            return
        import fcntl

        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BackendUnavailable(
                f"another novelcrew server already runs jobs from {self._lock_path.parent}; "
                "give this one its own NOVELCREW_DATA_DIR (or use the arq backend to share "
                "work between processes)",
                {"data_dir": str(self._lock_path.parent)},
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock; the kernel does so on a crash
            self._lock_fd = None

    # submitting and cancelling ------------------------------------------------------------
    async def submit(self, job: Job) -> Job:
        if self.draining:
            raise BackendUnavailable("the server is shutting down; submit the job again once "
                                     "it is back")
        job.status = JobStatus.queued
        try:
            await self.runner.record_queued(job, create=True)
        except StoreNotWritable:
            self._watch_store()
            raise  # 503: nothing was stored
        self._enqueue(job.id)
        return job  # as stored (the runner works on a copy it reads from the store)

    async def request_cancel(self, job: Job) -> None:
        self._cancel_event(job.id).set()
        handle = self._retries.pop(job.id, None)
        if handle is not None:
            handle.cancel()
        if job.id in self._claimed:
            return  # running: the runner stops at its next step
        # queued (or waiting to retry): the runner ends it as cancelled right away
        self._claimed.add(job.id)
        try:
            await self.runner.run(job.id, self._cancel_event(job.id))
        finally:
            self._claimed.discard(job.id)
            self._cancel_events.pop(job.id, None)

    # running ------------------------------------------------------------------------------
    def _cancel_event(self, job_id: str) -> threading.Event:
        return self._cancel_events.setdefault(job_id, threading.Event())

    def _enqueue(self, job_id: str) -> None:
        self._queue.put_nowait(job_id)

    def _retry_later(self, job_id: str, delay: float) -> None:
        def fire() -> None:
            self._retries.pop(job_id, None)
            if self._accepting:
                self._enqueue(job_id)

        self._retries[job_id] = asyncio.get_running_loop().call_later(delay, fire)

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            if job_id in self._claimed or self.draining:
                continue  # being handled (a cancellation got there first), or shutting down
            self._claimed.add(job_id)
            self._running.add(job_id)
            cancel = self._cancel_event(job_id)
            try:
                await self._warm_up_for(job_id)
                async with asyncio.timeout(self.settings.job_timeout_seconds):
                    outcome = await self.runner.run(job_id, cancel)
            except TimeoutError:
                cancel.set()  # stops a crewAI kickoff still running in its thread
                try:
                    await self._fail(job_id, JobErrorInfo(
                        type="timeout",
                        message=f"the job ran longer than {self.settings.job_timeout_seconds:g}s",
                    ))
                except StoreNotWritable:
                    self._park(job_id)
                    continue
                self._cancel_events.pop(job_id, None)
                continue
            except StoreNotWritable as exc:
                log.warning("inline_job_waits_for_store", job_id=job_id, error=exc.message)
                self._park(job_id)
                continue
            except Exception as exc:  # the store failed under us: leave the job for a restart
                log.exception("inline_run_crashed", job_id=job_id,
                              error=f"{type(exc).__name__}: {exc}")
                self._cancel_events.pop(job_id, None)
                continue
            finally:
                self._claimed.discard(job_id)
                self._running.discard(job_id)
            if outcome.retry_in is not None and not outcome.job.status.terminal:
                self._retry_later(job_id, outcome.retry_in)
            else:
                self._cancel_events.pop(job_id, None)

    # a store that cannot write ---------------------------------------------------------
    def _park(self, job_id: str) -> None:
        """Hold a job whose write failed until the store can write (it stays as stored)."""
        self._parked[job_id] = None
        self._watch_store()

    def _watch_store(self) -> None:
        """Start probing the store until it can write again (once)."""
        if self._store_probe is None or self._store_probe.done():
            self._store_probe = asyncio.create_task(self._await_writable(),
                                                    name="novelcrew-inline-store-probe")

    async def _await_writable(self) -> None:
        probe = getattr(self.store, "probe", None)
        delay, longest = STORE_PROBE_SECONDS
        while self._accepting:
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)
            if probe is None or await probe():
                break
        else:
            return
        parked, self._parked = list(self._parked), {}
        for job_id in parked:
            self._enqueue(job_id)
        log.info("inline_store_writable_again", resumed_jobs=len(parked))

    async def health(self) -> Health:
        """``degraded`` while the store cannot write (accepted jobs wait; submissions get
        503) or its file system has less free space than the store needs to resume."""
        base = await super().health()
        if base.status != "ok":
            return base
        error: str | None = getattr(self.store, "write_error", None)
        data = {"writable": error is None, "waiting_jobs": len(self._parked)}
        if error is not None:
            self._watch_store()
            return Health(status="degraded", required=True, data=data,
                          detail=f"inline: the job store cannot write ({error}); accepted "
                          "jobs wait and resume once it can, new ones are refused")
        free_bytes = getattr(self.store, "free_bytes", None)
        if free_bytes is not None:
            free = free_bytes()  # one statvfs: microseconds
            data["free_bytes"] = free
            if free < getattr(self.store, "min_free_bytes", 0):
                return Health(status="degraded", required=True, data=data,
                              detail=f"inline: the job store's disk has {free} bytes free")
        return Health(status="ok", required=True, detail=self.name, data=data)

    async def _warm_up_for(self, job_id: str) -> None:
        """Import crewAI in a thread before the first job whose crews have agents.

        Importing it takes seconds of CPU; done on the event loop (where a crew's first step
        would do it) it would stall every request and event stream of the server meanwhile.
        The job waits, still ``queued``; the server keeps answering.
        """
        if "crewai" in sys.modules and (self._warmup is None or self._warmup.done()):
            return
        if not uses_crewai(self.plugins):
            return  # no crew here uses crewAI
        job = await self.store.get(job_id)
        if job is None or not uses_crewai(self.plugins, job.crews):
            return
        if self._warmup is None:
            data_dir = self.settings.resolved_data_dir
            self._warmup = asyncio.ensure_future(asyncio.to_thread(import_crewai, data_dir))
        try:
            await asyncio.shield(self._warmup)
        except Exception as exc:  # the job's own import will raise it where it belongs
            log.warning("crewai_warmup_failed", error=f"{type(exc).__name__}: {exc}")

    async def _fail(self, job_id: str, error: JobErrorInfo) -> None:
        """End a job as failed from outside the runner (timeout, lost too often)."""
        job = await self.store.get(job_id)
        if job is None or job.status.terminal:
            return
        error = job.fail_outside_runner(error)
        await self.runner.emit(job, "failed", crew=error.crew, message=error.message,
                               data={"error": error.model_dump()}, save=True)
        log.warning("job_failed_outside_runner", job_id=job_id, error_type=error.type)

    # introspection ------------------------------------------------------------------------
    async def stats(self) -> dict[str, Any]:
        out = await super().stats()
        out.update({
            "running": len(self._running),
            "concurrency": self.concurrency,
            "queue_depth": out["counts"].get("queued", 0),
            "waiting_to_retry": len(self._retries),
            "waiting_for_store": len(self._parked),
            "webhooks": {**webhook_counts(), "pending": pending_webhooks()},
        })
        return out
