"""``/stats``: the original server's figures (active, completed, failed and total jobs, uptime,
settings), then jobs by status, queue depth, crew durations and model usage."""

from __future__ import annotations

import math
import time

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from novelcrew.api.deps import BackendDep, SettingsDep
from novelcrew.api.errors import GUARDED, responses
from novelcrew.api.schemas import CrewTiming, StatsPublic
from novelcrew.errors import BackendUnavailable
from novelcrew.jobs import ModelUsage

router = APIRouter(prefix="/stats", tags=["operations"], responses=GUARDED)

#: how many recent jobs the usage totals add up
USAGE_WINDOW = 1000


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 3)


class StatsSettings(BaseModel):
    workers: int = Field(description="Jobs run at once per process (NOVELCREW_CONCURRENCY).")
    log_level: str
    environment: str
    backend: str


class StatsReport(StatsPublic):
    """The original server's figures first, then ours."""

    active_jobs: int = Field(description="Queued and running.")
    completed_jobs: int = Field(description="Succeeded.")
    failed_jobs: int = Field(description="Failed or cancelled.")
    total_jobs: int
    uptime: float = Field(description="Seconds since the server started.")
    settings: StatsSettings


@router.get("", response_model=StatsReport, responses=responses(503),
            summary="Counts by status, queue depth, uptime, crew durations, usage per model")
async def stats(request: Request, backend: BackendDep, settings: SettingsDep) -> StatsReport:
    try:
        backend_stats = await backend.stats()
        timings = await backend.store.crew_timings()
        recent, _ = await backend.list(limit=USAGE_WINDOW)
    except Exception as exc:
        raise BackendUnavailable(f"the job backend did not answer: {type(exc).__name__}",
                                 {"backend": backend.name}) from exc
    usage: dict[str, ModelUsage] = {}
    for job in recent:
        for model, used in job.usage.items():
            usage.setdefault(model, ModelUsage()).add(used)
    extra = {k: v for k, v in backend_stats.items()
             if k not in ("backend", "counts", "queue_depth")}
    counts: dict[str, int] = {k: int(v) for k, v in backend_stats.get("counts", {}).items()}
    uptime = round(time.monotonic() - request.app.state.started_at, 3)
    return StatsReport(
        active_jobs=counts.get("queued", 0) + counts.get("running", 0),
        completed_jobs=counts.get("succeeded", 0),
        failed_jobs=counts.get("failed", 0) + counts.get("cancelled", 0),
        total_jobs=sum(counts.values()),
        uptime=float(uptime),
        settings=StatsSettings(workers=settings.concurrency, log_level=settings.log_level,
                               environment=settings.environment, backend=backend.name),
        backend=str(backend_stats.get("backend", backend.name)),
        counts=counts,
        queue_depth=int(backend_stats.get("queue_depth", 0)),
        uptime_seconds=uptime,
        crew_durations={
            crew: CrewTiming(count=len(values), p50=percentile(values, 0.5),
                             p95=percentile(values, 0.95))
            for crew, values in sorted(timings.items())
        },
        usage=usage,
        usage_jobs=len(recent),
        backend_stats=extra,
    )
