"""Running crewAI inside novelcrew: a hardened environment, and kickoffs routed to their job.

crewAI is imported only here and in the model layer, and only when a crew runs: importing it
costs seconds, and its defaults (telemetry, tracing prompts, storage in the home folder) are
wrong for a server. ``prepare()`` fixes the environment before the first import.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import gc
import logging
import os
import sys
import threading
import uuid
import weakref
from pathlib import Path
from typing import Any

from novelcrew import crewai_executor
from novelcrew.context import RunContext, current_context, post
from novelcrew.errors import NovelcrewError

_stdlog = logging.getLogger(__name__)

_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "CREWAI_DISABLE_TRACKING": "true",
}
_prepared = threading.Lock()
_listeners_installed = False


_prepared_dirs: set[Path] = set()


def prepare(data_dir: Path | None = None) -> None:
    """Set crewAI's environment; call before crewAI is first imported (idempotent)."""
    if data_dir is not None and data_dir in _prepared_dirs and "CREWAI_STORAGE_DIR" in \
            os.environ and all(os.environ.get(k) == v for k, v in _ENV.items()):
        return  # every kickoff calls this: skip the directory checks once done
    for key, value in _ENV.items():
        os.environ[key] = value
    if data_dir is None:
        from novelcrew.settings import get_settings

        data_dir = get_settings().resolved_data_dir
    storage = Path(data_dir).expanduser().resolve() / "crewai"
    storage.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CREWAI_STORAGE_DIR", str(storage))
    _prepared_dirs.add(data_dir)


def install_listeners() -> None:
    """Route crewAI's process-global events to the job whose context emitted them."""
    global _listeners_installed
    with _prepared:
        if _listeners_installed:
            return
        prepare()
        from crewai.events import crewai_event_bus
        from crewai.events.types.task_events import TaskStartedEvent

        def _task_started(source: Any, event: Any) -> None:
            ctx = current_context.get()
            if ctx is None:
                return
            name = _task_label(event)
            ctx.current_task = name
            ctx.emit_threadsafe("task_started", name, task=name, agent=event.agent_role)

        if not _see_inline(crewai_event_bus, TaskStartedEvent, _task_started):
            crewai_event_bus.on(TaskStartedEvent)(_task_started)
        _listeners_installed = True
        _freeze_imported_objects()


def _see_inline(bus: Any, event_type: type, handler: Any) -> bool:
    """Call ``handler`` for ``event_type`` in the emitting thread, before the bus sees it.

    A handler registered with ``bus.on`` runs on the bus's thread pool: a context copy, a
    future and a hand-off to another thread per event, which then queues for the interpreter
    lock behind every running job. Ours only reads the event and the emitting thread's job
    context, so it runs inline instead; the bus still delivers the event to every other
    handler as before. Only where ``emit`` is the plain method of crewAI 1.15's bus (else
    False: register normally).
    """
    cls_emit = getattr(type(bus), "emit", None)
    if cls_emit is None or "emit" in vars(bus) or not hasattr(bus, "_sync_handlers"):
        return False

    def emit(source: Any, event: Any) -> Any:
        if type(event) is event_type:
            try:
                handler(source, event)
            except Exception:  # as on the bus: a failing handler never fails the emitter
                _stdlog.exception("task event handler failed")
        return cls_emit(bus, source, event)

    bus.emit = emit
    return True


def _freeze_imported_objects() -> None:
    """Exempt what exists once crewAI is imported from the garbage collector's full passes.

    Importing crewAI leaves about 350,000 long-lived objects (modules, classes, pydantic
    schemas). Each full collection walks all of them while holding the interpreter lock,
    about 0.35 s on a 2-core machine, stalling every running job; they never become garbage,
    so ``gc.freeze()`` moves them out of the collector's sight (as CPython's docs suggest for
    servers). Objects made afterwards are collected as usual.
    """
    global _refreeze_pending
    gc.freeze()
    _refreeze_pending = True


#: crewAI imports more on its first kickoff (providers, executor and flow machinery, the
#: OpenAI SDK's resources): those are frozen too, once, when the first kickoff ends with no
#: other in flight (after a collection, so none of that job's garbage is kept)
_refreeze_pending = False


def _refreeze_after_first_kickoff() -> None:
    global _refreeze_pending
    if _refreeze_pending and not len(_in_flight):
        _refreeze_pending = False
        gc.collect()
        gc.freeze()


