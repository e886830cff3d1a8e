"""Request and response models of the HTTP API (``JobCreate`` / ``JobPublic`` / ``JobsPublic``).

``JobPublic`` is the job record without its ``inputs``: a story can be megabytes, and the client
that submitted it has it already.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from novelcrew import jobs
from novelcrew.backends.base import SERVER_STOPPING
from novelcrew.jobs import (
    EventType,
    Job,
    JobErrorInfo,
    JobStatus,
    ModelUsage,
    PartialResults,
    Progress,
)

#: the largest integer id accepted: JavaScript's largest exact integer (Payload, which makes
#: the ids, is JavaScript; the API document's numbers are floats, exact up to this one)
MAX_INT_ID = 2**53 - 1


def _id_to_str(value: Any) -> Any:
    """Novel Movie's Payload ids are integers on SQLite; jobs keep every id as a string.

    Only what the schema admits is turned into a string (an integer from 0 to ``MAX_INT_ID``); a
    boolean, a negative or larger number stays as it is and fails as not a string (422)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT_ID:
        return str(value)
    return value


#: ``project_id`` / ``user_id``: a string, or a non-negative integer (kept as its string)
OptionalId = Annotated[
    Annotated[str, StringConstraints(max_length=200)] | None,
    BeforeValidator(_id_to_str),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 200},
                              {"type": "integer", "minimum": 0, "maximum": MAX_INT_ID},
                              {"type": "null"}]}),
]


WEBHOOK_PATTERN = r"^https?://"


# native -------------------------------------------------------------------------------------
class JobCreate(jobs.JobCreate):
    """A job to run: one crew or an ordered chain, for one project.

    An unknown field is refused (422): a misspelt ``input`` or ``webhook`` would otherwise be
    dropped without a word, and the job run without the story or the webhook it was sent."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "crews": ["architect", "director"],
        "project_id": "42",
        "user_id": "7",
        "inputs": {"story_text": "Maya opened the door..."},
        "webhook_url": "https://example.com/hooks/novelcrew",
    }]})

    crews: list[str] = Field(min_length=1, max_length=10,
                             description="Crew names, run in this order.")
    project_id: OptionalId = None
    user_id: OptionalId = None
    webhook_url: str | None = Field(None, max_length=2000, pattern=WEBHOOK_PATTERN,
                                    description="Called (signed) when the job ends.")
    dry_run: bool = Field(False, description="Answer 200 with the expected model calls, "
                          "tokens and cost per model instead of creating the job; nothing "
                          "is called, stored or written.")


class RetryRequest(BaseModel):
    """The body of ``POST /jobs/{id}/retry``: none, or ``{}``.

    A retry runs the job again exactly as it was submitted (its crews, inputs, ids, config
    and webhook); an override in the body is refused (422) rather than ignored, since a client
    that sent one would otherwise get a job it did not ask for. A job to run differently is a
    new submission: ``POST /jobs``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    @model_validator(mode="before")
    @classmethod
    def _nothing_to_override(cls, data: Any) -> Any:
        if isinstance(data, dict) and data:
            names = ", ".join(sorted(str(k)[:50] for k in data)[:10])
            raise PydanticCustomError(
                "retry_takes_no_overrides",
                "a retry runs the job again as it was submitted and takes no overrides "
                "(got: {names}); send no body, or submit a new job with POST /jobs to change "
                "its crews, inputs or config", {"names": names})
        return data


class JobPublic(BaseModel):
    """A job record as the API shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "01a24eca06c57bb49205a9daa03a66f8", "crews": ["architect", "director"],
        "project_id": "42", "user_id": "7", "status": "running",
        "progress": {"completed_tasks": 3, "total_tasks": 8, "current_crew": "director",
                     "current_task": "Plan scene 2"},
        "result": {"architect": {"title": "The Duchess Throws Last", "scenes": ["..."]}},
        "partial": {"director": {"scene": {"total": 5, "done": 1,
                                           "items": {"1": {"number": 1, "shots": ["..."]}}}}},
        "error": None, "attempts": 1,
        "usage": {"openrouter/anthropic/claude-sonnet-4": {
            "calls": 3, "failed_calls": 0, "prompt_tokens": 5200, "completion_tokens": 2100,
            "cost": 0.047}},
        "config": {"temperature": 0.3}, "webhook_url": None, "tenant": None,
        "cancel_requested": False, "created_at": "2026-12-07T04:36:32.581605Z",
        "started_at": "2026-12-07T04:36:32.600000Z", "finished_at": None, "events_count": 41,
        "timings": {"architect": 61.2},
        "models_used": ["openrouter/anthropic/claude-sonnet-4"] * 3}]})

    id: str
    crews: list[str]
    project_id: str | None
    user_id: str | None
    status: JobStatus
    progress: Progress
    result: dict[str, Any] = Field(description="Each finished crew's output, by crew name.")
    partial: dict[str, dict[str, PartialResults]] = Field(
        default_factory=dict,
        description="Pieces published while crews run, by crew then kind (chunk, scene): "
        "{total, items: {key: piece}}; e.g. partial.director.scene.items['3'].")
    error: JobErrorInfo | None
    attempts: int
    usage: dict[str, ModelUsage] = Field(description="Calls, tokens and cost per model id.")
    config: dict[str, Any]
    webhook_url: str | None
    tenant: str | None = Field(description="The tenant of the API key that submitted it.")
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    events_count: int
    timings: dict[str, float] = Field(description="Seconds each finished crew took.")
    models_used: list[str] = Field(description="The model id of each call, in order (capped).")

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        """The record's fields that this model shows (every one but ``inputs``)."""
        return cls.model_validate({name: getattr(job, name) for name in cls.model_fields})


