"""The job record and its events: the data every backend stores and every API shows."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    """A UUID version 7 (RFC 9562) as 32 hex digits: the time in milliseconds, then 74
    random bits, so ids stay unguessable. Ids in creation order let a store's indexes grow
    at one end: with random ids each new job dirtied its own page in every index, and the
    SQLite store wrote three times as much per job."""
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70  # version 7
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    return raw.hex()


def as_project_id(value: Any) -> Any:
    """A crew input's ``project_id`` as a job keeps it (a ``mode="before"`` validator): an
    integer as its string (Novel Movie's Payload ids are integers on SQLite), a blank string as
    none; anything else as given, for the field to accept or refuse."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and not value.strip():
        return None
    return value


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled})


class EventType(StrEnum):
    queued = "queued"
    started = "started"
    crew_started = "crew_started"
    task_started = "task_started"
    task_finished = "task_finished"
    llm_call = "llm_call"
    progress = "progress"
    crew_finished = "crew_finished"
    warning = "warning"
    #: a finished piece of a running crew's result (a chunk analysis, a scene plan)
    partial = "partial"
    retrying = "retrying"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_EVENTS = frozenset({EventType.succeeded, EventType.failed, EventType.cancelled})


class JobEvent(BaseModel):
    """One entry of a job's ordered event log; ``seq`` starts at 1 and has no gaps."""

    seq: int
    job_id: str
    type: str
    at: datetime = Field(default_factory=utcnow)
    crew: str | None = None
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_EVENTS


class Progress(BaseModel):
    completed_tasks: int = 0
    total_tasks: int = 0
    current_crew: str | None = None
    current_task: str | None = None

    @property
    def fraction(self) -> float:
        return self.completed_tasks / self.total_tasks if self.total_tasks else 0.0


class ModelUsage(BaseModel):
    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    #: calls answered without asking the model (the response cache, the job's checkpoint of
    #: an earlier run, a replayed recording); not in ``calls``, tokens or cost
    cached_calls: int = 0
    #: tokens and cost those answers took when first asked: what reusing them saved
    saved_tokens: int = 0
    saved_cost: float | None = None

    def add(self, other: ModelUsage) -> None:
        self.calls += other.calls
        self.failed_calls += other.failed_calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        if other.cost is not None:
            self.cost = (self.cost or 0.0) + other.cost
        self.cached_calls += other.cached_calls
        self.saved_tokens += other.saved_tokens
        if other.saved_cost is not None:
            self.saved_cost = (self.saved_cost or 0.0) + other.saved_cost


class PartialResults(BaseModel):
    """The finished pieces of one kind of one crew (``Job.partial[crew][kind]``), by key."""

    #: how many pieces the crew expects, when it says (e.g. the scenes it plans)
    total: int | None = None
    #: how many it has published (distinct keys)
    done: int = 0
    #: each piece as the crew published it, by key (a scene number, a chunk number); emptied
    #: when the crew finishes, as its result holds them all (the record stays small)
    items: dict[str, dict[str, Any]] = Field(default_factory=dict)


class JobErrorInfo(BaseModel):
    type: str
    message: str
    crew: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class JobCreate(BaseModel):
    """What a client submits (``POST /jobs``)."""

    crews: list[str] = Field(min_length=1, max_length=10)
    project_id: str | None = Field(None, max_length=200)
    user_id: str | None = Field(None, max_length=200)
    inputs: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    webhook_url: str | None = Field(None, max_length=2000)


class Job(BaseModel):
    """A job record: one crew or an ordered chain of crews for one project."""

    #: a store keeps the inputs a Python caller gave, NaN and infinities too (the API refuses
    #: them), rather than writing them as null
    model_config = ConfigDict(ser_json_inf_nan="constants")

    id: str = Field(default_factory=new_job_id)
    crews: list[str]
    inputs: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    project_id: str | None = None
    user_id: str | None = None
    status: JobStatus = JobStatus.queued
    progress: Progress = Field(default_factory=Progress)
    result: dict[str, Any] = Field(default_factory=dict)
    error: JobErrorInfo | None = None
    attempts: int = 0
    usage: dict[str, ModelUsage] = Field(default_factory=dict)
    webhook_url: str | None = None
    #: the tenant whose API key submitted the job (``NOVELCREW_API_KEYS=key:tenant``); None
    #: for an admin key or a server without keys. Only that tenant's keys and admin keys see it.
    tenant: str | None = None
    cancel_requested: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    events_count: int = 0
    #: pieces of results published while crews run (``RunContext.publish_partial``), by crew
    #: then kind: ``partial["director"]["scene"].items["3"]`` is scene 3's plan
    partial: dict[str, dict[str, PartialResults]] = Field(default_factory=dict)
    #: seconds each finished crew took, keyed by crew name
    timings: dict[str, float] = Field(default_factory=dict)
    #: model id of every call, in order, capped (the full usage is in ``usage``)
    models_used: list[str] = Field(default_factory=list)

    @classmethod
    def from_create(cls, body: JobCreate) -> Job:
        return cls(
            crews=body.crews,
            inputs=body.inputs,
            config=body.config,
            project_id=body.project_id,
            user_id=body.user_id,
            webhook_url=body.webhook_url,
        )

    def fail_outside_runner(self, error: JobErrorInfo) -> JobErrorInfo:
        """End the record failed by its backend (a timeout, a job lost too often), naming the
        crew it was in unless ``error`` names one, so every backend stores the same error (the
        crews it finished keep their results). Returns the error as stored."""
        self.status = JobStatus.failed
        self.error = error if error.crew else error.model_copy(
            update={"crew": self.progress.current_crew})
        self.finished_at = utcnow()
        return self.error

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
