"""What a crew's ``run`` receives: tools by name, models per agent role, progress and events.

A ``RunContext`` is made fresh for each crew of each job; a ``ToolContext`` is what a tool
factory receives so every tool it builds is scoped to one project.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from novelcrew.errors import JobCancelled, ToolMissing
from novelcrew.jobs import ModelUsage

if TYPE_CHECKING:
    from novelcrew.registry import Registry
    from novelcrew.settings import Settings

_log = logging.getLogger(__name__)
#: The context of the crew run the current task belongs to (routes crewAI events to a job).
current_context: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "novelcrew_run_context", default=None
)

EmitFn = Callable[..., Awaitable[None]]
#: builds a crewAI LLM for an agent role of a crew run (the runner injects the model layer's)
LLMFactory = Callable[..., Any]  # (ctx, agent_role, *, task, temperature, max_tokens) -> LLM
#: runs a crewAI ``Crew`` for a crew run (the runner injects the crewAI layer's)
KickoffFn = Callable[["RunContext", Any, dict[str, Any]], Awaitable[Any]]


def _log_failure(future: concurrent.futures.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        _log.warning("event from a crew thread failed: %r", future.exception())


@dataclass
class ToolContext:
    """What a tool factory gets: settings and the job's scope."""

    settings: Settings
    project_id: str | None
    job_id: str | None = None
    user_id: str | None = None
    crew: str | None = None


