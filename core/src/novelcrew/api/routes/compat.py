"""Novel Movie's existing calls, in their existing shapes.

``POST /crews/execute`` submits a job (``crew_type`` may be a chain, ``"architect,director"``);
``GET /crews/status/{job_id}`` answers with ``completed`` where the native API says
``succeeded``, and ``result`` is one crew's output, or a chain's outputs keyed by crew.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from novelcrew.api import submission
from novelcrew.api.deps import BackendDep, PluginsDep, SettingsDep
from novelcrew.api.errors import GUARDED, responses
from novelcrew.api.schemas import (
    CompatProgress,
    ExecuteRequest,
    ExecuteResponse,
    JobCreate,
    StatusResponse,
)
from novelcrew.errors import InvalidInput
from novelcrew.jobs import Job, JobStatus

router = APIRouter(prefix="/crews", tags=["novel-movie"], responses=GUARDED)

STATUS_NAMES = {JobStatus.succeeded: "completed"}


@router.post("/execute", status_code=status.HTTP_202_ACCEPTED,
             response_model=ExecuteResponse, responses=responses(400, 404, 413, 415, 422, 503),
             summary="Run a crew or a chain of crews (Novel Movie's call)")
async def execute(body: ExecuteRequest, plugins: PluginsDep, settings: SettingsDep,
                  backend: BackendDep) -> ExecuteResponse:
    crews = body.crews()
    if not crews or len(crews) > 10:
        raise InvalidInput("crew_type must name 1 to 10 crews, separated by commas",
                           {"crew_type": body.crew_type[:200]})
    create = JobCreate(
        crews=crews, project_id=body.project_id, user_id=body.user_id,
        inputs=body.input_data, config=body.config, webhook_url=body.webhook_url,
    )
    job, specs = await submission.submit(create, plugins, settings, backend)
    return ExecuteResponse(
        success=True,
        job_id=job.id,
        message=f"job queued: {' -> '.join(job.crews)}",
        estimated_time=sum(crew.estimated_seconds for crew in specs),
    )


def status_of(job: Job) -> StatusResponse:
    single = len(job.crews) == 1
    result: Any = job.result.get(job.crews[0]) if single else (job.result or None)
    progress = job.progress
    percent = 100.0 if job.status == JobStatus.succeeded else round(progress.fraction * 100, 1)
    return StatusResponse(
        job_id=job.id,
        status=STATUS_NAMES.get(job.status, job.status.value),  # type: ignore[arg-type]
        crew_type=",".join(job.crews),
        project_id=job.project_id,
        created_at=job.created_at,
        started_at=job.started_at,
        completed_at=job.finished_at,
        progress=percent,
        progress_detail=CompatProgress(
            completed_tasks=progress.completed_tasks, total_tasks=progress.total_tasks,
            current_crew=progress.current_crew, current_task=progress.current_task,
        ),
        result=result,
        error=job.error.message if job.error else None,
        error_type=job.error.type if job.error else None,
    )


@router.get("/status/{job_id}", response_model=StatusResponse,
            responses=responses(404, 422),
            summary="A job's status in Novel Movie's shape")
async def job_status(job_id: str, backend: BackendDep) -> StatusResponse:
    return status_of(await backend.get(job_id))
