"""The ``job_event`` observer: keeps a Payload project in step with its jobs.

An update reads the project, computes the new ``workflowStatus`` (``workflow.py``) and PATCHes
it, within ``update_budget_seconds`` in all (retries with backoff included). Payload being down,
slow or answering errors never fails the job: after the budget is spent the observer raises
``PayloadSyncError``, which the job runner records on the job as a ``warning`` event.

Each update carries everything the job has finished so far, so one lost update is made good by
the next. While an outage is known (``outage``), later updates (of any job) get a single attempt
(at most two request timeouts) rather than the full budget each, so an outage delays a chain of
crews by about one budget, not one per event.

A job that fails or is cancelled puts the project back where it found it: each job remembers
the step and status the project had before its first update, and its ending restores them (the
crews it finished keep their steps), so Novel Movie never shows a project as still in
story-generation for a job that is over. Only a project still at the step the job moved it to
is restored: a later change (a user's, another job's) is left alone.

A restore that meets an outage (Payload unreachable, timing out, answering 5xx) cannot be
recorded on the job: its log closed with its ending (in every store). It is not left to the
server log alone: it is tried again in the background (``restore_retry_seconds``, waits
doubling from ``backoff_seconds`` to ``max_backoff_seconds``) until it goes through, and
meanwhile ``pending_restores()`` lists it (the Payload lines of ``GET /health`` show it). A
restore Payload refuses (a 4xx: a wrong key, a project deleted) is not tried again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from novelcrew_payload import api
from novelcrew_payload.config import PayloadConfig, payload_config
from novelcrew_payload.enums import ProjectStatus, WorkflowStep
from novelcrew_payload.errors import PayloadError, PayloadUnavailable
from novelcrew_payload.outage import forget_outages, known_outage
from novelcrew_payload.workflow import (
    Transition,
    cumulative,
    is_offline,
    resting_step,
    transition_for,
)

if TYPE_CHECKING:
    from novelcrew.jobs import Job, JobEvent
    from novelcrew.settings import Settings
    from novelcrew_payload.client import PayloadClient

log = logging.getLogger(__name__)

__all__ = ["PayloadSyncError", "PendingRestore", "forget_outages", "observe", "pending_restores",
           "restore_project", "sync_project"]

#: job endings that put the project back where the job found it
ENDINGS = ("failed", "cancelled")
#: the events the observer acts on (``started`` only to warn of an id Payload cannot have)
HEARD = frozenset({"started", "crew_started", "crew_finished", *ENDINGS})
_STEPS = {step.value for step in WorkflowStep}
#: jobs remembered at once (a job whose ending another process saw is never popped)
MOVED_CAP = 10_000


@dataclass
class Moved:
    """What one job did to its project: the state before its first update, and the step and
    status it set last (what an ending restores, and how it knows nobody moved it since)."""

    before_step: str | None
    before_status: str | None
    step: str
    status: str | None
    #: the ``lastActivity`` its last update set (a later one means someone moved it since)
    activity: str | None = None


_moved: dict[str, Moved] = {}


@dataclass
class PendingRestore:
    """A failed or cancelled job's restore that met an outage, tried again in the background."""

    job_id: str
    project_id: str
    #: Payload's REST root
    api_url: str
    #: "job failed in architect"
    what: str
    #: the step the project stays at until the restore goes through
    step: str
    #: when the first try failed (epoch seconds), how many tries failed, and the last error
    since: float
    tries: int
    error: str


#: restores tried again in the background, by job id, with their tasks
_pending: dict[str, tuple[PendingRestore, asyncio.Task[None]]] = {}


def pending_restores(api_url: str | None = None) -> list[PendingRestore]:
    """Restores waiting for Payload to come back (of the Payload at ``api_url``), oldest first."""
    for job_id, (_, task) in list(_pending.items()):
        if task.get_loop().is_closed():  # its loop ended without running it to its end
            del _pending[job_id]
    return sorted((pending for pending, _ in _pending.values()
                   if api_url is None or pending.api_url == api_url), key=lambda p: p.since)


class PayloadSyncError(PayloadError):
    """The project could not be brought in step with the job (the job itself goes on)."""

    error_type = "payload_sync_error"


def observe(event: JobEvent, job: Job, settings: Callable[[], Settings]
            ) -> Coroutine[Any, Any, None] | None:
    """The coroutine to run for ``event``, or None when it concerns no project update."""
    if not job.project_id:
        return None
    if event.type == "succeeded":
        _moved.pop(job.id, None)
        return None
    if event.type not in HEARD:
        return None
    config = payload_config(settings())
    if config is None:
        return None
    from novelcrew_payload.client import is_doc_id  # httpx: loaded to call Payload anyway

    if not is_doc_id(job.project_id):
        # one warning per attempt, not one per crew event, and nothing ever sent to Payload
        return _refuse(str(job.project_id)) if event.type == "started" else None
    finished = [crew for crew in job.crews if crew in job.result]
    offline = [crew for crew in finished if is_offline(job.result[crew])]
    if event.type in ENDINGS:
        return _ending(event, job, config, finished, offline)
    transition = transition_for(event.type, event.crew, job.result.get(event.crew or ""),
                                offline_before=any(crew != event.crew for crew in offline))
    if transition is None:
        return None
    transition = cumulative(transition, finished, offline)
    stores = transition.stores_scenes or transition.stores_storyboard
    output = job.result.get(event.crew or "") if stores else None
    what = f"{event.crew} {event.type.removeprefix('crew_')}"
    return sync_project(config, str(job.project_id), transition, what, output, job_id=job.id,
                        first_attempt=job.attempts <= 1)


