"""Running one job: its crews in order, each stage's output kept under the crew's name.

Every backend runs jobs through ``JobRunner``; only where the record lives and who calls
``run`` differ. A failure is stored on the job as data (``JobErrorInfo``), never re-raised at
whoever reads the job. A chain re-run after a crash resumes at the first crew without a result.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import BaseModel, ValidationError

from novelcrew.context import RunContext, ToolContext, current_context
from novelcrew.crewai.env import prepare as prepare_crewai
from novelcrew.errors import (
    InvalidInput,
    JobCancelled,
    NovelcrewError,
    ToolMissing,
    TransientError,
    describe_error,
)
from novelcrew.jobs import Job, JobErrorInfo, JobEvent, JobStatus, PartialResults, utcnow
from novelcrew.llm.sampling import config_errors

if TYPE_CHECKING:
    from novelcrew.backends.base import JobStore
    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings
    from novelcrew.specs import Crew

log = structlog.get_logger(__name__)
_stdlog = logging.getLogger(__name__)

OBSERVER_TIMEOUT = 60.0
#: a running job's record is written at most this often for progress and partial results
#: (their events go out at once; a job's start, each crew's end and its ending write it at
#: once). Every write stores the whole record, which grows with each published piece: a write
#: per event costs O(pieces^2) over a long job.
RECORD_WRITE_SECONDS = 0.5


def build_llm(ctx: RunContext, agent_role: str | None, *, task: str | None = None,
              temperature: float | None = None, max_tokens: int | None = None) -> Any:
    """The model layer's routed LLM (imported on first use: it imports crewAI)."""
    from novelcrew.llm.router import build_llm as routed

    return routed(ctx, agent_role, task=task, temperature=temperature, max_tokens=max_tokens)


async def kickoff(ctx: RunContext, crew: Any, inputs: dict[str, Any]) -> Any:
    """The crewAI layer's kickoff (imported on first use)."""
    from novelcrew.crewai.kickoff import kickoff as run

    return await run(ctx, crew, inputs)


class _RecordWrites:
    """Coalesces one running job's record writes for progress and partial results.

    ``soon`` asks for a write at most ``interval`` seconds after the previous one (the first
    change after a quiet spell is written at once); ``now`` writes at once, taking along
    whatever was waiting. Writes of the job never overlap, and each stores the job as it is
    when the write starts, so the last write holds the last change.
    """

    def __init__(self, store: JobStore, job: Job, interval: float) -> None:
        self.store = store
        self.job = job
        self.interval = interval
        self.lock = asyncio.Lock()
        self.pending: asyncio.Task[None] | None = None
        self.waiting = False  # the pending write has not started (it may still be dropped)
        self.last = -interval
        #: the run is over (it ended the job, handed it back, or its backend stopped it): what
        #: its crews still send, from a thread that cannot be killed, is dropped
        self.closed = False

    def soon(self) -> None:
        if self.pending is not None:
            return  # a write not yet started takes this change along
        loop = asyncio.get_running_loop()
        delay = max(0.0, self.last + self.interval - loop.time())
        self.waiting = True
        self.pending = loop.create_task(self._write_after(delay))

    async def _write_after(self, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            async with self.lock:
                self.waiting = False
                self.pending = None  # a change from now on asks for another write
                await self.store.save(self.job)
                self.last = asyncio.get_running_loop().time()
        except Exception as exc:  # the next write (at the latest the ending) stores it
            log.warning("progress_not_saved", job_id=self.job.id,
                        error=f"{type(exc).__name__}: {exc}")

    def drop_waiting(self) -> None:
        """Forget a write that has not started (a write now takes its change along)."""
        if self.pending is not None and self.waiting:
            self.pending.cancel()
            self.pending = None
            self.waiting = False

    async def now(self, write: Any) -> Any:
        """``await write()`` (a write of the whole record) after any write under way."""
        self.drop_waiting()
        async with self.lock:
            self.drop_waiting()  # asked for while this one waited for the lock
            try:
                return await write()
            finally:
                self.last = asyncio.get_running_loop().time()

    def close(self) -> None:
        self.closed = True
        self.drop_waiting()


@dataclass
class Outcome:
    """What a run came to: the stored job and, if it should run again, after how long."""

    job: Job
    retry_in: float | None = None


def build_inputs(crew_input: type[BaseModel], job: Job, previous: dict[str, Any]) -> BaseModel:
    """Validate a stage's inputs: the job's inputs plus its ids, and the chain so far."""
    fields = crew_input.model_fields
    data: dict[str, Any] = dict(job.inputs)
    for key, value in (("project_id", job.project_id), ("user_id", job.user_id)):
        if key in fields and data.get(key) is None and value is not None:
            data[key] = value
    if "previous" in fields:
        data.setdefault("previous", previous)
    try:
        return crew_input.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid inputs for {crew_input.__name__}: {exc.error_count()} error(s)",
            {"errors": exc.errors(include_url=False, include_context=False, include_input=False)},
        ) from exc


