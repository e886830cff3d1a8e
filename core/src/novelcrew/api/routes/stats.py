"""``/stats``: jobs by status, queue depth, uptime, crew durations and model usage."""

from __future__ import annotations

import math
import time

from fastapi import APIRouter, Request

from novelcrew.api.deps import BackendDep
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


@router.get("", response_model=StatsPublic, responses=responses(503),
            summary="Counts by status, queue depth, uptime, crew durations, usage per model")
async def stats(request: Request, backend: BackendDep) -> StatsPublic:
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
    return StatsPublic(
        backend=str(backend_stats.get("backend", backend.name)),
        counts=backend_stats.get("counts", {}),
        queue_depth=int(backend_stats.get("queue_depth", 0)),
        uptime_seconds=round(time.monotonic() - request.app.state.started_at, 3),
        crew_durations={
            crew: CrewTiming(count=len(values), p50=percentile(values, 0.5),
                             p95=percentile(values, 0.95))
            for crew, values in sorted(timings.items())
        },
        usage=usage,
        usage_jobs=len(recent),
        backend_stats=extra,
    )
