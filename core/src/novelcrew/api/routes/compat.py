"""Novel Movie's existing calls, in the original server's exact wire contract (docs/api.md).

``POST /crews/execute`` answers **200** ``{success, job_id, message, estimated_time (a human
string), result: null, error: null}``; ``GET /crews/status/{job_id}`` answers ``completed``
where the native API says ``succeeded`` and ``failed`` (with an error saying so) where it says
``cancelled``, with epoch-second floats for times and an integer percentage; ``GET /crews/list``
lists the crews. Errors on these routes keep the original's shape ``{success: false, job_id:
"", error: "<message>"}`` (our ``error_type`` and ``details`` ride along), rendered from the
app's own error handlers by ``CompatRoute``, so the status codes are the native API's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from novelcrew.api import idempotency, submission
from novelcrew.api.deps import BackendDep, PluginsDep, SettingsDep, TenantDep, visible_job
from novelcrew.api.errors import CompatError, compat_shaped, responses
from novelcrew.api.schemas import CompatProgress, ExecuteRequest, JobCreate
from novelcrew.errors import InvalidInput, JobNotFound
from novelcrew.jobs import Job, JobStatus
from novelcrew.llm.sampling import MAX_ANSWER_TOKENS
from novelcrew.settings import Settings
from novelcrew.specs import Crew

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class CompatRoute(APIRoute):
    """A route whose errors keep the original server's shape.

    The app's exception handlers (``api/errors.py``, the one place errors become responses)
    render the error as usual; its native envelope is then re-shaped, keeping status and
    headers (``Retry-After``, ``Allow``, ``WWW-Authenticate``)."""

    def get_route_handler(self) -> Handler:
        return _compat(super().get_route_handler())


def _compat(handler: Handler) -> Handler:
    async def compat_handler(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:
            native = await _native_error(request, exc)
            if native is None:
                raise
            return compat_shaped(native)

    return compat_handler


async def _native_error(request: Request, exc: Exception) -> Response | None:
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            response = handler(request, exc)
            if not isinstance(response, Response):
                response = await response
            return response  # type: ignore[no-any-return]
    return None


# the request guard (API key, rate limit) runs as a dependency of each route, so its 401 and
# 429 are re-shaped too
router = APIRouter(prefix="/crews", tags=["novel-movie"], route_class=CompatRoute,
                   responses=responses(401, 429, model=CompatError))


class ExecuteConfig(BaseModel):
    """``config`` of ``POST /crews/execute``: each field is honoured for this job or the
    request is refused (422); ``verbose`` is accepted and ignored (logging is the server's)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, min_length=1, max_length=200,
                              description="Model id for every agent of the job, e.g. offline.")
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int | None = Field(None, ge=1, le=MAX_ANSWER_TOKENS,
                                   description="Most tokens per model answer.")
    verbose: bool | None = Field(None, description="Accepted and ignored.")
    cache: bool | None = Field(None, description="false: this job's model calls skip the "
                               "response cache.")
    max_cost_usd: float | None = Field(None, ge=0, description="Stop the job once its model "
                                       "calls cost this much (USD).")
    max_tokens_total: int | None = Field(None, ge=1, description="Stop the job once its model "
                                         "calls used this many tokens.")

    @field_validator("temperature", "max_tokens", "max_cost_usd", "max_tokens_total",
                     mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        """Lax pydantic takes ``true`` as 1: ``max_tokens: true`` would cap every answer at one
        token. Numbers and numeric text (``"4000"``, as the original server took) pass."""
        if isinstance(value, bool):
            raise PydanticCustomError("number_type", "Input should be a number, not a boolean")
        return value

    def job_config(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"verbose"})


class ExecuteBody(ExecuteRequest):
    config: ExecuteConfig = Field(default_factory=ExecuteConfig)  # type: ignore[assignment]


class ExecuteResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "success": True, "job_id": "01a24eca06c57bb49205a9daa03a66f8",
        "message": "job queued: architect -> director", "estimated_time": "7-14 minutes",
        "estimated_seconds": 420, "result": None, "error": None}]})

    success: bool
    job_id: str
    message: str
    estimated_time: str | None = Field(description="A human estimate, e.g. '2-5 minutes'.")
    estimated_seconds: int = Field(description="What the crews usually take, in seconds.")
    result: None = None
    error: None = None