#: young-generation threshold of the garbage collector while crews run (CPython's is 700)
YOUNG_GC_THRESHOLD = 10_000


def _collect_young_less_often() -> None:
    """Run the collector's young pass every 10,000 allocations instead of 700.

    A crew run allocates hundreds of thousands of container objects (pydantic models, events,
    messages); with the default threshold 50 concurrent 3-task jobs went through ~75 young and
    ~7 middle passes per batch, each promoting the live jobs' objects to be scanned again,
    0.07-0.29 s with every job stalled. With 10,000: 4-6 passes, 0.04-0.1 s, and 10-25% less
    CPU per job in ``bench/concurrency.py``. Never lowers a higher threshold (``serve`` sets
    its own) and leaves automatic collection off if it was switched off (threshold 0).
    """
    young, middle, old = gc.get_threshold()
    if 0 < young < YOUNG_GC_THRESHOLD:
        gc.set_threshold(YOUNG_GC_THRESHOLD, middle, old)


def _task_label(event: Any) -> str:
    task = getattr(event, "task", None)
    name = getattr(task, "name", None) or getattr(event, "task_name", None)
    if name:
        return str(name)
    desc = getattr(task, "description", "") or ""
    return desc.strip().splitlines()[0][:80] if desc else "task"


#: Kickoffs run on their own pool so model latency overlaps across many concurrent jobs:
#: the default executor has only ``cpu_count + 4`` threads (6 on 2 cores), which would queue
#: the 7th job behind the others' model calls. Threads are started only as needed.
KICKOFF_THREADS = 256
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_flight: weakref.WeakSet[Any] = weakref.WeakSet()


def kickoff_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=KICKOFF_THREADS, thread_name_prefix="novelcrew-kickoff"
            )
        return _pool


_state_classes: dict[type, type] = {}
_flow_patched = False


def _reuse_flow_state_classes() -> None:
    """Make crewAI build each flow-state class once instead of once per agent execution.

    Every task's ``AgentExecutor`` is a crewAI ``Flow`` whose ``_create_initial_state``
    declares a new pydantic class (``class StateWithId(FlowState, AgentExecutorState)``) each
    time, which costs tens of milliseconds of CPU in schema generation: about half of crewAI's
    own overhead per task, and under the GIL it is what stops 50 concurrent jobs from
    overlapping. The class only depends on the state type, so it is built once per type.
    Anything unusual (an initial state, an extension state) takes crewAI's own path.
    """
    global _flow_patched
    if _flow_patched:
        return
    try:
        from crewai.flow import runtime
        from pydantic import BaseModel
    except ImportError:
        return
    flow_cls = getattr(runtime, "Flow", None)
    flow_state = getattr(runtime, "FlowState", None)
    original = getattr(flow_cls, "_create_initial_state", None)
    if flow_cls is None or flow_state is None or original is None:
        return

    def _create_initial_state(self: Any) -> Any:
        state_type = getattr(self, "_initial_state_t", None)
        if (self.initial_state is None and isinstance(state_type, type)
                and issubclass(state_type, BaseModel) and not issubclass(state_type, flow_state)
                and self._create_default_extension_state() is None):
            cls = _state_classes.get(state_type)
            if cls is None:
                cls = type("StateWithId", (flow_state, state_type), {})
                _state_classes[state_type] = cls
            instance = cls()
            if not getattr(instance, "id", None):
                object.__setattr__(instance, "id", str(uuid.uuid4()))
            return instance
        return original(self)

    flow_cls._create_initial_state = _create_initial_state
    _flow_patched = True


_file_store_checked = False
_FILE_STORE_SYNC = ("get_all_files", "get_files", "get_task_files", "clear_files",
                    "clear_task_files", "store_files", "store_task_files")


