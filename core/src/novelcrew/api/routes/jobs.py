"""``/jobs``: submit, list, read, follow (Server-Sent Events) and cancel jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sse_starlette import EventSourceResponse, ServerSentEvent

from novelcrew.api import idempotency, submission
from novelcrew.api.deps import (
    BackendDep,
    PluginsDep,
    SettingsDep,
    TenantDep,
    one_value_per_query_parameter,
    visible_job,
)
from novelcrew.api.errors import GUARDED, responses
from novelcrew.api.schemas import (
    JobCreate,
    JobPublic,
    JobsPublic,
    RetryRequest,
    sse_event_schema,
)
from novelcrew.backends.base import JobBackend
from novelcrew.errors import Conflict, InvalidInput
from novelcrew.estimate.models import Estimate
from novelcrew.jobs import JobStatus
from novelcrew.plugins import Plugins
from novelcrew.settings import Settings

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=GUARDED)

#: seconds between keep-alive comments on an idle event stream (``app.state.sse_keepalive``)
DEFAULT_KEEPALIVE = 15.0
#: the largest event seq a client may resume after (keeps numbers within SQLite's integers)
MAX_SEQ = 2**31 - 1


DRY_RUN: dict[int | str, dict[str, Any]] = {200: {
    "model": Estimate,
    "description": "`dry_run: true`: the estimate (calls, tokens and cost per model); no job "
                   "was created"}}


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic,
             responses={**DRY_RUN, **responses(400, 404, 413, 415, 422, 503),
                        409: {**responses(409)[409], "description": idempotency.IN_USE_DOC,
                              "headers": idempotency.IN_USE_HEADERS}},
             summary="Submit a job (or, with dry_run, estimate it)")
async def create_job(body: JobCreate, plugins: PluginsDep, settings: SettingsDep,
                     backend: BackendDep, tenant: TenantDep, response: Response,
                     idempotency_key: idempotency.IdempotencyKeyHeader) -> Any:
    """With an `Idempotency-Key`, a retry of the same request returns the same job (202, as
    it is now) instead of creating another; a dry run creates nothing and ignores the key."""
    if body.dry_run:
        return JSONResponse((await estimate(body, plugins, settings)).model_dump(mode="json"))
    job, _ = await submission.submit(body, plugins, settings, backend, tenant, response,
                                     idempotency_key=idempotency_key, route="/jobs")
    return JobPublic.of(job)


async def estimate(body: JobCreate, plugins: Plugins, settings: Settings) -> Estimate:
    """A dry run of the job ``body`` describes, after the checks a real submission passes."""
    from novelcrew.estimate import estimate_job
    from novelcrew.llm.prices import parse_prices

    job, _ = submission.prepare(body, plugins, settings)
    try:
        prices = parse_prices(job.config.get("prices"))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(f"config.prices: {exc}", {"prices": "invalid"}) from None
    return await estimate_job(job, plugins, settings, prices)


#: the routes that take query parameters refuse one given twice
SINGLE_VALUED = [Depends(one_value_per_query_parameter)]


@router.get("", response_model=JobsPublic, responses=responses(422),
            dependencies=SINGLE_VALUED, summary="List jobs, newest first")
async def list_jobs(
    backend: BackendDep,
    tenant: TenantDep,
    project_id: Annotated[str | None, Query(max_length=200)] = None,
    job_status: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    results: Annotated[bool, Query(
        description="false leaves out each job's result and partial: a list page's rows "
                    "without the plans (a novel's can be megabytes)")] = True,
) -> JobsPublic:
    jobs, count = await backend.list(project_id=project_id, status=job_status, limit=limit,
                                     offset=offset, tenant=tenant)
    rows = [JobPublic.of(job) for job in jobs]
    if not results:
        rows = [row.model_copy(update={"result": {}, "partial": {}}) for row in rows]
    return JobsPublic(data=rows, count=count)


@router.get("/{job_id}", response_model=JobPublic, responses=responses(404, 422),
            summary="One job")
async def get_job(job_id: str, backend: BackendDep, tenant: TenantDep) -> JobPublic:
    return JobPublic.of(await visible_job(backend, job_id, tenant))


@router.post("/{job_id}/cancel", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic,
             responses=responses(400, 404, 409, 413, 422),
             summary="Cancel a job: a queued one at once, a running one at its next step")
async def cancel_job(job_id: str, backend: BackendDep, tenant: TenantDep) -> JobPublic:
    await visible_job(backend, job_id, tenant)
    return JobPublic.of(await backend.cancel(job_id))


#: the states a job may be retried from
RETRYABLE = (JobStatus.failed, JobStatus.cancelled)


@router.post("/{job_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic,
             responses={**responses(400, 404, 413, 415, 422, 503), 409: {
                 **responses(409)[409], "headers": idempotency.IN_USE_HEADERS,
                 "description": "The job is queued, running or succeeded (`conflict`); or "
                                + idempotency.IN_USE_DOC}},
             summary="Run a failed or cancelled job again, as a new job")
async def retry_job(job_id: str, plugins: PluginsDep, settings: SettingsDep,
                    backend: BackendDep, tenant: TenantDep, response: Response,
                    idempotency_key: idempotency.IdempotencyKeyHeader,
                    request_body: Annotated[RetryRequest | None, Body(
                        description="None, or `{}`: a retry takes no overrides")] = None,
                    ) -> JobPublic:
    """A new job with the old one's crews, inputs, ids, config and webhook, checked as any
    submission is, so a client need not send a story of megabytes again (the record it reads
    does not echo the inputs). It takes no body (or `{}`): an override (another `config`...)
    is refused with 422 rather than ignored; to run the job differently, submit it anew with
    `POST /jobs`. Answers the failed run already got come from the response cache. The old
    job stays as it ended. With an `Idempotency-Key`, a repeat of this call returns the same
    new job instead of another."""
    old = await visible_job(backend, job_id, tenant)
    if old.status not in RETRYABLE:
        raise Conflict(f"job {job_id} is {old.status.value}: only a failed or cancelled job "
                       "is retried", {"job_id": job_id, "status": old.status.value})
    body = JobCreate(crews=old.crews, project_id=old.project_id, user_id=old.user_id,
                     inputs=old.inputs, config=old.config, webhook_url=old.webhook_url)
    job, _ = await submission.submit(body, plugins, settings, backend, old.tenant, response,
                                     idempotency_key=idempotency_key,
                                     route=f"/jobs/{job_id}/retry")
    return JobPublic.of(job)


EVENTS_DOC = """Server-Sent Events: every event of the job after `Last-Event-ID` (which
wins), or `?after=`, or from the start, then live ones; the stream closes after the terminal
event (`succeeded`, `failed` or `cancelled`). Each event has `id:` = its `seq`, `event:` = its
type and `data:` = the event as JSON (`JobEventPublic`). A server that shuts down ends the
stream with a `server_stopping` event instead (its `id` repeats the last seq sent): reconnect
with `Last-Event-ID` to resume without gaps. Idle streams get `: keep-alive` comments."""


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "An event stream; the schema describes each event",
              "content": {"text/event-stream": {"schema": sse_event_schema()}}},
        **responses(404, 422),
    },
    dependencies=SINGLE_VALUED,
    summary="Follow a job's events (Server-Sent Events)",
    description=EVENTS_DOC,
)
async def job_events(
    job_id: str,
    request: Request,
    backend: BackendDep,
    tenant: TenantDep,
    after: Annotated[int | None, Query(ge=0, le=MAX_SEQ,
                                       description="Resume after this seq.")] = None,
    last_event_id: Annotated[str | None, Header(max_length=50)] = None,
) -> EventSourceResponse:
    start = after or 0
    if last_event_id is not None and last_event_id.strip():
        try:
            start = int(last_event_id)
        except ValueError:
            raise InvalidInput("Last-Event-ID must be an event seq (an integer)",
                               {"last_event_id": last_event_id[:50]}) from None
        if not 0 <= start <= MAX_SEQ:
            raise InvalidInput(f"Last-Event-ID must be a seq from 0 to {MAX_SEQ}",
                               {"last_event_id": last_event_id[:50]})
    await visible_job(backend, job_id, tenant)  # 404 before the stream starts
    keepalive = float(getattr(request.app.state, "sse_keepalive", DEFAULT_KEEPALIVE))
    return EventSourceResponse(
        _event_stream(backend, job_id, start, keepalive),
        ping=keepalive,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _event_stream(backend: JobBackend, job_id: str, after: int,
                        keepalive: float) -> AsyncIterator[ServerSentEvent]:
    async for event in backend.stream(job_id, after=after, poll=keepalive):
        if event is None:
            continue  # the response's own ping task sends keep-alive comments
        yield ServerSentEvent(data=event.model_dump_json(), event=event.type, id=str(event.seq))