async def _refuse(project_id: str) -> None:
    raise PayloadSyncError(
        f"project id {project_id[:40]!r} is not a Payload document id (an integer, an ObjectId "
        f"or a UUID), so this job leaves Payload alone; its result is in the job",
        details={"project_id": project_id[:200]})


def _ending(event: JobEvent, job: Job, config: PayloadConfig, finished: list[str],
            offline: list[str]) -> Coroutine[Any, Any, None] | None:
    """The restore for a failed or cancelled job, or None when it never moved the project."""
    moved = _moved.pop(job.id, None)
    crew = event.crew or job.progress.current_crew
    if moved is None:
        # its updates were made by another process (a worker that died): when its crew had
        # started, the project is at that crew's step, and its completed steps say where back
        started = transition_for("crew_started", crew)
        if started is None or job.progress.current_crew is None:
            return None
        expect, before_step, status = started.current_step.value, None, None
    else:
        expect, before_step = moved.step, moved.before_step
        status = moved.before_status if moved.status != moved.before_status else None
    # the crews it finished keep their steps: the project rests where the last one left it
    finishes = [t for name in finished if (t := transition_for(
        "crew_finished", name, job.result[name],
        offline_before=any(other != name for other in offline))) is not None]
    completes = cumulative(Transition(WorkflowStep.project_setup), finished, offline).completes
    target: WorkflowStep | None = None
    if finishes:
        target, status = finishes[-1].current_step, None  # its story is in progress now
    elif before_step in _STEPS:
        target = WorkflowStep(before_step)
    return _restore_or_retry(config, job.id, str(job.project_id), expect=expect, step=target,
                             completes=completes, status=status,
                             what=f"job {event.type}" + (f" in {crew}" if crew else ""),
                             activity=moved.activity if moved is not None else None)


async def _restore_or_retry(config: PayloadConfig, job_id: str, project_id: str, *,
                            expect: str, what: str, activity: str | None,
                            **restore: Any) -> None:
    """``restore_project``; when it meets an outage, try it again in the background (and
    still raise, so the runner logs ``observer_failed``). A try in the background also
    leaves alone a project updated since the job's last update (``activity``): by then
    another job may have moved it to the same step."""
    try:
        await restore_project(config, project_id, expect=expect, what=what, **restore)
    except PayloadSyncError as exc:
        if not isinstance(exc.__cause__, PayloadUnavailable) or \
                config.restore_retry_seconds <= 0 or job_id in _pending:
            raise
        pending = PendingRestore(job_id=job_id, project_id=project_id, api_url=config.api_url,
                                 what=what, step=expect, since=time.time(), tries=1,
                                 error=exc.message)
        task = asyncio.get_running_loop().create_task(
            _retry_restore(config, pending, expect=expect, activity=activity, **restore))
        _pending[job_id] = (pending, task)
        task.add_done_callback(lambda _: _pending.pop(job_id, None))
        log.warning("payload project %s: the restore after the %s is tried again in the "
                    "background for up to %.0fs (job %s)", project_id, what,
                    config.restore_retry_seconds, job_id)
        raise PayloadSyncError(
            f"{exc.message}; tried again in the background for up to "
            f"{config.restore_retry_seconds:.0f}s", status=exc.status, url=exc.url,
            details={**exc.details, "retrying": True}) from exc


async def _retry_restore(config: PayloadConfig, pending: PendingRestore, *, expect: str,
                         **restore: Any) -> None:
    """Try ``pending`` again until it goes through, Payload refuses it, or
    ``restore_retry_seconds`` have passed since the first try."""
    deadline = time.monotonic() + config.restore_retry_seconds
    wait = max(config.backoff_seconds, 0.05)
    try:
        while time.monotonic() + wait < deadline:
            await asyncio.sleep(wait)
            wait = min(wait * 2, max(config.max_backoff_seconds, 0.05))
            try:
                await restore_project(config, pending.project_id, expect=expect,
                                      what=pending.what, **restore)
            except PayloadSyncError as exc:
                pending.tries += 1
                pending.error = exc.message
                if not isinstance(exc.__cause__, PayloadUnavailable):
                    log.error("payload project %s: gave up putting it back after the %s "
                              "(job %s): %s", pending.project_id, pending.what,
                              pending.job_id, exc.message)
                    return
                continue
            log.info("payload project %s: put back after the %s on try %d (job %s)",
                     pending.project_id, pending.what, pending.tries + 1, pending.job_id)
            return
        log.error("payload project %s: gave up putting it back after the %s (job %s), "
                  "%d tries in %.0fs: %s; it stays at %s", pending.project_id, pending.what,
                  pending.job_id, pending.tries, config.restore_retry_seconds, pending.error,
                  expect)
    except asyncio.CancelledError:
        log.error("payload project %s: the process stopped before it was put back after "
                  "the %s (job %s); it stays at %s", pending.project_id, pending.what,
                  pending.job_id, expect)
        raise