@dataclass
class RunContext:
    """The running crew's view of its job, made fresh by the runner for each crew of each job.

    A crew's ``run(ctx, inputs)`` reads the job's ids, ``settings``, ``config`` and the
    outputs of earlier crews in a chain (``previous``), takes its tools (``tool``) and models
    (``llm``), reports progress (``add_tasks``, ``task_started``, ``task_finished``, or
    ``kickoff``, which counts a crewAI crew's tasks itself) and checks for cancellation.
    Fields below the line are the runner's plumbing: a crew reads them at most.
    docs/plugin-author-guide.md ("The run context") lists every member with its type.
    """

    #: the job's id (32 hex digits), as ``GET /jobs/{id}`` knows it
    job_id: str
    #: the name of the crew this context runs (one stage of the job's chain)
    crew: str
    #: the process's core settings (``novelcrew.settings.Settings``); plugin settings are
    #: the plugin's own ``BaseSettings`` subclass (see the guide)
    settings: Settings
    #: every loaded crew, tool, model and backend with its plugin (read-only for crews)
    registry: Registry
    #: the job's project (``project_id`` of ``POST /jobs``), or None
    project_id: str | None = None
    #: the user who submitted the job, or None
    user_id: str | None = None
    #: the tools this crew declared (``Crew.tools`` and the available ``optional_tools``),
    #: each built for this job's project by its factory; read them with ``tool(name)``
    tools: Mapping[str, Any] = field(default_factory=dict)
    #: outputs of the crews that ran before this one in the job's chain, keyed by crew name,
    #: each as JSON-ready data (the earlier crew's output model dumped with ``mode="json"``:
    #: ``dict[str, Any]``); empty for the first crew. Validate with that crew's output model
    #: if you want it typed. A retried job keeps the outputs of crews that had finished.
    previous: Mapping[str, Any] = field(default_factory=dict)
    #: the job's free-form ``config`` object from ``POST /jobs`` (``config.model`` picks the
    #: model for every agent of the job); a crew documents the keys it reads
    config: Mapping[str, Any] = field(default_factory=dict)
    # -- the runner's plumbing ---------------------------------------------------------------
    #: appends an event to the job's log (``emit`` calls it)
    emit_fn: EmitFn | None = None
    #: tokens and cost so far per model id (the model layer adds to it)
    usage: dict[str, ModelUsage] = field(default_factory=dict)
    #: the model id of every answered call, in order (the model layer appends)
    models_used: list[str] = field(default_factory=list)
    #: tasks finished so far by this crew (progress)
    completed_tasks: int = 0
    #: tasks announced so far by this crew (progress; grows with ``add_tasks``)
    total_tasks: int = 0
    #: the task running now, as last announced by ``task_started``
    current_task: str | None = None
    #: set when the job is cancelled; read it through ``cancelled``/``check_cancelled``
    cancel_event: threading.Event = field(default_factory=threading.Event)
    #: the event loop the job runs on (``emit_threadsafe`` sends events to it)
    loop: asyncio.AbstractEventLoop | None = None
    #: builds the crewAI LLM behind ``llm`` (the runner injects the model layer's)
    llm_factory: LLMFactory | None = None
    #: runs crewAI crews and flows behind ``kickoff`` (the runner injects crewAI's)
    kickoff_fn: KickoffFn | None = None
    #: the job backend's kept model answers (``llm.replies.ReplyStore``; None: none kept)
    replies: Any = None
    #: what the job's earlier crews and attempts used (a job's budget counts it too)
    usage_before: dict[str, ModelUsage] = field(default_factory=dict)
    #: an error that ends this crew run whatever the crew makes of it (the job's budget is
    #: spent, a replayed recording lacks a request): set by the model layer, raised by
    #: ``check_cancelled`` and by the runner when the crew returns
    halt: Exception | None = None
    _progress_cb: Callable[[RunContext], Awaitable[None]] | None = None

    # tools --------------------------------------------------------------------------------
    def tool(self, name: str) -> Any:
        """The tool registered as ``name``, built for this job's project."""
        try:
            return self.tools[name]
        except KeyError:
            raise ToolMissing(
                f"crew {self.crew!r} asked for tool {name!r}, which it did not declare or "
                "which no loaded plugin registers",
                {"tool": name, "crew": self.crew},
            ) from None

    def has_tool(self, name: str) -> bool:
        """Whether tool ``name`` is available (for ``optional_tools``)."""
        return name in self.tools

    # models -------------------------------------------------------------------------------
    def model_id(self, agent_role: str | None = None) -> str:
        """The model id ``llm(agent_role)`` routes to first: the job's ``config.model``, else
        the per-agent, per-crew or default setting (roles compared case-insensitively)."""
        override = self.config.get("model")
        if isinstance(override, str) and override:
            return override
        return self.settings.model_for(self.crew, agent_role)

    def model_limit(self, agent_role: str | None = None) -> int:
        """The most calls ``model_id(agent_role)`` takes at once (``NOVELCREW_MODEL_CONCURRENCY``
        or its override), shared by every job: a crew that starts many pieces of work sizes
        how many it keeps in flight by it, instead of parking one thread per piece."""
        return self.settings.model_pool(self.model_id(agent_role))[1]

    def llm(self, agent_role: str | None = None, *, task: str | None = None,
            temperature: float | None = None, max_tokens: int | None = None) -> Any:
        """A crewAI LLM for ``agent_role``: routed, retried, with fallbacks and usage recorded.

        ``temperature`` and ``max_tokens`` are the crew's defaults for ``task`` (None: the
        server's or the model's); the job's ``config.tasks.<task>``, then its ``config``,
        win over them (the most specific setting wins: ``novelcrew.llm.sampling``), so a
        crew passes its defaults and its task's name and reads none of those keys itself."""
        if self.llm_factory is None:
            raise RuntimeError("this RunContext has no model factory (the runner injects one)")
        return self.llm_factory(self, agent_role, task=task, temperature=temperature,
                                max_tokens=max_tokens)

    def record_usage(self, model: str, usage: ModelUsage) -> None:
        """Add a call's tokens and cost to the job (the model layer calls it; a crew that
        calls a model outside ``llm`` may too)."""
        self.usage.setdefault(model, ModelUsage()).add(usage)

    # progress and events ------------------------------------------------------------------
    async def emit(self, type: str, message: str = "", **data: Any) -> None:
        """Append an event to the job's log (and notify ``job_event`` observers)."""
        if self.emit_fn is not None:
            await self.emit_fn(type, crew=self.crew, message=message, data=data)

    def emit_threadsafe(self, type: str, message: str = "", **data: Any) -> None:
        """``emit`` from a worker thread (crewAI callbacks run outside the event loop)."""
        if self.loop is None or self.loop.is_closed():
            return
        coro = self.emit(type, message, **data)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.loop.create_task(coro)
            return
        try:
            asyncio.run_coroutine_threadsafe(coro, self.loop).add_done_callback(_log_failure)
        except RuntimeError:  # the loop closed meanwhile
            coro.close()

    async def publish_partial(self, kind: str, key: str | int,
                              item: BaseModel | Mapping[str, Any], *, total: int | None = None,
                              message: str = "") -> None:
        """Publish a finished piece of this crew's result before the crew ends.

        ``kind`` names what it is (the story crews use ``chunk`` and ``scene``: a scene's
        plan, a scene's storyboard), ``key`` which one (a scene number); ``total``, when
        known, how many of that kind the crew will publish. The piece is sent at once as a
        ``partial`` event (SSE, and webhooks when the job's config has
        ``webhook_partial: true``) and stored with the job within half a second (``GET
        /jobs/{id}``: ``partial[crew][kind].items[key]``, a later one with the same key
        replaces it; the runner writes a running job's record at most that often). The
        crew's final output is still what it returns: once it has returned, its pieces give
        way to it (``items`` is emptied, ``done`` and ``total`` stay); a failed job keeps the
        pieces it published.
        """
        payload = item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)
        await self.emit("partial", message or f"{kind} {key} done", kind=kind, key=str(key),
                        total=total, item=payload)

    async def add_tasks(self, n: int) -> None:
        """Announce ``n`` more tasks so progress has a total to count towards."""
        self.total_tasks += n
        await self._progress()

    async def task_started(self, name: str, **data: Any) -> None:
        """Announce that task ``name`` starts (an event and progress); raises
        ``JobCancelled`` if the job was cancelled."""
        self.check_cancelled()
        self.current_task = name
        await self.emit("task_started", name, task=name, **data)
        await self._progress()

    async def task_finished(self, name: str, **data: Any) -> None:
        """Announce that task ``name`` finished (an event and progress); raises
        ``JobCancelled`` if the job was cancelled meanwhile."""
        self.completed_tasks += 1
        if self.completed_tasks > self.total_tasks:
            self.total_tasks = self.completed_tasks
        await self.emit("task_finished", name, task=name, **data)
        await self._progress()
        self.check_cancelled()

    async def _progress(self) -> None:
        if self._progress_cb is not None:
            await self._progress_cb(self)

    # cancellation -------------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        """Whether the job was cancelled (``check_cancelled`` raises instead)."""
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise ``JobCancelled`` if the job was cancelled (or the error that halted the crew
        run, see ``halt``); crews call it between steps."""
        if self.cancel_event.is_set():
            raise JobCancelled("the job was cancelled")
        if self.halt is not None:
            raise self.halt

    # crewAI -------------------------------------------------------------------------------
    async def kickoff(self, crew: Any, inputs: Mapping[str, Any] | None = None) -> Any:
        """Run a fresh crewAI ``Crew`` (returns its ``CrewOutput``) or ``Flow`` (returns what
        its last method returns) for this job: its tasks become the job's events and progress,
        and a cancelled job stops at the crew's next step (a Flow's: at its next model call).
        """
        if self.kickoff_fn is None:
            raise RuntimeError("this RunContext has no kickoff (the runner injects one)")
        return await self.kickoff_fn(self, crew, dict(inputs or {}))
