"""An in-memory ``JobStore``: the test double, and the store of ``novelcrew run``."""

from __future__ import annotations

import asyncio
import builtins
from typing import TYPE_CHECKING, Any

from novelcrew.backends.base import JobStore
from novelcrew.jobs import TERMINAL, Job, JobEvent, JobStatus

if TYPE_CHECKING:
    from novelcrew.llm.replies import ReplyStore


def _copy(job: Job) -> Job:
    """A deep copy: dumped and validated again, five times cheaper than ``deepcopy`` (which
    ``model_copy(deep=True)`` is) on a job record."""
    return Job.model_validate(job.model_dump())


class MemoryStore(JobStore):
    """Keeps everything in dicts; nothing survives the process. Model answers are kept only
    when given a ``ReplyStore`` (e.g. ``MemoryReplies()``, to test caching and resuming).

    The rules of the real stores hold: an ended job's record is final, and its event log
    closes at its terminal event (a later append answers with that event)."""

    def __init__(self, replies: ReplyStore | None = None) -> None:
        self._replies = replies
        self._jobs: dict[str, Job] = {}
        self._events: dict[str, list[JobEvent]] = {}
        self._changed: dict[str, asyncio.Condition] = {}

    async def open(self) -> None:
        return None

    def reply_store(self) -> ReplyStore | None:
        return self._replies

    async def close(self) -> None:
        return None

    def _cond(self, job_id: str) -> asyncio.Condition:
        cond = self._changed.get(job_id)  # not ``setdefault``: a Condition per event is waste
        if cond is None:
            cond = self._changed[job_id] = asyncio.Condition()
        return cond

    async def create(self, job: Job) -> None:
        self._jobs[job.id] = _copy(job)
        self._events.setdefault(job.id, [])

    async def get(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return _copy(job) if job else None

    async def save(self, job: Job) -> None:
        stored = self._jobs.get(job.id)
        if stored is not None and stored.status in TERMINAL:
            return  # an ended job's record is final
        copy = _copy(job)
        if stored is not None:
            copy.events_count = stored.events_count
            copy.cancel_requested = copy.cancel_requested or stored.cancel_requested
        self._jobs[job.id] = copy

    async def list(self, *, project_id: str | None = None, status: JobStatus | None = None,
                   limit: int = 50, offset: int = 0,
                   tenant: str | None = None) -> tuple[list[Job], int]:
        jobs = [
            j for j in self._jobs.values()
            if (project_id is None or j.project_id == project_id)
            and (status is None or j.status == status)
            and (tenant is None or j.tenant == tenant)
        ]
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        return [_copy(j) for j in jobs[offset: offset + limit]], len(jobs)

    async def append_event(self, job_id: str, type: str, *, crew: str | None = None,
                           message: str = "", data: dict[str, Any] | None = None) -> JobEvent:
        log = self._events.setdefault(job_id, [])
        if log and log[-1].terminal:
            return log[-1].model_copy()  # the log closed at the job's ending
        event = JobEvent(seq=len(log) + 1, job_id=job_id, type=type, crew=crew,
                         message=message, data=data or {})
        log.append(event)
        if job_id in self._jobs:
            self._jobs[job_id].events_count = event.seq
        cond = self._cond(job_id)
        async with cond:
            cond.notify_all()
        return event

    async def events(
        self, job_id: str, after: int = 0, limit: int = 1000
    ) -> builtins.list[JobEvent]:
        return list(self._events.get(job_id, [])[after: after + limit])

    async def wait_events(self, job_id: str, after: int, timeout: float) -> builtins.list[JobEvent]:
        cond = self._cond(job_id)
        async with cond:
            try:
                await asyncio.wait_for(
                    cond.wait_for(lambda: len(self._events.get(job_id, [])) > after), timeout
                )
            except TimeoutError:
                return []
        return await self.events(job_id, after)

    async def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in JobStatus}
        for job in self._jobs.values():
            out[job.status.value] += 1
        return out