def _attempts(config: PayloadConfig) -> tuple[float, int]:
    """The budget and retries of one update: a single attempt while an outage is known."""
    if known_outage(config.api_url) is not None:
        return min(config.update_budget_seconds, 2 * config.timeout_seconds), 0
    return config.update_budget_seconds, config.update_retries


@asynccontextmanager
async def _session(config: PayloadConfig) -> AsyncIterator[
        tuple[PayloadClient, Callable[[], float], int]]:
    """A client, the time left of one update's budget, and its retries (``_attempts``): the
    read and the write of an update share the budget."""
    budget, retries = _attempts(config)
    deadline = time.monotonic() + budget

    def left() -> float:
        return max(0.001, deadline - time.monotonic())

    from novelcrew_payload.client import PayloadClient  # httpx, only when used

    async with PayloadClient(config) as client:
        yield client, left, retries


async def sync_project(config: PayloadConfig, project_id: str, transition: Transition,
                       what: str, crew_output: Any = None, *, job_id: str | None = None,
                       first_attempt: bool = True) -> None:
    """Read the project, then PATCH its workflow; raises ``PayloadSyncError`` on failure.
    With ``job_id``, remember what the job did, for its ending to undo if it fails; a later
    attempt new to this process (another worker ran the first) cannot tell the project's step
    before the job from the one its first attempt set, so it remembers none."""
    try:
        async with _session(config) as (client, left, retries):
            project = await api.read_project(client, project_id, budget=left(),
                                             retries=retries)
            update = transition.update(project, crew_output=crew_output)
            doc = await api.update_project(client, project_id, update, budget=left(),
                                           retries=retries)
    except PayloadError as exc:
        raise PayloadSyncError(
            f"could not update Payload project {project_id} after {what}: {exc.message}",
            status=exc.status, url=exc.url,
            details={"project_id": project_id, "step": transition.current_step.value},
        ) from exc
    if job_id is not None:
        _remember(job_id, project, update, first_attempt)
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


def _remember(job_id: str, project: Mapping[str, Any], update: Mapping[str, Any],
              first_attempt: bool) -> None:
    workflow = project.get("workflowStatus")
    step = workflow.get("currentStep") if isinstance(workflow, Mapping) else None
    moved = _moved.get(job_id)
    if moved is None:
        if len(_moved) >= MOVED_CAP:
            del _moved[next(iter(_moved))]
        moved = _moved[job_id] = Moved(
            before_step=step if first_attempt else None,
            before_status=project.get("status") if first_attempt else None, step="",
            status=None)
    moved.step = update["workflowStatus"]["currentStep"]
    moved.status = update.get("status", project.get("status"))
    moved.activity = update["workflowStatus"].get("lastActivity")


async def restore_project(config: PayloadConfig, project_id: str, *, expect: str,
                          step: WorkflowStep | None, completes: tuple[WorkflowStep, ...] = (),
                          status: str | None = None, what: str = "job failed",
                          activity: str | None = None) -> None:
    """Put a failed job's project back at ``step`` (and ``status``), keeping the steps the job
    completed (``completes``), if it is still at ``expect``, where the job left it (and, with
    ``activity``, its ``lastActivity`` is still the one the job's last update set)."""
    try:
        async with _session(config) as (client, left, retries):
            project = await api.read_project(client, project_id, budget=left(),
                                             retries=retries)
            workflow = project.get("workflowStatus")
            now = workflow.get("currentStep") if isinstance(workflow, Mapping) else None
            if now != expect or (activity is not None and isinstance(workflow, Mapping)
                                 and workflow.get("lastActivity") != activity):
                log.info("payload project %s: %s; left at %s (moved since the job's update)",
                         project_id, what, now)
                return
            target = step or resting_step(workflow)
            update = Transition(target, completes=completes).update(project)
            if status in {member.value for member in ProjectStatus} \
                    and project.get("status") == ProjectStatus.story_in_progress.value:
                update["status"] = status
            await api.update_project(client, project_id, update, budget=left(),
                                     retries=retries)
    except PayloadError as exc:
        raise PayloadSyncError(
            f"could not put Payload project {project_id} back after the {what}: "
            f"{exc.message}; it stays at {expect}",
            status=exc.status, url=exc.url, details={"project_id": project_id, "step": expect},
        ) from exc
    log.info("payload project %s: %s -> back to %s", project_id, what, target.value)


def _stored(doc: Any, field: str) -> bool:
    content = doc.get("generatedContent") if isinstance(doc, dict) else None
    return isinstance(content, dict) and content.get(field) is not None
