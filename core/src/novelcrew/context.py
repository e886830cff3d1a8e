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
LLMFactory = Callable[..., Any]  # (ctx, agent_role, *, temperature, max_tokens) -> LLM
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
    """The running crew's view of its job."""

    job_id: str
    crew: str
    settings: Settings
    registry: Registry
    project_id: str | None = None
    user_id: str | None = None
    tools: Mapping[str, Any] = field(default_factory=dict)
    #: earlier stages' outputs in a chain, keyed by crew name
    previous: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    emit_fn: EmitFn | None = None
    usage: dict[str, ModelUsage] = field(default_factory=dict)
    #: the model id of every answered call, in order (the model layer appends)
    models_used: list[str] = field(default_factory=list)
    completed_tasks: int = 0
    total_tasks: int = 0
    current_task: str | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    loop: asyncio.AbstractEventLoop | None = None
    llm_factory: LLMFactory | None = None
    kickoff_fn: KickoffFn | None = None
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
        return name in self.tools

    # models -------------------------------------------------------------------------------
    def model_id(self, agent_role: str | None = None) -> str:
        override = self.config.get("model")
        if isinstance(override, str) and override:
            return override
        return self.settings.model_for(self.crew, agent_role)

    def llm(self, agent_role: str | None = None, *, temperature: float | None = None,
            max_tokens: int | None = None) -> Any:
        """A crewAI LLM for ``agent_role``: routed, retried, with fallbacks and usage recorded;
        ``temperature`` and ``max_tokens`` (None: the model's default) apply to its calls."""
        if self.llm_factory is None:
            raise RuntimeError("this RunContext has no model factory (the runner injects one)")
        return self.llm_factory(self, agent_role, temperature=temperature,
                                max_tokens=max_tokens)

    def record_usage(self, model: str, usage: ModelUsage) -> None:
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
        known, how many of that kind the crew will publish. The piece is stored with the job
        at once (``GET /jobs/{id}``: ``partial[crew][kind].items[key]``, a later one with
        the same key replaces it) and sent as a ``partial`` event (SSE, and webhooks when
        the job's config has ``webhook_partial: true``). The crew's final output is still
        what it returns: once it has returned, its pieces give way to it (``items`` is
        emptied, ``done`` and ``total`` stay); a failed job keeps the pieces it published.
        """
        payload = item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)
        await self.emit("partial", message or f"{kind} {key} done", kind=kind, key=str(key),
                        total=total, item=payload)

    async def add_tasks(self, n: int) -> None:
        """Announce ``n`` more tasks so progress has a total to count towards."""
        self.total_tasks += n
        await self._progress()

    async def task_started(self, name: str, **data: Any) -> None:
        self.check_cancelled()
        self.current_task = name
        await self.emit("task_started", name, task=name, **data)
        await self._progress()

    async def task_finished(self, name: str, **data: Any) -> None:
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
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise ``JobCancelled`` if the job was cancelled; crews call it between steps."""
        if self.cancel_event.is_set():
            raise JobCancelled("the job was cancelled")

    # crewAI -------------------------------------------------------------------------------
    async def kickoff(self, crew: Any, inputs: Mapping[str, Any] | None = None) -> Any:
        """Run a crewAI ``Crew`` for this job: events routed here, cancellable between steps."""
        if self.kickoff_fn is None:
            raise RuntimeError("this RunContext has no kickoff (the runner injects one)")
        return await self.kickoff_fn(self, crew, dict(inputs or {}))
