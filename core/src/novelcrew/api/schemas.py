"""Request and response models of the HTTP API (``JobCreate`` / ``JobPublic`` / ``JobsPublic``).

``JobPublic`` is the job record without its ``inputs``: a story can be megabytes, and the client
that submitted it has it already.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from novelcrew import jobs
from novelcrew.jobs import Job, JobErrorInfo, JobStatus, ModelUsage, Progress

Id = str | int


def _id_to_str(value: Any) -> Any:
    """Novel Movie's Payload ids are integers on SQLite; jobs keep every id as a string."""
    if isinstance(value, bool):
        return value
    return str(value) if isinstance(value, int) else value


WEBHOOK_PATTERN = r"^https?://"


# native -------------------------------------------------------------------------------------
class JobCreate(jobs.JobCreate):
    """A job to run: one crew or an ordered chain, for one project."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "crews": ["architect", "director"],
        "project_id": "42",
        "user_id": "7",
        "inputs": {"story_text": "Maya opened the door..."},
        "webhook_url": "https://example.com/hooks/novelcrew",
    }]})

    crews: list[str] = Field(min_length=1, max_length=10,
                             description="Crew names, run in this order.")
    webhook_url: str | None = Field(None, max_length=2000, pattern=WEBHOOK_PATTERN,
                                    description="Called (signed) on the job's events.")

    @field_validator("project_id", "user_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_to_str(value)


class JobPublic(BaseModel):
    """A job record as the API shows it."""

    id: str
    crews: list[str]
    project_id: str | None
    user_id: str | None
    status: JobStatus
    progress: Progress
    result: dict[str, Any] = Field(description="Each finished crew's output, by crew name.")
    error: JobErrorInfo | None
    attempts: int
    usage: dict[str, ModelUsage] = Field(description="Calls, tokens and cost per model id.")
    config: dict[str, Any]
    webhook_url: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    events_count: int
    timings: dict[str, float] = Field(description="Seconds each finished crew took.")
    models_used: list[str] = Field(description="The model id of each call, in order (capped).")

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        return cls(
            id=job.id, crews=job.crews, project_id=job.project_id, user_id=job.user_id,
            status=job.status, progress=job.progress, result=job.result, error=job.error,
            attempts=job.attempts, usage=job.usage, config=job.config,
            webhook_url=job.webhook_url, cancel_requested=job.cancel_requested,
            created_at=job.created_at, started_at=job.started_at,
            finished_at=job.finished_at, events_count=job.events_count, timings=job.timings,
            models_used=job.models_used,
        )


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int = Field(description="How many jobs match the filters in all.")


class CrewPublic(BaseModel):
    name: str
    version: str
    description: str
    plugin: str
    tools: list[str]
    optional_tools: list[str]
    agents: list[str]
    estimated_seconds: int
    missing_tools: list[str] = Field(description="Required tools no loaded plugin provides.")


class CrewDetail(CrewPublic):
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class PluginPublic(BaseModel):
    name: str
    version: str | None
    hooks: list[str]
    crews: list[str]
    tools: list[str]
    models: list[str]
    error: str | None


class ToolPublic(BaseModel):
    name: str
    description: str
    plugin: str
    has_health_check: bool


class ModelPublic(BaseModel):
    provider: str
    description: str
    plugin: str
    examples: list[str]


class CrewTiming(BaseModel):
    count: int
    p50: float
    p95: float


class StatsPublic(BaseModel):
    backend: str
    counts: dict[str, int] = Field(description="Jobs per status.")
    queue_depth: int
    uptime_seconds: float
    crew_durations: dict[str, CrewTiming] = Field(description="Seconds per finished crew run.")
    usage: dict[str, ModelUsage] = Field(description="Usage per model over recent jobs.")
    usage_jobs: int = Field(description="How many recent jobs the usage totals cover.")
    backend_stats: dict[str, Any] = Field(description="Whatever else the backend reports.")


# Novel Movie's calls ------------------------------------------------------------------------
class ExecuteRequest(BaseModel):
    """``POST /crews/execute``: Novel Movie's call; ``crew_type`` may be a chain ``"a,b"``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "crew_type": "architect,director",
        "project_id": "42",
        "user_id": "7",
        "input_data": {"story_text": "Maya opened the door...", "preferences": {}},
        "config": {},
    }]})

    crew_type: str = Field(min_length=1, max_length=500)
    project_id: str | None = Field(None, max_length=200)
    user_id: str | None = Field(None, max_length=200)
    input_data: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    webhook_url: str | None = Field(None, max_length=2000, pattern=WEBHOOK_PATTERN)

    @field_validator("project_id", "user_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_to_str(value)

    def crews(self) -> list[str]:
        return [name.strip() for name in self.crew_type.split(",") if name.strip()]


class ExecuteResponse(BaseModel):
    success: bool
    job_id: str
    message: str
    estimated_time: int = Field(description="Seconds the crews usually take.")


class CompatProgress(BaseModel):
    completed_tasks: int
    total_tasks: int
    current_crew: str | None
    current_task: str | None


class StatusResponse(BaseModel):
    """``GET /crews/status/{job_id}``: ``succeeded`` shows as ``completed``."""

    job_id: str
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    crew_type: str
    project_id: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    progress: float = Field(description="Percentage of tasks done, 0 to 100.")
    progress_detail: CompatProgress
    result: Any = Field(description="A single crew's output, or a chain's outputs by crew.")
    error: str | None
    error_type: str | None