EVENT_TYPES = ", ".join(f"`{t.value}`" for t in EventType)


class JobEventPublic(BaseModel):
    """One event of a job's log: the ``data:`` of each event of ``GET /jobs/{id}/events``."""

    seq: int = Field(ge=0, description="1-based, no gaps; also the SSE `id`. The "
                     f"`{SERVER_STOPPING}` event repeats the seq of the last event sent.")
    job_id: str
    type: str = Field(description=f"Also the SSE `event`: {EVENT_TYPES} (a plugin may add "
                      f"its own), or `{SERVER_STOPPING}`, sent (never stored) when the server "
                      "shuts down: reconnect with `Last-Event-ID` once it is back.")
    at: datetime
    crew: str | None = Field(description="The crew the event is about, if any.")
    message: str
    data: dict[str, Any] = Field(description="Depends on the type, e.g. `task` for task "
                                 "events, `error` for `failed`, `resume_after` for "
                                 f"`{SERVER_STOPPING}`.")


def sse_event_schema() -> dict[str, Any]:
    """One Server-Sent Event of the job stream, as OpenAPI 3.1 documents an event stream's
    ``schema`` (each event: its ``id``, ``event`` and ``data`` fields)."""
    return {
        "type": "object",
        "description": "One event: `id` (the seq), `event` (the type), `data` (a "
                       "JobEventPublic as JSON). Idle streams also get `: keep-alive` "
                       "comments, which are not events.",
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "event": {"type": "string"},
            "data": {"type": "string", "contentMediaType": "application/json",
                     "contentSchema": JobEventPublic.model_json_schema()},
            "retry": {"type": "integer"},
        },
        "required": ["id", "event", "data"],
    }


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
    runs_after: list[str] = Field(
        default_factory=list,
        description="Crews whose results this crew reads when they run before it in a chain.")


class CrewDetail(CrewPublic):
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    config_schema: dict[str, Any] | None = Field(
        None, description="The job config keys the crew reads (checked at submission); null "
        "when the crew declares none.")


class PluginPublic(BaseModel):
    name: str
    version: str | None
    hooks: list[str]
    crews: list[str]
    tools: list[str]
    models: list[str]
    exports: list[str] = Field(default_factory=list, description="Export formats it adds.")
    renderers: list[str] = Field(default_factory=list,
                                 description="Terminal renderers of crews' results it adds.")
    error: str | None
    warnings: list[str] = Field(
        description="Problems of the plugin that do not stop it loading, e.g. a crew that "
        "needs a tool no loaded plugin registers.")


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


class ExportPublic(BaseModel):
    """An export format: ``GET /jobs/{id}/export/{name}`` serves it."""

    name: str
    label: str = Field(description="A short label for a button or menu.")
    description: str
    media_type: str
    suffix: str = Field(description="The file is named `<job id><suffix>`.")
    plugin: str


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
    project_id: OptionalId = None
    user_id: OptionalId = None
    input_data: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    webhook_url: str | None = Field(None, max_length=2000, pattern=WEBHOOK_PATTERN)

    def crews(self) -> list[str]:
        return [name.strip() for name in self.crew_type.split(",") if name.strip()]


class CompatProgress(BaseModel):
    completed_tasks: int
    total_tasks: int
    current_crew: str | None
    current_task: str | None
    scenes_done: int | None = Field(
        None, description="Scenes the running (or last) scene-by-scene crew has finished.")
    scenes_total: int | None = Field(None, description="Scenes that crew will do.")
    scenes_crew: str | None = Field(None, description="The crew the scene counts are of.")
