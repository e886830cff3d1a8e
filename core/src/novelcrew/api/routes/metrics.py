"""``/metrics``: the default Prometheus registry in the text format; under ``serve --workers N``
the sum of every API process's series (``app.state.metrics_dir``, ``metrics.render``)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
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
async def prometheus(request: Request, backend: BackendDep) -> Response:
    try:
        metrics.set_backend_gauges(await backend.stats())
    except Exception as exc:  # the gauges keep their last values; /health reports the outage
        metrics.mark_backend_down()
        log.warning("metrics_backend_stats_failed", error=f"{type(exc).__name__}: {exc}")
    body, content_type = metrics.render(request.app.state.metrics_dir)
    return Response(body, media_type=content_type)