def check_crew_config(crew: Crew, config: dict[str, Any]) -> None:
    """Validate a job's config against ``crew``'s ``config_model`` (the keys it reads), at
    submission and again when the crew starts (a job run straight from Python was never
    submitted): ``InvalidInput`` naming each field in ``details.errors[].loc``."""
    if crew.config_model is None:
        return
    try:
        crew.config_model.model_validate(config)
    except ValidationError as exc:
        errors = config_errors(exc)
        named = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        raise InvalidInput(f"invalid config for crew {crew.name!r}: {named}",
                           {"crew": crew.name, "errors": errors}) from None


class JobRunner:
    """Runs jobs against a store, telling ``job_event`` observers about every event."""

    def __init__(self, plugins: Plugins, settings: Settings, store: JobStore) -> None:
        self.plugins = plugins
        self.settings = settings
        self.store = store
        #: seconds between two writes of a running job's record for progress and partials
        self.record_write_seconds = RECORD_WRITE_SECONDS
        self._records: dict[str, _RecordWrites] = {}

    # events -------------------------------------------------------------------------------
    async def emit(self, job: Job, type: str, *, crew: str | None = None, message: str = "",
                   data: dict[str, Any] | None = None, notify: bool = True,
                   save: bool = False, create: bool = False,
                   save_soon: bool = False) -> JobEvent:
        """Append an event; with ``save`` (or ``create``) also write the job's record, in the
        same transaction where the store can; with ``save_soon`` (progress, a partial
        result of a job this runner runs) write the record within ``record_write_seconds``."""
        records = self._records.get(job.id)
        if records is not None and records.job is not job:
            records = None  # another copy of the job (a backend's): written as it asks
        if save or create or (save_soon and records is None):
            def write() -> Any:
                return self.store.save_with_event(job, type, crew=crew, message=message,
                                                  data=data, create=create)

            event = await (records.now(write) if records is not None else write())
        else:
            event = await self.store.append_event(job.id, type, crew=crew, message=message,
                                                  data=data)
            if save_soon and records is not None:
                records.soon()
        job.events_count = event.seq
        if event.type != type:
            # a store whose log closes at the ending (Redis) answers a later append with the
            # ending itself: nothing was appended, and observers already heard it end
            return event
        if notify:
            await self.notify(event, job)
        if event.terminal and job.webhook_url:
            from novelcrew.webhooks import schedule_webhook

            # in the background: never delays the job; a store with an outbox remembers it
            schedule_webhook(job, self.settings,
                             outbox=self.store if hasattr(self.store, "webhook_finished")
                             else None)  # type: ignore[arg-type]
        return event

    async def notify(self, event: JobEvent, job: Job) -> None:
        """Call ``job_event`` observers; a failing observer becomes a warning, never a failure."""
        for plugin, result in self.plugins.call_each("job_event", event=event, job=job):
            if isinstance(result, Exception):
                await self._observer_failed(job, plugin, result, ended=event.terminal)
            elif inspect.isawaitable(result):
                try:
                    await asyncio.wait_for(result, OBSERVER_TIMEOUT)  # type: ignore[arg-type]
                except Exception as exc:
                    await self._observer_failed(job, plugin, exc, ended=event.terminal)

    async def _observer_failed(self, job: Job, plugin: str, exc: BaseException, *,
                               ended: bool) -> None:
        """Log and count the failure; record it as a ``warning`` event unless it was of the
        job's terminal event (``ended``): the log closed with that event (every store refuses
        a later one), so an observer of the ending (a Payload restore) has only the log line
        and the counter."""
        from novelcrew.metrics import OBSERVER_FAILURES  # prometheus_client: when one fails

        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        log.warning("observer_failed", job_id=job.id, plugin=plugin, error=error,
                    job_ended=ended)
        OBSERVER_FAILURES.labels(plugin, "true" if ended else "false").inc()
        if ended:
            return
        await self.emit(job, "warning", message=f"job_event observer {plugin!r} failed: {error}",
                        data={"plugin": plugin, "error": type(exc).__name__}, notify=False)

    async def record_queued(self, job: Job, *, create: bool = False) -> JobEvent:
        """Append the ``queued`` event (backends call it when they accept a job); with
        ``create``, store the new job in the same write."""
        return await self.emit(job, "queued", message="job queued", create=create,
                               data={"crews": job.crews, "project_id": job.project_id})

    # running ------------------------------------------------------------------------------
    async def run(self, job_id: str, cancel_event: threading.Event | None = None) -> Outcome:
        job = await self.store.get(job_id)
        if job is None:
            raise LookupError(job_id)
        if job.status.terminal:
            return Outcome(job)
        cancel_event = cancel_event or threading.Event()
        bound = structlog.contextvars.bind_contextvars(job_id=job.id)
        records = self._records[job.id] = _RecordWrites(self.store, job,
                                                        self.record_write_seconds)
        try:
            outcome = await self._run(job, cancel_event)
            if outcome.job.status.terminal:
                await self._drop_checkpoint(outcome.job.id)
            return outcome
        finally:
            # every ending wrote the whole record; a process shutting down leaves the job
            # running (its last progress may be up to ``record_write_seconds`` old)
            records.close()
            if self._records.get(job.id) is records:
                del self._records[job.id]
            structlog.contextvars.reset_contextvars(**bound)

    async def _drop_checkpoint(self, job_id: str) -> None:
        """The job ended: the answers kept to resume it are not needed any more."""
        replies = self.store.reply_store()
        if replies is None:
            return
        try:
            await asyncio.to_thread(replies.checkpoint_drop, job_id)
        except Exception as exc:  # it expires on its own
            log.warning("checkpoint_not_dropped", job_id=job_id,
                        error=f"{type(exc).__name__}: {exc}")

    async def _run(self, job: Job, cancel_event: threading.Event) -> Outcome:
        if job.cancel_requested:
            return await self._finish_cancelled(job)
        job.status = JobStatus.running
        job.attempts += 1
        job.started_at = job.started_at or utcnow()
        job.error = None
        await self.emit(job, "started", message=f"attempt {job.attempts}",
                        data={"attempt": job.attempts, "crews": job.crews}, save=True)
        previous: dict[str, Any] = dict(job.result)
        current: str | None = None
        try:
            crews = self.plugins.registry.check_chain(job.crews)
            for crew in crews:
                for name in crew.tools:
                    self.plugins.registry.tool(name, wanted_by=crew.name)
            for crew in crews:
                current = crew.name
                if crew.name in job.result:
                    continue  # finished by an earlier attempt
                if cancel_event.is_set():
                    raise JobCancelled("the job was cancelled")
                output = await self._run_crew(job, crew, previous, cancel_event)
                previous[crew.name] = output
            job.status = JobStatus.succeeded
            job.finished_at = utcnow()
            job.progress.current_task = None
            await self.emit(job, "succeeded", message="job succeeded",
                            data={"crews": job.crews}, save=True)
            return Outcome(job)
        except self.store.unavailable:
            raise  # the store's outage is no fault of the job's: its backend runs it again
        except (JobCancelled, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not cancel_event.is_set():
                raise  # the process is shutting down: the job stays running, to be re-run
            return await self._finish_cancelled(job)
        except TransientError as exc:
            if job.attempts < self.settings.job_max_attempts:
                delay = min(2.0 ** job.attempts, 60.0)
                job.status = JobStatus.queued
                job.error = JobErrorInfo(type=exc.error_type, message=exc.message, crew=current,
                                         details=exc.details)
                await self.emit(job, "retrying", crew=current,
                                message=f"transient failure, retrying in {delay:.0f}s: {exc}",
                                data={"attempt": job.attempts, "delay": delay}, save=True)
                return Outcome(job, retry_in=delay)
            return await self._finish_failed(job, exc, current)
        except Exception as exc:
            return await self._finish_failed(job, exc, current)

    async def _run_crew(self, job: Job, crew: Any, previous: dict[str, Any],
                        cancel_event: threading.Event) -> Any:
        registry = self.plugins.registry
        check_crew_config(crew, job.config)
        inputs = build_inputs(crew.input_model, job, previous)
        prepare_crewai(self.settings.data_dir)  # before any plugin code can import crewAI
        tool_ctx = ToolContext(settings=self.settings, project_id=job.project_id,
                               job_id=job.id, user_id=job.user_id, crew=crew.name)
        tools: dict[str, Any] = {}
        for name in (*crew.tools, *crew.optional_tools):
            if name in registry.tools:
                tools[name] = registry.tools[name].spec.factory(tool_ctx)
            elif name in crew.tools:
                raise ToolMissing(f"crew {crew.name!r} needs tool {name!r}", {"tool": name})

        attempt = self._records.get(job.id)

        def ended() -> bool:
            """Whether this run is over: a crewAI thread outlives a timeout (it cannot be
            killed) and reports its last model call when the answer comes; written, that
            would land after the job's ending (rewriting a failed record as running) or in
            the job's next attempt, which reads the record afresh."""
            return attempt is not None and attempt.job is job and attempt.closed

        async def emit_fn(type: str, *, crew: str | None, message: str,
                          data: dict[str, Any]) -> None:
            if ended():
                log.info("late_event_dropped", job_id=job.id, type=type, crew=crew,
                         model=data.get("model"))
                return
            if type == "partial":
                await self._partial(job, crew or "", message, data)
                return
            if type == "llm_call" and isinstance(data.get("model"), str):
                # the job's usage of this model so far, this call included: a client
                # following the events shows usage as it grows, not only when the job ends
                job.usage = _merged_usage(base_usage, ctx)
                so_far = job.usage.get(data["model"])
                if so_far is not None:
                    data = {**data, "job_usage": so_far.model_dump()}
            await self.emit(job, type, crew=crew, message=message, data=data)

        async def on_progress(ctx: RunContext) -> None:
            if ended():
                return
            job.progress.completed_tasks = done_before + ctx.completed_tasks
            job.progress.total_tasks = max(done_before + ctx.total_tasks,
                                           job.progress.completed_tasks)
            job.progress.current_crew = crew.name
            job.progress.current_task = ctx.current_task
            job.usage = _merged_usage(base_usage, ctx)
            job.models_used = _merged_models(base_models, ctx)
            await self.emit(job, "progress", crew=crew.name, message=ctx.current_task or "",
                            data=job.progress.model_dump(), notify=False, save_soon=True)

        done_before = job.progress.completed_tasks
        base_usage = {k: v.model_copy() for k, v in job.usage.items()}
        base_models = list(job.models_used)
        ctx = RunContext(
            job_id=job.id, crew=crew.name, settings=self.settings.for_job(job.config),
            registry=registry,
            project_id=job.project_id, user_id=job.user_id, tools=tools,
            previous=dict(previous), config=job.config, emit_fn=emit_fn,
            cancel_event=cancel_event, loop=asyncio.get_running_loop(),
            llm_factory=build_llm, kickoff_fn=kickoff, _progress_cb=on_progress,
            replies=self.store.reply_store(), usage_before=base_usage,
        )
        job.progress.current_crew = crew.name
        await self.emit(job, "crew_started", crew=crew.name, message=f"{crew.name} started",
                        save=True)
        started = time.monotonic()
        token = current_context.set(ctx)
        try:
            raw = await crew.run(ctx, inputs)
        except Exception:
            if ctx.halt is not None:  # what the crew made of it (a failed scene...) is moot
                raise ctx.halt from None
            raise
        finally:
            current_context.reset(token)
            job.usage = _merged_usage(base_usage, ctx)
            job.models_used = _merged_models(base_models, ctx)
        if ctx.halt is not None:
            raise ctx.halt
        output = raw if isinstance(raw, crew.output_model) else crew.output_model.model_validate(
            raw.model_dump() if isinstance(raw, BaseModel) else raw
        )
        payload = output.model_dump(mode="json")
        job.result[crew.name] = payload
        for pieces in job.partial.get(crew.name, {}).values():
            pieces.items = {}  # the result holds them all; every later save stays smaller
        job.timings[crew.name] = round(time.monotonic() - started, 3)
        await self.emit(job, "crew_finished", crew=crew.name, message=f"{crew.name} finished",
                        data={"seconds": job.timings[crew.name]}, save=True)
        return payload

    async def _partial(self, job: Job, crew: str, message: str, data: dict[str, Any]) -> None:
        """Send a published piece's event and store it with the job (written within
        ``record_write_seconds``)."""
        kind, key = str(data.get("kind") or "part"), str(data.get("key") or "")
        pieces = job.partial.setdefault(crew, {}).setdefault(kind, PartialResults())
        item = data.get("item") if isinstance(data.get("item"), dict) else {}
        pieces.items[key] = item  # type: ignore[assignment]
        pieces.done = len(pieces.items)
        total = data.get("total")
        if isinstance(total, int) and not isinstance(total, bool):
            pieces.total = total
        event = await self.emit(job, "partial", crew=crew, message=message, save_soon=True, data={
            "kind": kind, "key": key, "done": pieces.done, "total": pieces.total,
            "item": item})
        if job.webhook_url and job.config.get("webhook_partial") is True:
            from novelcrew.webhooks import schedule_partial_webhook

            schedule_partial_webhook(job, event, self.settings)

    async def _finish_cancelled(self, job: Job) -> Outcome:
        job.status = JobStatus.cancelled
        job.finished_at = utcnow()
        await self.emit(job, "cancelled", message="job cancelled", save=True)
        return Outcome(job)

    async def _finish_failed(self, job: Job, exc: BaseException, crew: str | None) -> Outcome:
        if isinstance(exc, NovelcrewError):
            info = JobErrorInfo(type=exc.error_type, message=exc.message, crew=crew,
                                details=exc.details)
        else:
            info = JobErrorInfo(type=type(exc).__name__, message=describe_error(exc),
                                crew=crew)
            # type, message and stack; never the frames' locals (logging.py), nor the data a
            # validation error quotes
            _stdlog.error("job %s failed", job.id, exc_info=exc)
        job.status = JobStatus.failed
        job.error = info
        job.finished_at = utcnow()
        await self.emit(job, "failed", crew=crew, message=info.message,
                        data={"error": info.model_dump()}, save=True)
        return Outcome(job)


MODELS_USED_CAP = 1000


def _merged_models(base: list[str], ctx: RunContext) -> list[str]:
    """The model id of every call so far (the newest ``MODELS_USED_CAP``)."""
    return (base + list(ctx.models_used))[-MODELS_USED_CAP:]


def _merged_usage(base: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    merged = {k: v.model_copy() for k, v in base.items()}
    # a copy: the model layer adds a model's entry from a worker thread
    for model, usage in list(ctx.usage.items()):
        if model in merged:
            merged[model].add(usage)
        else:
            merged[model] = usage.model_copy()
    return merged
