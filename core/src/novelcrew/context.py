"""What a crew's ``run`` receives: tools by name, models per agent role, progress and events.

A ``RunContext`` is made fresh for each crew of each job; a ``ToolContext`` is what a tool
factory receives so every tool it builds is scoped to one project.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from novelcrew.errors import JobCancelled, ToolMissing
from novelcrew.jobs import ModelUsage

if TYPE_CHECKING:
    from novelcrew.registry import Registry
    from novelcrew.settings import Settings

#: The context of the crew run the current task belongs to (routes crewAI events to a job).
current_context: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "novelcrew_run_context", default=None
)

EmitFn = Callable[..., Awaitable[None]]


class _Mailbox:
    """Coroutines handed from worker threads to one event loop, one wake-up per burst.

    ``asyncio.run_coroutine_threadsafe`` costs a concurrent future, a chained callback and a
    write to the loop's self-pipe per call, and crews send several events per task from their
    threads; with many jobs running, a batch of them now reaches the loop with one wake-up.
    Coroutines start as tasks in the order they were posted; like a discarded
    ``run_coroutine_threadsafe`` future, a failing one is dropped silently.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: deque[Coroutine[Any, Any, Any]] = deque()
        self.lock = threading.Lock()
        self.scheduled = False

    def post(self, coro: Coroutine[Any, Any, Any]) -> None:
        with self.lock:
            self.items.append(coro)
            if self.scheduled:
                return
            self.scheduled = True
        try:
            self.loop.call_soon_threadsafe(self.drain)
        except RuntimeError:  # the loop closed: nothing will run it, as before
            with self.lock:
                self.scheduled = False
                self.items.clear()
            coro.close()

    def drain(self) -> None:
        with self.lock:
            self.scheduled = False
            items = list(self.items)
            self.items.clear()
        for coro in items:
            self.loop.create_task(coro).add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


_mailboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Mailbox] = \
    weakref.WeakKeyDictionary()
_mailboxes_lock = threading.Lock()


def post(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` on ``loop`` from another thread, without waiting for it."""
    box = _mailboxes.get(loop)
    if box is None:
        with _mailboxes_lock:
            box = _mailboxes.setdefault(loop, _Mailbox(loop))
    box.post(coro)


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
        from novelcrew.crewai_bridge import prepare

        # crewAI's environment, before its import; ``prepare`` resolves the path itself, once
        # (``resolved_data_dir`` would walk the file system on every call)
        prepare(self.settings.data_dir)
        from novelcrew.llm.router import build_llm

        return build_llm(self, agent_role, temperature=temperature, max_tokens=max_tokens)

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
        else:
            post(self.loop, coro)

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
        from novelcrew.crewai_bridge import kickoff

        return await kickoff(self, crew, dict(inputs or {}))
