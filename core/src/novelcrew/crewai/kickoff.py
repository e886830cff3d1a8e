"""A crewAI kickoff for one job: in a worker thread, with its task events routed to the job.

``Crew.kickoff`` is synchronous and cannot run inside a running event loop, so it runs on a
thread pool of its own (asyncio's default executor has ``cpu_count + 4`` threads, which would
queue the seventh concurrent job behind the others' model calls). crewAI's event bus is
process-global: a handler registered once with ``crewai_event_bus.on`` finds the job through a
ContextVar set here (the bus copies the emitting thread's context into its handler threads).
Events reach the job's event loop with ``loop.call_soon_threadsafe`` and are applied there in
the order they were sent.

The pool counts what runs on it (``in_crewai_thread``), so that a stopping worker can tell a
kickoff still waiting on a model's answer (``wait_idle``) and end without it: Python joins such
threads at exit (crewAI's own included), which would hold the process for the rest of the call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from novelcrew.context import RunContext, current_context
from novelcrew.crewai import compat, env
from novelcrew.errors import JobCancelled, NovelcrewError, causes

_log = logging.getLogger(__name__)

#: threads for concurrent kickoffs; they mostly wait on models (or for a slot of the model's
#: concurrency limit, ``novelcrew.llm.limit``), and start only as needed. A crew keeps twice
#: its model's limit of chunks or scenes in flight, so several long jobs need hundreds: the
#: pool must never be what holds a call back while its model has room
KICKOFF_THREADS = 1024
_lock = threading.Lock()
_listening = False
_in_flight: weakref.WeakSet[Any] = weakref.WeakSet()
#: calls running on the pool, and the condition ``wait_idle`` waits on
_busy = 0
_settled = threading.Condition()

T = TypeVar("T")

#: the task-event sink of the kickoff running in this context (read by the bus handler)
_sink: contextvars.ContextVar[_TaskEvents | None] = contextvars.ContextVar(
    "novelcrew_kickoff_events", default=None)


#: the attribute of a crew run's context holding the error that stopped its model calls
_GIVEN_UP = "_novelcrew_model_gave_up"


def give_up(ctx: Any, error: NovelcrewError) -> None:
    """Record ``error`` as what stopped ``ctx``'s model calls (the model layer calls this),
    so that the kickoff raises it even when crewAI swallowed it."""
    setattr(ctx, _GIVEN_UP, error)


def given_up(ctx: Any) -> NovelcrewError | None:
    """The error that stopped this crew run's model calls, if any: the ``ModelError`` of a
    call that exhausted every model, ``BudgetExceeded``, or ``NotRecorded``."""
    error = getattr(ctx, _GIVEN_UP, None)
    return error if isinstance(error, NovelcrewError) else None


@functools.cache
def kickoff_pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=KICKOFF_THREADS,
                                                 thread_name_prefix="novelcrew-kickoff")


def _counted(fn: Callable[..., T], *args: Any) -> T:
    global _busy
    with _settled:
        _busy += 1
    try:
        return fn(*args)
    finally:
        with _settled:
            _busy -= 1
            _settled.notify_all()


def in_crewai_thread(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``fn(*args)`` on the kickoff pool, counted for ``wait_idle`` (a kickoff, crewAI's
    import). Cancelling the future leaves the call running: it stops at its own pace."""
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(kickoff_pool(), _counted, fn, *args)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's outcome as seen (its error, if any, was expected)."""
    if not future.cancelled():
        future.exception()


def wait_idle(timeout: float) -> bool:
    """Whether every call on the kickoff pool has ended, waiting up to ``timeout`` seconds.

    A stopping worker asks: a crew it stopped ends at its next step, but one waiting on a
    model's answer (or crewAI's import) may take up to the model timeout."""
    with _settled:
        return _settled.wait_for(lambda: _busy == 0, timeout)


def task_label(task_or_output: Any) -> str:
    """A task's name, or the first line of its description."""
    name = getattr(task_or_output, "name", None)
    if name:
        return str(name)
    desc = str(getattr(task_or_output, "description", "") or "").strip()
    return desc.splitlines()[0][:80] if desc else "task"


def _listen() -> None:
    """Register the task-started handler on crewAI's event bus, once per process."""
    global _listening
    with _lock:
        if _listening:
            return
        from crewai.events import crewai_event_bus
        from crewai.events.types.task_events import TaskCompletedEvent, TaskStartedEvent

        def on_task_started(source: Any, event: Any) -> None:
            sink = _sink.get()
            if sink is not None:
                task = getattr(event, "task", None)
                sink.started(task_label(task) if task is not None else
                             str(getattr(event, "task_name", None) or "task"),
                             getattr(event, "agent_role", None))

        def on_task_completed(source: Any, event: Any) -> None:
            sink = _sink.get()
            if sink is not None and sink.flow:  # a crew's own tasks finish by task_callback
                task = getattr(event, "task", None) or getattr(event, "output", None)
                sink.finished(task_label(task) if task is not None else
                              str(getattr(event, "task_name", None) or "task"))

        crewai_event_bus.on(TaskStartedEvent)(on_task_started)
        crewai_event_bus.on(TaskCompletedEvent)(on_task_completed)
        _listening = True