class StatusResponse(BaseModel):
    """``GET /crews/status/{job_id}``: the original's fields and types, plus extras."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "01a24eca06c57bb49205a9daa03a66f8", "status": "running",
        "crew_type": "architect,director", "project_id": "42", "created_at": 1796235223.63,
        "started_at": 1796235223.65, "completed_at": None, "progress": 37, "result": None,
        "error": None, "error_type": None, "cancelled": False,
        "progress_detail": {"completed_tasks": 3, "total_tasks": 8, "current_crew": "architect",
                            "current_task": "Extract characters", "scenes_done": None,
                            "scenes_total": None, "scenes_crew": None}}]})

    job_id: str
    status: Literal["queued", "running", "completed", "failed"]
    crew_type: str
    project_id: str | None
    created_at: float = Field(description="Epoch seconds.")
    started_at: float | None
    completed_at: float | None
    progress: int = Field(ge=0, le=100, description="Percentage of tasks done.")
    result: dict[str, Any] | None = Field(
        description="When completed: a single crew's output, or a chain's outputs by crew.")
    error: str | None
    error_type: str | None = None
    cancelled: bool = Field(False, description="Failed because it was cancelled.")
    progress_detail: CompatProgress


class CrewListing(BaseModel):
    name: str
    description: str
    version: str
    plugin: str
    required_inputs: list[str]
    tools: list[str]
    missing_tools: list[str]
    estimated_time: str


class CrewList(BaseModel):
    success: bool = True
    crews: list[CrewListing]
    total: int


def human_estimate(seconds: float) -> str:
    """``"under a minute"``, ``"about 1-2 minutes"``...: what the original showed its users."""
    if seconds < 60:
        return "under a minute"
    low = max(1, math.floor(seconds / 60))
    high = max(low + 1, math.ceil(seconds * 2 / 60))
    return f"{low}-{high} minutes"


def offline_only(settings: Settings, crews: list[str]) -> bool:
    """Every model the crews can route to is the ``offline`` stand-in, which answers in
    milliseconds: the crews' usual minutes (measured on real models) would mislead."""
    models = {settings.model_for(crew) for crew in crews}
    models |= set(settings.agent_models.values()) | set(settings.fallback_models)
    return models == {"offline"}


@router.post("/execute", response_model=ExecuteResponse,
             responses={**responses(400, 404, 413, 415, 422, 503, model=CompatError),
                        409: {"model": CompatError, "description": idempotency.IN_USE_DOC,
                              "headers": idempotency.IN_USE_HEADERS}},
             summary="Run a crew or a chain of crews (Novel Movie's call)")
async def execute(body: ExecuteBody, plugins: PluginsDep, settings: SettingsDep,
                  backend: BackendDep, tenant: TenantDep, response: Response,
                  idempotency_key: idempotency.IdempotencyKeyHeader) -> ExecuteResponse:
    """With an `Idempotency-Key`, a retry of the same request answers as the first did (the
    same job id) instead of creating another job. Without it, nothing changes."""
    crews = body.crews()
    if not crews or len(crews) > 10:
        raise InvalidInput("crew_type must name 1 to 10 crews, separated by commas",
                           {"crew_type": body.crew_type[:200]})
    create = JobCreate(
        crews=crews, project_id=body.project_id, user_id=body.user_id,
        inputs=body.input_data, config=body.config.job_config(), webhook_url=body.webhook_url,
    )
    job, specs = await submission.submit(create, plugins, settings, backend, tenant, response,
                                         idempotency_key=idempotency_key,
                                         route="/crews/execute")
    seconds = sum(crew.estimated_seconds for crew in specs)
    if offline_only(settings, job.crews):
        seconds = min(seconds, 10 * len(specs))
    return ExecuteResponse(success=True, job_id=job.id,
                           message=f"job queued: {' -> '.join(job.crews)}",
                           estimated_time=human_estimate(seconds), estimated_seconds=seconds)


