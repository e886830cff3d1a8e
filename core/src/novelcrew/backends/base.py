"""The job backend interface.

A backend is two things: a ``JobStore`` (records and their ordered event logs) and a way of
running jobs. ``inline`` runs them in the server process over SQLite; ``arq`` enqueues them for
worker processes over Redis. ``MemoryStore`` is the in-package test double, so a plugin author
can run jobs without either.
"""

from __future__ import annotations

import asyncio
import builtins
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import structlog

from novelcrew.errors import Conflict, JobNotFound
from novelcrew.jobs import Job, JobEvent, JobStatus
from novelcrew.specs import Health

if TYPE_CHECKING:
    from novelcrew.llm.replies import ReplyStore
    from novelcrew.plugins import Plugins

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IdempotencyClaim:
    """Who holds an ``Idempotency-Key``: the request's fingerprint and the job it creates."""

    fingerprint: str
    job_id: str


class JobStore(ABC):
    """Durable job records and event logs."""

    #: the store's own errors when its database does not answer: a run that meets one stops
    #: and leaves the job to its backend (the arq worker hands it back) instead of failing it
    unavailable: ClassVar[tuple[type[Exception], ...]] = ()

    @abstractmethod
    async def open(self) -> None:
        """Connect, create tables; called once before use."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def create(self, job: Job) -> None:
        """Store a new job record."""

    @abstractmethod
    async def get(self, job_id: str) -> Job | None: ...

    @abstractmethod
    async def save(self, job: Job) -> None:
        """Replace a job's record (not its events)."""

    @abstractmethod
    async def list(
        self,
        *,
        project_id: str | None = None,
        status: JobStatus | None = None,
        limit: int = 50,
        offset: int = 0,
        tenant: str | None = None,
    ) -> tuple[list[Job], int]:
        """Jobs newest first, and how many match in all; ``tenant`` keeps only that tenant's
        jobs (None: every job)."""

    @abstractmethod
    async def append_event(self, job_id: str, type: str, *, crew: str | None = None,
                           message: str = "", data: dict[str, Any] | None = None) -> JobEvent:
        """Append an event with the next ``seq`` (atomic per job) and wake any waiters."""

    async def save_with_event(self, job: Job, type: str, *, crew: str | None = None,
                              message: str = "", data: dict[str, Any] | None = None,
                              create: bool = False) -> JobEvent:
        """Save ``job`` (or ``create`` it) and append an event to it.

        A job's record changes with most of its events (started, crew finished, succeeded),
        so the runner asks for both at once; a store that can write them in one transaction
        overrides this, halving its round trips per job.
        """
        await (self.create(job) if create else self.save(job))
        return await self.append_event(job.id, type, crew=crew, message=message, data=data)

    @abstractmethod
    async def events(
        self, job_id: str, after: int = 0, limit: int = 1000
    ) -> builtins.list[JobEvent]:
        """Events with ``seq > after``, in order."""

    @abstractmethod
    async def wait_events(self, job_id: str, after: int, timeout: float) -> builtins.list[JobEvent]:
        """Like ``events`` but waits up to ``timeout`` seconds for at least one."""

    @abstractmethod
    async def counts(self) -> dict[str, int]:
        """Number of jobs per status."""

    async def ping(self) -> None:
        """Raise unless the store answers. ``/health`` calls it, as often as a load balancer
        probes; a store whose ``counts`` grows with its jobs overrides it with a query that
        does not."""
        await self.counts()

    async def unfinished(self) -> builtins.list[Job]:
        """Jobs queued or running (what a restart must pick up again)."""
        out: builtins.list[Job] = []
        for status in (JobStatus.running, JobStatus.queued):
            jobs, _ = await self.list(status=status, limit=100_000)
            out.extend(jobs)
        return out

    async def claim_idempotency_key(self, key: str, claim: IdempotencyClaim,
                                    ttl: float) -> IdempotencyClaim | None:
        """Claim ``key`` (already scoped to its tenant) for ``ttl`` seconds, atomically: None
        when this call got it, else the unexpired claim that holds it (an expired one is
        replaced). Two requests that race with one key must not both get None.

        The default keeps claims in this process's memory: enough for ``MemoryStore`` and a
        store served by one process. A store that several processes share (as SQLite and
        Redis are) overrides this and ``keep_idempotency_key`` with its database's atomic
        insert."""
        claims = self._idempotency_claims()
        now = time.monotonic()
        held = claims.get(key)
        if held is not None and held[1] > now:
            return held[0]
        for stale in [k for k, (_, until) in claims.items() if until <= now]:
            del claims[stale]
        claims[key] = (claim, now + ttl)
        return None

    async def keep_idempotency_key(self, key: str, job_id: str, ttl: float) -> None:
        """Make ``key``'s claim expire ``ttl`` seconds from now, or release it at once when
        ``ttl <= 0`` (its job could not be created), if ``job_id``'s claim still holds it."""
        claims = self._idempotency_claims()
        held = claims.get(key)
        if held is None or held[0].job_id != job_id:
            return
        if ttl <= 0:
            del claims[key]
        else:
            claims[key] = (held[0], time.monotonic() + ttl)

    def _idempotency_claims(self) -> dict[str, tuple[IdempotencyClaim, float]]:
        # created on first use: a subclass need not call an ``__init__`` of ours
        claims: dict[str, tuple[IdempotencyClaim, float]] | None = (
            self.__dict__.get("_idempotency"))
        if claims is None:
            claims = self.__dict__["_idempotency"] = {}
        return claims

    def reply_store(self) -> ReplyStore | None:
        """Where this backend keeps model answers (the response cache and each job's
        checkpoint of completed calls), or None: calls are then neither cached nor resumed."""
        return None

    async def crew_timings(self) -> dict[str, builtins.list[float]]:
        """Durations of finished crews, per crew (for ``/stats``)."""
        jobs, _ = await self.list(status=JobStatus.succeeded, limit=1000)
        out: dict[str, builtins.list[float]] = {}
        for job in jobs:
            for crew, seconds in job.timings.items():
                out.setdefault(crew, []).append(seconds)
        return out