class _TaskEvents:
    """Task events of one kickoff, sent from crewAI's threads, applied on the job's loop.

    A task's ``finished`` (from the crew's thread) can overtake its ``started`` (from the
    bus's thread pool); then ``started`` is sent first and the late one is dropped.
    """

    def __init__(self, ctx: RunContext, loop: asyncio.AbstractEventLoop,
                 flow: bool = False) -> None:
        self.ctx = ctx
        self.loop = loop
        #: a Flow's crews: their tasks are counted as they start and finish by the bus
        self.flow = flow
        self.queue: asyncio.Queue[tuple[str, str, str | None] | None] = asyncio.Queue()
        self.lock = threading.Lock()
        self.started_count: dict[str, int] = {}
        self.finished_count: dict[str, int] = {}
        self.early: dict[str, int] = {}

    def _send(self, item: tuple[str, str, str | None] | None) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to tell
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def started(self, name: str, agent: str | None) -> None:
        with self.lock:
            if self.early.get(name):  # its ``finished`` came first and sent it
                self.early[name] -= 1
                return
            self.started_count[name] = self.started_count.get(name, 0) + 1
            self._send(("started", name, agent))

    def finished(self, name: str) -> None:
        with self.lock:
            done = self.finished_count[name] = self.finished_count.get(name, 0) + 1
            if self.started_count.get(name, 0) < done:
                self.started_count[name] = done
                self.early[name] = self.early.get(name, 0) + 1
                self._send(("started", name, None))
            self._send(("finished", name, None))

    def close(self) -> None:
        self._send(None)

    async def apply(self) -> None:
        """Apply events in order until ``close``; a failing event is logged, never raised."""
        while (item := await self.queue.get()) is not None:
            kind, name, agent = item
            try:
                if kind == "started":
                    if self.flow:  # a Flow announces no tasks ahead: count each as it starts
                        await self.ctx.add_tasks(1)
                    self.ctx.current_task = name
                    await self.ctx.emit("task_started", name, task=name, agent=agent)
                else:
                    await self.ctx.task_finished(name)
            except JobCancelled:
                pass  # the crew's thread stops at its next step
            except Exception:
                _log.exception("task event %s of %r failed", kind, name)


def _chain(user: Callable[[Any], Any] | None, ours: Callable[[Any], None]) -> Callable[[Any], Any]:
    def callback(value: Any) -> Any:
        result = user(value) if user is not None else None
        ours(value)
        return result

    return callback


def _our_error(exc: BaseException) -> NovelcrewError | None:
    """The novelcrew error (``ModelError``, ``JobCancelled``) behind whatever crewAI raised."""
    return next((err for err in causes(exc) if isinstance(err, NovelcrewError)), None)


async def kickoff(ctx: RunContext, crew: Any, inputs: dict[str, Any]) -> Any:
    """Kick off a fresh crewAI ``Crew`` for ``ctx``'s job and return its ``CrewOutput`` (or a
    ``Flow``, returning what its last method returns; the crews its methods kick off report
    their tasks to the job, counted as they start, and stop at the next model call once the
    job is cancelled).

    Progress counts the crew's tasks; the crew's own ``step_callback`` and ``task_callback``
    still run, before ours. Cancellation (the job's, or of the awaiting asyncio task) stops the
    crew at its next agent step. A ``ModelError`` or ``JobCancelled`` raised inside crewAI
    comes out as itself, whatever crewAI wrapped it in.
    """
    env.prepare(ctx.settings.data_dir)
    env.build_flow_definitions(crew)
    _listen()
    compat.let_errors_through(NovelcrewError)
    ctx.check_cancelled()
    if crew in _in_flight:
        raise RuntimeError(
            "this crewAI Crew is already running; build fresh Crew/Agent/Task objects per job")
    _in_flight.add(crew)  # before the first await, so a second kickoff of it is refused
    try:
        return await _kickoff(ctx, crew, inputs)
    finally:
        _in_flight.discard(crew)


def is_flow(obj: Any) -> bool:
    """Whether ``obj`` is a crewAI ``Flow`` (crewAI is already imported: the caller built it)."""
    from crewai.flow import Flow

    return isinstance(obj, Flow)


async def _kickoff(ctx: RunContext, crew: Any, inputs: dict[str, Any]) -> Any:
    flow = is_flow(crew)
    if not flow:
        await ctx.add_tasks(len(list(getattr(crew, "tasks", None) or [])))
    loop = asyncio.get_running_loop()
    events = _TaskEvents(ctx, loop, flow=flow)
    stopped = threading.Event()

    def check() -> None:
        if stopped.is_set():
            raise JobCancelled("the job was cancelled")
        ctx.check_cancelled()

    def after_task(output: Any) -> None:
        events.finished(task_label(output))
        check()

    if not flow:  # a Flow's crews are its own; its model calls check cancellation
        crew.step_callback = _chain(crew.step_callback, lambda _step: check())
        crew.task_callback = _chain(crew.task_callback, after_task)
        compat.without_replay_log(crew)
    applier = asyncio.ensure_future(events.apply())
    ctx_token, sink_token = current_context.set(ctx), _sink.set(events)
    try:
        run = contextvars.copy_context().run
        start = functools.partial(crew.kickoff, inputs=inputs)
        future = in_crewai_thread(run, start)
        try:
            output = await asyncio.shield(future)
        except asyncio.CancelledError:
            stopped.set()  # the thread ends at the crew's next step, raising JobCancelled:
            # expected, so retrieved here, or asyncio logs "Future exception was never
            # retrieved" at error level for each crew a draining server hands back
            future.add_done_callback(_retrieved)
            raise
        error = given_up(ctx)
        if error is not None:  # crewAI swallowed it (e.g. its output converter)
            raise error
        return output
    except Exception as exc:
        ours = _our_error(exc)
        if ours is not None and ours is not exc:
            raise ours from exc
        raise
    finally:
        current_context.reset(ctx_token)
        _sink.reset(sink_token)
        events.close()
        if not applier.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(applier), 5.0)
