"""The ``job_event`` observer: keeps a Payload project in step with its jobs.

An update reads the project, computes the new ``workflowStatus`` (``workflow.py``) and PATCHes
it, within ``update_budget_seconds`` in all (retries with backoff included). Payload being down,
slow or answering errors never fails the job: after the budget is spent the observer raises
``PayloadSyncError``, which the job runner records on the job as a ``warning`` event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from novelcrew_payload import api
from novelcrew_payload.client import PayloadClient
from novelcrew_payload.config import PayloadConfig, payload_config
from novelcrew_payload.errors import PayloadError, PayloadUnavailable
from novelcrew_payload.workflow import Transition, project_update, transition_for

if TYPE_CHECKING:
    from novelcrew.jobs import Job, JobEvent
    from novelcrew.settings import Settings

log = logging.getLogger(__name__)


class PayloadSyncError(PayloadError):
    """The project could not be brought in step with the job (the job itself goes on)."""

    error_type = "payload_sync_error"


def observe(event: JobEvent, job: Job, settings: Callable[[], Settings]
            ) -> Coroutine[Any, Any, None] | None:
    """The coroutine to run for ``event``, or None when it concerns no project update."""
    transition = transition_for(event.type, event.crew)
    if transition is None or not job.project_id:
        return None
    config = payload_config(settings())
    if config is None:
        return None
    output = job.result.get(event.crew or "") if transition.stores_scenes else None
    return sync_project(config, str(job.project_id), transition, event, output)


async def sync_project(config: PayloadConfig, project_id: str, transition: Transition,
                       event: JobEvent, crew_output: Any = None) -> None:
    """Read the project, then PATCH its workflow; raises ``PayloadSyncError`` on failure."""
    budget = config.update_budget_seconds
    deadline = time.monotonic() + budget
    what = f"{event.crew} {event.type.removeprefix('crew_')}"

    def left() -> float:
        return max(0.001, deadline - time.monotonic())

    try:
        async with PayloadClient(config) as client:
            project = await api.read_project(client, project_id, budget=left(),
                                             retries=config.update_retries)
            update = project_update(project, transition, crew_output=crew_output)
            await api.update_project(client, project_id, update, budget=left(),
                                     retries=config.update_retries)
    except PayloadError as exc:
        hint = " (gave up within the update budget)" if isinstance(exc, PayloadUnavailable) \
            else ""
        raise PayloadSyncError(
            f"could not update Payload project {project_id} after {what}: {exc.message}{hint}",
            status=exc.status, url=exc.url,
            details={"project_id": project_id, "step": transition.current_step.value},
        ) from exc
    log.info("payload project %s: %s -> %s", project_id, what, transition.current_step.value)