def _skip_absent_file_store() -> None:
    """Without ``aiocache`` crewAI's file store is off, yet each of its sync helpers still
    spins up an event loop (and, inside crewAI's own loop, a thread) to do nothing, several
    times per task. Replace them with what they return then: nothing."""
    global _file_store_checked
    if _file_store_checked:
        return
    _file_store_checked = True
    try:
        from crewai.utilities import file_store
    except ImportError:
        return
    if getattr(file_store, "_file_store", True) is not None:
        return

    def nothing(*_args: Any, **_kwargs: Any) -> None:
        return None

    for modname in ("crewai.agents.agent_executor", "crewai.task", "crewai.crew",
                    "crewai.crews.utils", "crewai.utilities.file_store"):
        module = sys.modules.get(modname)
        for name in _FILE_STORE_SYNC:
            if module is not None and hasattr(module, name) and getattr(module, name) is \
                    getattr(file_store, name, None):
                setattr(module, name, nothing)


#: crewAI's own listeners: the console panels and the trace collector. A server draws no
#: console panels, tracing is off, and with ~180 handlers every crewAI event costs a thread-pool
#: hop per handler, interpreter time that concurrent jobs contend for.
_DEFAULT_LISTENER_MODULES = frozenset((
    "crewai.events.event_listener",
    "crewai.events.listeners.tracing.trace_listener",
))


def _quiet_default_listeners() -> None:
    """Unregister crewAI's console and trace handlers from its process-wide event bus."""
    try:
        from crewai.events import crewai_event_bus
    except ImportError:
        return
    handlers = dict(getattr(crewai_event_bus, "_sync_handlers", {}) or {})
    for event_type, registered in handlers.items():
        for handler in list(registered):
            if getattr(handler, "__module__", "") in _DEFAULT_LISTENER_MODULES:
                crewai_event_bus.off(event_type, handler)


def _let_our_errors_through() -> None:
    """Stop crewAI's agent from re-running a task after a ``ModelError`` or a cancellation.

    crewAI retries a failed agent execution ``max_retry_limit`` times (2) unless the error is
    in its pass-through list; our model layer has already retried and fallen back, so another
    round would only triple the wait before the job fails.
    """
    try:
        from crewai.agent import core
    except ImportError:
        return
    current = tuple(getattr(core, "_passthrough_exceptions", ()))
    if NovelcrewError not in current:
        core._passthrough_exceptions = (*current, NovelcrewError)


class _NoReplayLog:
    """Stands in for crewAI's ``TaskOutputStorageHandler``.

    crewAI records every task's output in one process-wide SQLite file under a file lock so
    ``crewai replay`` can re-run the latest kickoff. A server never replays, and that lock
    (polled with sleeps) serialises the tasks of all concurrent jobs.
    """

    def update(self, task_index: int, log: dict[str, Any]) -> None:
        return None

    def add(self, *args: Any, **kwargs: Any) -> None:
        return None

    def reset(self) -> None:
        return None

    def load(self) -> list[dict[str, Any]] | None:
        return None


def _no_replay_log_by_default() -> None:
    """Build crews with ``_NoReplayLog`` rather than crewAI's replay-log handler.

    ``Crew()`` creates its ``TaskOutputStorageHandler`` as a private-attribute default, and the
    handler opens the SQLite file and creates its table right away: a few milliseconds per
    crew under the interpreter lock, before ``kickoff`` replaces it anyway.
    """
    try:
        from crewai import crew as crew_module
    except ImportError:
        return
    attr = getattr(crew_module.Crew, "__private_attributes__", {}).get("_task_output_handler")
    factory = getattr(crew_module, "TaskOutputStorageHandler", None)
    if attr is not None and factory is not None and \
            getattr(attr, "default_factory", None) is factory:
        attr.default_factory = _NoReplayLog


#: crewAI's pydantic models whose private attributes are read hundreds of times per task
_PRIVATE_READERS = (
    ("crewai.flow.runtime", "Flow"),  # every AgentExecutor: ~800 reads per 3-task job
    ("crewai.agents.agent_builder.base_agent", "BaseAgent"),
    ("crewai.task", "Task"),
    ("crewai.crew", "Crew"),
    ("crewai.llms.base_llm", "BaseLLM"),
    ("crewai.utilities.i18n", "I18N"),
    ("crewai.state.runtime", "RuntimeState"),
    ("crewai.state.event_record", "EventRecord"),
)
_private_reads_patched = False


