"""A built-in ``job_event`` observer: one log line per step of a job's life.

``job_started``, ``crew_finished`` (each crew), ``job_retrying``, and one of ``job_succeeded``,
``job_failed`` or ``job_cancelled``, each with the job id and crews; the crew and job lines
with their duration, the final lines with the usage per model. (``job_submitted`` is the API's
line, written when it accepts a job.) Wherever the job runs (the API process on the inline
backend, a ``novelcrew worker`` on arq), its lines come from there.
"""

from __future__ import annotations

from typing import Any

import structlog

from novelcrew.hookspecs import hookimpl
from novelcrew.jobs import Job, JobEvent

log = structlog.get_logger("novelcrew.jobs")

#: what a job's ``error.message`` may add to a line, at most
MAX_ERROR_CHARS = 500


def _usage(job: Job) -> dict[str, dict[str, Any]]:
    return {model: used.model_dump(exclude_defaults=True) for model, used in job.usage.items()}


@hookimpl(trylast=True)
def job_event(event: JobEvent, job: Job) -> None:
    if event.type == "started":
        log.info("job_started", job_id=job.id, crews=job.crews, attempt=job.attempts,
                 project_id=job.project_id)
    elif event.type == "crew_finished":
        log.info("crew_finished", job_id=job.id, crews=job.crews, crew=event.crew,
                 seconds=job.timings.get(event.crew or ""), usage=_usage(job))
    elif event.type == "retrying":
        log.warning("job_retrying", job_id=job.id, crews=job.crews, crew=event.crew,
                    attempt=job.attempts, message=event.message[:MAX_ERROR_CHARS])
    elif event.type in ("succeeded", "failed", "cancelled"):
        fields: dict[str, Any] = {
            "job_id": job.id, "crews": job.crews,
            # milliseconds, as the crew lines (it printed 57.04382)
            "seconds": None if job.duration_seconds is None else round(job.duration_seconds, 3),
            "attempts": job.attempts, "usage": _usage(job), "timings": job.timings,
        }
        if job.error is not None:
            fields.update(error_type=job.error.type, crew=job.error.crew,
                          error=job.error.message[:MAX_ERROR_CHARS])
        (log.warning if event.type == "failed" else log.info)(f"job_{event.type}", **fields)
