"""``/exports`` and ``/jobs/{id}/export/{format}``: a finished job as a production file, in
the formats plugins register (``register_exports``; novelcrew-exports adds the story formats)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response

from novelcrew import introspect
from novelcrew.api.deps import BackendDep, PluginsDep, TenantDep, visible_job
from novelcrew.api.errors import GUARDED, responses
from novelcrew.api.schemas import ExportPublic
from novelcrew.errors import Conflict, ExportUnavailable, PluginError

router = APIRouter(prefix="/jobs", tags=["exports"], responses=GUARDED)
formats_router = APIRouter(prefix="/exports", tags=["exports"], responses=GUARDED)
log = logging.getLogger(__name__)


@formats_router.get(
    "", response_model=list[ExportPublic],
    summary="Export formats, with the plugin that provides each",
    description="Empty when no plugin registers a format (install novelcrew-exports for the "
                "screenplay, CSV sheets and production report).",
)
async def list_exports(plugins: PluginsDep) -> list[dict[str, Any]]:
    return introspect.export_list(plugins)


@router.get(
    "/{job_id}/export/{fmt}",
    responses={200: {"description": "The file", "content": {
        "text/plain": {}, "text/csv": {}, "text/html": {}}}, **responses(404, 409, 422)},
    summary="Download a job's results as a production file",
    description="`fmt` is one of the formats `GET /exports` lists. 404 for a format no plugin "
                "registers; 409 when the job has nothing the format is made of yet (e.g. a "
                "shot list before the director ran).",
)
async def export_job(job_id: str, fmt: str, backend: BackendDep, plugins: PluginsDep,
                     tenant: TenantDep) -> Response:
    spec = plugins.registry.export(fmt)
    plugin = plugins.registry.exports[fmt].plugin
    job = await visible_job(backend, job_id, tenant)
    record = job.model_dump(mode="json", exclude={"inputs"})
    try:
        body = spec.file(record)
    except ExportUnavailable as exc:
        # the plugin says what the format lacks ("run the director crew"); a job still queued
        # or running may be about to have it
        pending = "" if job.status.terminal else (
            f" (the job is {job.status.value}: try again when it has finished)")
        raise Conflict(f"{exc}{pending}", {"job_id": job_id, "format": fmt,
                                          "status": job.status.value}) from None
    except Exception as exc:  # a bug in the plugin's render: say whose, log where
        log.exception("export %r of plugin %r failed on job %s", fmt, plugin, job_id)
        problem = f"{type(exc).__name__}: {str(exc)[:300]}"
    else:
        if isinstance(body, bytes):
            return Response(body, media_type=spec.media_type, headers={
                "Content-Disposition": f'attachment; filename="{job_id}{spec.suffix}"'})
        problem = f"its render returned {type(body).__name__}, not str or bytes"
    raise PluginError(f"export {fmt!r} of plugin {plugin!r} failed: {problem}",
                      {"job_id": job_id, "format": fmt, "plugin": plugin})
