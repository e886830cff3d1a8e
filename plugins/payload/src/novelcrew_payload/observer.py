"""The ``job_event`` observer: keeps a Payload project in step with its jobs.

An update reads the project, computes the new ``workflowStatus`` (``workflow.py``) and PATCHes
it, within ``update_budget_seconds`` in all (retries with backoff included). Payload being down,
slow or answering errors never fails the job: after the budget is spent the observer raises
``PayloadSyncError``, which the job runner records on the job as a ``warning`` event.

Each update carries everything the job has finished so far, so one lost update is made good by
the next. After Payload was found unavailable, later updates (of any job) get a single attempt
(at most two request timeouts) for ``OUTAGE_SECONDS`` rather than the full budget each, so an
outage delays a chain of crews by about one budget, not one per event.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from novelcrew_payload import api
from novelcrew_payload.config import PayloadConfig, payload_config
from novelcrew_payload.errors import PayloadError, PayloadUnavailable
from novelcrew_payload.workflow import Transition, cumulative, is_offline, transition_for

if TYPE_CHECKING:
    from novelcrew.jobs import Job, JobEvent
    from novelcrew.settings import Settings

log = logging.getLogger(__name__)

#: how long a Payload found unavailable gets one attempt per update instead of the full budget
OUTAGE_SECONDS = 60.0
_unavailable_since: dict[str, float] = {}


def forget_outages() -> None:
    """Forget which Payload servers were found unavailable (tests, after a config change)."""
    _unavailable_since.clear()


class PayloadSyncError(PayloadError):
    """The project could not be brought in step with the job (the job itself goes on)."""

    error_type = "payload_sync_error"


def observe(event: JobEvent, job: Job, settings: Callable[[], Settings]
            ) -> Coroutine[Any, Any, None] | None:
    """The coroutine to run for ``event``, or None when it concerns no project update."""
    if not job.project_id:
        return None
    finished = [crew for crew in job.crews if crew in job.result]
    offline = [crew for crew in finished if is_offline(job.result[crew])]
    transition = transition_for(event.type, event.crew, job.result.get(event.crew or ""),
                                offline_before=any(crew != event.crew for crew in offline))
    if transition is None:
        return None
    config = payload_config(settings())
    if config is None:
        return None
    transition = cumulative(transition, finished, offline)
    stores = transition.stores_scenes or transition.stores_storyboard
    output = job.result.get(event.crew or "") if stores else None
    what = f"{event.crew} {event.type.removeprefix('crew_')}"
    return sync_project(config, str(job.project_id), transition, what, output)


async def sync_project(config: PayloadConfig, project_id: str, transition: Transition,
                       what: str, crew_output: Any = None) -> None:
    """Read the project, then PATCH its workflow; raises ``PayloadSyncError`` on failure."""
    budget, retries = config.update_budget_seconds, config.update_retries
    since = _unavailable_since.get(config.api_url)
    if since is not None and time.monotonic() - since < OUTAGE_SECONDS:
        budget, retries = min(budget, 2 * config.timeout_seconds), 0
    deadline = time.monotonic() + budget

    def left() -> float:
        return max(0.001, deadline - time.monotonic())

    try:
        from novelcrew_payload.client import PayloadClient  # httpx, only when used

        async with PayloadClient(config) as client:
            project = await api.read_project(client, project_id, budget=left(),
                                             retries=retries)
            update = transition.update(project, crew_output=crew_output)
            doc = await api.update_project(client, project_id, update, budget=left(),
                                           retries=retries)
    except PayloadError as exc:
        if isinstance(exc, PayloadUnavailable):
            _unavailable_since.setdefault(config.api_url, time.monotonic())
        raise PayloadSyncError(
            f"could not update Payload project {project_id} after {what}: {exc.message}",
            status=exc.status, url=exc.url,
            details={"project_id": project_id, "step": transition.current_step.value},
        ) from exc
    _unavailable_since.pop(config.api_url, None)
    sent = update.get("generatedContent", {})
    board = sent.get("storyboard")
    noted = f" (storyboard stored with {_counted(board)})" \
        if isinstance(board, dict) and board.get("warnings") and _stored(doc, "storyboard") \
        else ""
    log.info("payload project %s: %s -> %s%s", project_id, what, transition.current_step.value,
             noted)
    if "storyboard" in sent and not _stored(doc, "storyboard"):
        # Payload answers 200 and drops a field its collection lacks: say so, never claim it
        raise PayloadSyncError(
            f"Payload project {project_id} has no generatedContent.storyboard field, so the "
            f"storyboard was not stored there (add a json field 'storyboard' to the "
            f"generatedContent group); the job's result holds it",
            details={"project_id": project_id, "step": transition.current_step.value})


def _counted(board: dict[str, Any]) -> str:
    """"6 warnings to check: 4 not_in_frame, 2 time_of_day_clash" (the kinds when given)."""
    kinds = Counter(str(d.get("kind")) for d in board.get("warning_details") or []
                    if isinstance(d, dict) and d.get("kind"))
    by_kind = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    return f"{len(board['warnings'])} warnings to check" + (f": {by_kind}" if by_kind else "")


def _stored(doc: Any, field: str) -> bool:
    content = doc.get("generatedContent") if isinstance(doc, dict) else None
    return isinstance(content, dict) and content.get(field) is not None