@router.api_route("/execute", methods=["GET", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def execute_wrong_method() -> None:
    """Without it, ``GET /crews/execute`` would ask for a crew named ``execute``."""
    raise StarletteHTTPException(405, "use POST /crews/execute", headers={"Allow": "POST"})


@router.get("/status", include_in_schema=False)
@router.get("/status/", include_in_schema=False)
async def status_without_id() -> None:
    """A client whose job id came out empty would otherwise be redirected to
    ``/crews/status``, which asks for a crew named ``status`` ("unknown crew")."""
    raise JobNotFound("no job id given: ask GET /crews/status/{job_id} with the job_id "
                      "POST /crews/execute answered", {"job_id": ""})


def _pieces(job: Job) -> tuple[str | None, Any, float | None]:
    """The crew whose pieces measure progress now, its scenes, and how far it is (0-1)."""
    current = job.progress.current_crew
    scenes_of = next((c for c in [current, *reversed(job.crews)]
                      if c and "scene" in job.partial.get(c, {})), None)
    scenes = job.partial[scenes_of]["scene"] if scenes_of else None
    fraction = None
    if current and current not in job.result:
        for kind in ("scene", "chunk"):
            pieces = job.partial.get(current, {}).get(kind)
            if pieces is not None and pieces.total:
                fraction = min(1.0, pieces.done / pieces.total)
                break
    return scenes_of, scenes, fraction


def percent_done(job: Job) -> int:
    """Tasks done, or, while a crew publishes scenes or chunks with a total, the finished
    crews plus that crew's share of its scenes (chunks): Novel Movie sees scenes move it."""
    if job.status == JobStatus.succeeded:
        return 100
    _, _, fraction = _pieces(job)
    if fraction is None:
        return min(100, max(0, round(job.progress.fraction * 100)))
    done = sum(1 for crew in job.crews if crew in job.result)
    return min(99, round(100 * (done + fraction) / max(1, len(job.crews))))


def status_of(job: Job) -> StatusResponse:
    progress = job.progress
    completed = job.status == JobStatus.succeeded
    scenes_crew, scenes, _ = _pieces(job)
    result: dict[str, Any] | None = None
    if completed:
        result = job.result.get(job.crews[0]) if len(job.crews) == 1 else dict(job.result)
    error = job.error.message if job.error else None
    if job.status == JobStatus.cancelled:
        error = f"the job was cancelled{f': {error}' if error else ''}"
    return StatusResponse(
        job_id=job.id,
        status=("completed" if completed else "failed"
                if job.status in (JobStatus.failed, JobStatus.cancelled) else job.status.value),
        crew_type=",".join(job.crews),
        project_id=job.project_id,
        created_at=job.created_at.timestamp(),
        started_at=job.started_at.timestamp() if job.started_at else None,
        completed_at=job.finished_at.timestamp() if job.finished_at else None,
        progress=percent_done(job),
        progress_detail=CompatProgress(
            completed_tasks=progress.completed_tasks, total_tasks=progress.total_tasks,
            current_crew=progress.current_crew, current_task=progress.current_task,
            scenes_done=scenes.done if scenes else None,
            scenes_total=scenes.total if scenes else None, scenes_crew=scenes_crew,
        ),
        result=result,
        error=error,
        error_type=job.error.type if job.error else None,
        cancelled=job.status == JobStatus.cancelled,
    )


@router.get("/status/{job_id}", response_model=StatusResponse,
            responses=responses(404, 422, 503, model=CompatError),
            summary="A job's status in Novel Movie's shape")
async def job_status(job_id: str, backend: BackendDep, tenant: TenantDep) -> StatusResponse:
    return status_of(await visible_job(backend, job_id, tenant))


def _listing(crew: Crew, plugin: str, missing: list[str]) -> CrewListing:
    schema = crew.input_model.model_json_schema()
    return CrewListing(
        name=crew.name, description=crew.description, version=crew.version, plugin=plugin,
        required_inputs=[name for name in schema.get("properties", {})
                         if name in schema.get("required", [])],
        tools=list(crew.tools), missing_tools=missing,
        estimated_time=human_estimate(crew.estimated_seconds),
    )


@router.get("/list", response_model=CrewList,
            summary="The installed crews: what each does and needs (Novel Movie's call)")
async def list_crews(plugins: PluginsDep) -> CrewList:
    registry = plugins.registry
    crews = [_listing(entry.spec, entry.plugin, registry.missing_tools(entry.spec))
             for _, entry in sorted(registry.crews.items())]
    return CrewList(crews=crews, total=len(crews))