#: the type of the last event of a stream the server ends because it is shutting down (sent
#: to the client only, never stored; its ``seq`` repeats the last event's, so resuming with
#: ``Last-Event-ID`` misses nothing)
SERVER_STOPPING = "server_stopping"


class JobBackend(ABC):
    """Runs jobs and answers for them. Subclasses provide ``store`` and scheduling."""

    name: str = "base"
    store: JobStore
    #: set by ``drain()``: the server is shutting down
    draining: bool = False
    _streams_end: asyncio.Event | None = None

    async def start(self) -> None:
        """Open the store and start whatever runs jobs (and pick up unfinished ones)."""
        await self.store.open()

    async def stop(self) -> None:
        await self.store.close()

    async def drain(self, grace: float) -> None:
        """Before a graceful shutdown (SIGTERM): stop taking jobs and end every event stream
        with a ``server_stopping`` event. A backend that runs jobs in this process lets them
        finish first, for up to ``grace`` seconds, and hands back the rest."""
        self.draining = True
        self._end_streams().set()

    def _end_streams(self) -> asyncio.Event:
        if self._streams_end is None:
            self._streams_end = asyncio.Event()
        return self._streams_end

    @abstractmethod
    async def submit(self, job: Job) -> Job:
        """Store and schedule a job; returns the stored record (status ``queued``)."""

    @abstractmethod
    async def request_cancel(self, job: Job) -> None:
        """Ask whatever runs ``job`` to stop it at its next step."""

    async def get(self, job_id: str) -> Job:
        job = await self.store.get(job_id)
        if job is None:
            raise JobNotFound(f"no job with id {job_id!r}", {"job_id": job_id})
        return job

    async def list(self, **filters: Any) -> tuple[list[Job], int]:
        return await self.store.list(**filters)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once, or a running one at its next step."""
        job = await self.get(job_id)
        if job.status.terminal:
            raise Conflict(
                f"job {job_id} has already ended ({job.status.value})",
                {"job_id": job_id, "status": job.status.value},
            )
        job.cancel_requested = True
        await self.store.save(job)
        await self.request_cancel(job)
        return await self.get(job_id)

    async def stream(
        self, job_id: str, after: int = 0, poll: float = 15.0
    ) -> AsyncIterator[JobEvent | None]:
        """Every event after ``after``, then live ones, ending after the terminal event.

        Yields ``None`` when ``poll`` seconds pass with nothing new (a keep-alive point).
        """
        await self.get(job_id)
        last = after
        end = self._end_streams()
        while True:
            batch = await self._next_events(job_id, last, poll, end)
            if batch is None:  # the server is shutting down
                yield JobEvent(seq=last, job_id=job_id, type=SERVER_STOPPING,
                               message="the server is shutting down; resume this stream "
                               "(Last-Event-ID) once it is back",
                               data={"resume_after": last})
                return
            if not batch:
                job = await self.get(job_id)
                if job.status.terminal and job.events_count <= last:
                    return
                yield None
                continue
            for event in batch:
                last = event.seq
                yield event
                if event.terminal:
                    return

    async def _next_events(self, job_id: str, after: int, poll: float,
                           end: asyncio.Event) -> builtins.list[JobEvent] | None:
        """``wait_events``, or ``None`` as soon as ``end`` is set."""
        if end.is_set():
            return None
        waiting = asyncio.ensure_future(self.store.wait_events(job_id, after, timeout=poll))
        ending = asyncio.ensure_future(end.wait())
        try:
            await asyncio.wait((waiting, ending), return_when=asyncio.FIRST_COMPLETED)
        finally:
            ending.cancel()
            if not waiting.done():
                waiting.cancel()
        return waiting.result() if waiting.done() and not waiting.cancelled() else None

    async def health(self) -> Health:
        if self.draining:
            return Health(status="down", required=True,
                          detail=f"{self.name}: the server is shutting down")
        try:
            await asyncio.wait_for(self.store.ping(), timeout=5)
        except Exception as exc:
            return Health(status="down", required=True, detail=f"{type(exc).__name__}: {exc}")
        return Health(status="ok", required=True, detail=self.name)

    async def stats(self) -> dict[str, Any]:
        counts = await self.store.counts()
        return {"backend": self.name, "counts": counts, "queue_depth": counts.get("queued", 0)}


def uses_crewai(plugins: Plugins, crews: builtins.list[str] | None = None) -> bool:
    """Whether any of ``crews`` (default: every registered crew) has crewAI agents."""
    registered = plugins.registry.crews
    names = registered if crews is None else [c for c in crews if c in registered]
    return any(registered[name].spec.agents for name in names)


def import_crewai(data_dir: Path) -> None:
    """Runs in a worker thread: crewAI's environment, then the heavy imports.

    Importing crewAI takes seconds of CPU; done on the event loop (where a crew's first step
    would do it) it would stall every request, event stream and lease renewal meanwhile.
    """
    from novelcrew.crewai.env import import_crewai as prepare_and_import

    seconds = prepare_and_import(data_dir)
    log.info("crewai_imported", seconds=round(seconds, 2), thread=True)


async def warm_up_crewai(plugins: Plugins, data_dir: Path) -> None:
    """Import crewAI off the event loop if a registered crew uses it (a worker, before it
    takes its first job). A failure is logged: the job's own import raises it where it
    belongs. It runs on the kickoff pool, not asyncio's default executor: a worker stopped
    meanwhile ends without waiting for the import (``kickoff.wait_idle``)."""
    if "crewai" in sys.modules or not uses_crewai(plugins):
        return
    from novelcrew.crewai.kickoff import in_crewai_thread

    try:
        await in_crewai_thread(import_crewai, data_dir)
    except Exception as exc:
        log.warning("crewai_warmup_failed", error=f"{type(exc).__name__}: {exc}")