def _fast_private_reads() -> None:
    """Read crewAI models' private attributes without pydantic's exception on every read.

    pydantic keeps private attributes (``_state``, ``_methods``, ...) out of the instance
    dict, so each read goes through ``BaseModel.__getattr__``, which first asks
    ``hasattr(private_attr, "__get__")``; for a plain ``PrivateAttr`` that raises and catches
    an ``AttributeError``. crewAI's executor reads them ~1,100 times per 3-task job, about a
    tenth of its CPU. This ``__getattr__`` returns the stored value directly when no private
    attribute of the instance's class wraps a descriptor (checked once per class), and
    otherwise, or for anything not stored, is pydantic's own. Only for pydantic 2 and the
    crewAI versions the executor driver supports, and only on classes using pydantic's.
    """
    global _private_reads_patched
    if _private_reads_patched:
        return
    _private_reads_patched = True
    import pydantic

    if not pydantic.VERSION.startswith("2.") or crewai_executor._runtime() is None:
        return
    pydantic_getattr = getattr(pydantic.BaseModel, "__getattr__", None)
    if pydantic_getattr is None:
        return
    plain: dict[type, bool] = {}
    get_private = object.__getattribute__

    def __getattr__(self: Any, item: str) -> Any:
        cls = type(self)
        ok = plain.get(cls)
        if ok is None:
            ok = plain[cls] = not any(hasattr(attr, "__get__") for attr in
                                      cls.__private_attributes__.values())
        if ok:
            try:
                return get_private(self, "__pydantic_private__")[item]
            except (AttributeError, KeyError, TypeError):
                pass
        return pydantic_getattr(self, item)

    for modname, clsname in _PRIVATE_READERS:
        try:
            module = __import__(modname, fromlist=[clsname])
        except ImportError:
            continue
        cls = getattr(module, clsname, None)
        if isinstance(cls, type) and issubclass(cls, pydantic.BaseModel) and \
                getattr(cls, "__getattr__", None) is pydantic_getattr:
            cls.__getattr__ = __getattr__  # type: ignore[method-assign,attr-defined]


def _our_error(exc: BaseException) -> NovelcrewError | None:
    """The novelcrew error (``ModelError``, ``JobCancelled``) behind whatever crewAI raised."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, NovelcrewError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


async def kickoff(ctx: RunContext, crew: Any, inputs: dict[str, Any]) -> Any:
    """Kick off a fresh crewAI ``Crew`` for ``ctx``'s job and return its ``CrewOutput``.

    Progress counts the crew's tasks; cancellation is checked after every agent step and task,
    and cancelling the awaiting asyncio task stops the kickoff too. A ``ModelError`` (or
    ``JobCancelled``) raised inside crewAI comes out as itself, whatever crewAI wrapped it in.
    """
    prepare(ctx.settings.data_dir)  # resolved inside, once
    install_listeners()
    _let_our_errors_through()
    _reuse_flow_state_classes()
    _skip_absent_file_store()
    _quiet_default_listeners()
    _no_replay_log_by_default()
    _fast_private_reads()
    _collect_young_less_often()
    crewai_executor.install()
    ctx.check_cancelled()
    if crew in _in_flight:
        raise RuntimeError(
            "this crewAI Crew is already running; build fresh Crew/Agent/Task objects per job"
        )
    _in_flight.add(crew)  # before the first await, so a second kickoff of it is refused
    try:
        return await _kickoff(ctx, crew, inputs)
    finally:
        _in_flight.discard(crew)
        _refreeze_after_first_kickoff()


async def _kickoff(ctx: RunContext, crew: Any, inputs: dict[str, Any]) -> Any:
    tasks = list(getattr(crew, "tasks", []) or [])
    await ctx.add_tasks(len(tasks))
    loop = asyncio.get_running_loop()

    def step_callback(_step: Any) -> None:
        ctx.check_cancelled()

    def task_callback(output: Any) -> None:
        # not waited for: the crew's thread must not queue behind a busy event loop
        name = getattr(output, "name", None) or (getattr(output, "description", "") or "")[:80]
        post(loop, ctx.task_finished(str(name)))
        ctx.check_cancelled()

    crew.step_callback = step_callback
    crew.task_callback = task_callback
    with contextlib.suppress(Exception):
        crew.tracing = False
    with contextlib.suppress(Exception):
        crew._task_output_handler = _NoReplayLog()
    token = current_context.set(ctx)
    try:
        run = contextvars.copy_context().run
        output = await loop.run_in_executor(kickoff_pool(), lambda: run(crew.kickoff, inputs))
        from novelcrew.llm.router import given_up

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
        current_context.reset(token)
