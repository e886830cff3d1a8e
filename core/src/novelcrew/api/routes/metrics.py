"""``/metrics``: the default Prometheus registry in the text format."""

from __future__ import annotations

import structlog
from fastapi import APIRouter
from fastapi.responses import Response

import novelcrew.llm.metrics  # noqa: F401  (the model layer's counters, listed from the start)
from novelcrew import metrics
from novelcrew.api.deps import BackendDep
from novelcrew.api.errors import GUARDED

router = APIRouter(prefix="/metrics", tags=["operations"], responses=GUARDED)
log = structlog.get_logger(__name__)


@router.get("", response_class=Response,
            responses={200: {"description": "Prometheus text format",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}},
            summary="Prometheus metrics")
async def prometheus(backend: BackendDep) -> Response:
    try:
        metrics.set_backend_gauges(await backend.stats())
    except Exception as exc:  # the gauges keep their last values; /health reports the outage
        metrics.BACKEND_UP.set(0)
        log.warning("metrics_backend_stats_failed", error=f"{type(exc).__name__}: {exc}")
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
