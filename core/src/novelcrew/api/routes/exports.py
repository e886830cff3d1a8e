"""``/jobs/{id}/export/{format}``: a finished job as a production file (see ``exports``)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from novelcrew.api.deps import BackendDep, TenantDep, visible_job
from novelcrew.api.errors import GUARDED, responses
from novelcrew.errors import Conflict, NotFound
from novelcrew.exports import FORMATS, ExportUnavailable, export

router = APIRouter(prefix="/jobs", tags=["exports"], responses=GUARDED)

FORMATS_DOC = ", ".join(f"`{name}` ({fmt.description})" for name, fmt in FORMATS.items())


@router.get(
    "/{job_id}/export/{fmt}",
    responses={200: {"description": "The file", "content": {
        "text/plain": {}, "text/csv": {}, "text/html": {}}}, **responses(404, 409, 422)},
    summary="Download a job's results as a production file",
    description=f"Formats: {FORMATS_DOC}. 409 when the job has nothing the format is made "
                "of yet (e.g. a shot list before the director ran).",
)
async def export_job(job_id: str, fmt: str, backend: BackendDep,
                     tenant: TenantDep) -> Response:
    if fmt not in FORMATS:
        raise NotFound(f"unknown export format {fmt!r}", {"formats": list(FORMATS)})
    job = await visible_job(backend, job_id, tenant)
    record = job.model_dump(mode="json", exclude={"inputs"})
    try:
        spec, body = export(record, fmt)
    except ExportUnavailable as exc:
        raise Conflict(str(exc), {"job_id": job_id, "format": fmt,
                                  "status": job.status.value}) from None
    filename = f"{job_id}{spec.suffix}"
    return Response(body, media_type=spec.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
