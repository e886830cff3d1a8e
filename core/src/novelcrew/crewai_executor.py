"""crewAI's agent executor flow, run in the calling thread instead of on an event loop.

Every task's ``AgentExecutor`` is a crewAI ``Flow``. Its generic ``kickoff`` starts a fresh
event loop (``asyncio.run``) per task, runs each of the ~12 steps of one ReAct turn on a new
``asyncio.to_thread`` hop, and finds the next step by testing every listener's condition after
every step. That machinery is about two thirds of crewAI's CPU per task (tens of milliseconds),
which 50 concurrent jobs on one interpreter lock pay one after another.

``install()`` gives ``AgentExecutor.kickoff`` a synchronous driver for the cases a crew run
produces (crew-bound, no streaming, persistence, checkpoints or human feedback). It calls the
executor's own step methods in the order crewAI's flow engine would: the same routers, the
same start/listen/or semantics, the same loop guard, the same flow started/finished/failed
events, each step in a copy of the context as ``to_thread`` gave it. Anything else goes to
crewAI's own ``kickoff``. Not kept: the executor flow's own ``usage_metrics`` aggregation (a
bus listener per task that every LLM call of every job visited); the agent's and crew's usage,
read from the LLM's counters, are unaffected.

If crewAI's flow internals change shape, ``install()`` does nothing and crewAI runs as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import inspect
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

#: crewAI minor versions this driver was written against and tested with
SUPPORTED_VERSIONS = ("1.15.",)

_install_lock = threading.Lock()
_installed = False
_tried = False
_original_kickoff: Callable[..., Any] | None = None
#: per executor class and flow definition (kept alive with its entry): the listener index, or
#: None when that graph is not supported
_graphs: dict[tuple[type, int], tuple[Any, _Graph | None]] = {}
_GRAPHS_MAX = 64

_RUNTIME_NAMES = (
    "Flow", "FlowStartedEvent", "FlowFinishedEvent", "FlowFailedEvent", "FlowMethodName",
    "PendingListenerKey", "UsageMetrics", "attach", "baggage", "crewai_event_bus", "detach",
    "current_flow_defer_trace_finalization", "current_flow_id", "current_flow_name",
    "current_flow_request_id", "get_current_parent_id", "get_env_context",
    "reset_emission_counter", "reset_last_event_id", "_is_multi_event_or",
    "_iter_condition_events",
)
_FLOW_METHODS = (
    "_reset_tool_action_usage_budgets", "_begin_trace_execution", "_end_trace_execution",
    "_should_defer_trace_finalization", "_clear_or_listeners",
    "_should_apply_pending_kickoff_context", "_apply_pending_kickoff_context",
    "_start_method_names", "_start_condition",
    "_order_start_methods_for_kickoff", "_is_router", "_condition_met",
    "_rearm_or_listeners_for_trigger", "_record_kickoff_output",
    "_drain_memory_writes", "_detach_usage_aggregation_listener", "_skip_interception",
    "_owns_execution_boundary", "_copy_and_serialize_state",
    "_listener_methods", "_start_condition_triggered_by",
)
#: per-instance state the driver reads and writes, as crewAI's engine does
_FLOW_ATTRS = (
    "_definition", "_methods", "_completed_methods", "_method_outputs", "_pending_events",
    "_method_call_counts", "_method_execution_counts", "_fired_or_listeners",
    "_or_listeners_lock", "_event_futures", "_usage_aggregation_handler",
    "_restored_from_checkpoint", "_is_execution_resuming", "max_method_calls",
    "last_human_feedback", "method_outputs", "flow_id",
)


class _Unsupported(Exception):
    """This kickoff needs crewAI's own flow engine."""


class _Graph:
    """Which listeners an event can trigger: only those whose condition names it.

    crewAI tests every listener's condition against every event; a listener whose condition
    does not mention an event can never be satisfied by it, so skipping it changes nothing.
    """

    def __init__(self, flow: Any, rt: Any) -> None:
        self.routers: dict[str, list[tuple[Any, Any, Any]]] = {}
        self.listeners: dict[str, list[tuple[Any, Any, Any]]] = {}
        self.multi_or: dict[Any, bool] = {}
        for name, definition, condition in flow._listener_methods():
            table = self.routers if definition.router else self.listeners
            self.multi_or[name] = rt._is_multi_event_or(condition)
            for event in dict.fromkeys(rt._iter_condition_events(condition)):
                table.setdefault(str(event), []).append((name, definition, condition))
        self.signatures: dict[Any, bool] = {}
        self.coroutines: dict[Any, bool] = {}
        #: start methods with a start condition (only they can be re-triggered by a router)
        self.conditional_starts = [name for name in flow._start_method_names()
                                   if flow._start_condition(name) is not None]

    def takes_argument(self, name: Any, method: Any) -> bool:
        takes = self.signatures.get(name)
        if takes is None:
            params = inspect.signature(method).parameters.values()
            takes = any(p.name != "self" for p in params)
            self.signatures[name] = takes
        return takes


def _graph_for(flow: Any, rt: Any) -> _Graph | None:
    definition = getattr(flow, "_definition", None)
    key = (type(flow), id(definition))
    hit = _graphs.get(key)
    if hit is not None and hit[0] is definition:
        return hit[1]
    graph: _Graph | None = None
    try:
        if definition is None or not all(hasattr(flow, name) for name in _FLOW_ATTRS):
            raise _Unsupported("missing flow attributes")
        methods = definition.methods.values()
        simple = definition.persist is None and all(
            m.human_feedback is None and m.persist is None for m in methods
        )
        if simple:
            graph = _Graph(flow, rt)
            # several plain listeners on one event run concurrently in crewAI (and racing
            # or-listeners cancel each other): not reproduced here, so not taken over
            if any(len(entries) > 1 for entries in graph.listeners.values()):
                graph = None
    except Exception:
        log.debug("crewAI agent executor graph not understood", exc_info=True)
        graph = None
    if len(_graphs) < _GRAPHS_MAX:  # an instance-specific definition (a renamed flow)
        _graphs[key] = (definition, graph)
    return graph


def _runtime() -> Any | None:
    try:
        import crewai
        from crewai.flow import runtime
    except ImportError:
        return None
    version = str(getattr(crewai, "__version__", ""))
    if not version.startswith(SUPPORTED_VERSIONS):
        return None
    if not all(hasattr(runtime, name) for name in _RUNTIME_NAMES):
        return None
    if not all(hasattr(runtime.Flow, name) for name in _FLOW_METHODS):
        return None
    return runtime


def install() -> bool:
    """Give crewAI's ``AgentExecutor`` the synchronous driver (idempotent); False if not."""
    global _installed, _original_kickoff, _tried
    if _tried:
        return _installed
    with _install_lock:
        if _tried:
            return _installed
        _tried = True
        _cheap_method_binding()
        rt = _runtime()
        if rt is None:
            return False
        try:
            from crewai.agents.agent_executor import AgentExecutor
        except ImportError:
            return False
        if not issubclass(AgentExecutor, rt.Flow) or "kickoff" in AgentExecutor.__dict__:
            return False
        original = rt.Flow.kickoff

        def kickoff(self: Any, inputs: Any = None, input_files: Any = None,
                    from_checkpoint: Any = None, restore_from_state_id: Any = None) -> Any:
            if inputs is None and input_files is None and from_checkpoint is None \
                    and restore_from_state_id is None:
                graph = _eligible(self, rt)
                if graph is not None:
                    return _kickoff(self, rt, graph)
            return original(self, inputs, input_files, from_checkpoint, restore_from_state_id)

        kickoff.__doc__ = original.__doc__
        AgentExecutor.kickoff = kickoff  # type: ignore[method-assign]
        _original_kickoff = original
        _installed = True
        return True


def uninstall() -> None:
    """Give ``AgentExecutor`` back crewAI's own ``kickoff`` (for tests and comparisons)."""
    global _installed, _tried
    with _install_lock:
        _tried = False
        if not _installed:
            return
        from crewai.agents.agent_executor import AgentExecutor

        if "kickoff" in AgentExecutor.__dict__:
            del AgentExecutor.kickoff
        _installed = False


_binding_patched = False


def _cheap_method_binding() -> None:
    """Bind flow step methods by copying the class-level wrapper instead of rebuilding it.

    Each new ``AgentExecutor`` (one per agent per crew run) binds its ~30 step methods; crewAI's
    ``FlowMethod.__get__`` re-runs ``functools.update_wrapper`` and ``inspect.signature`` for
    each, about a third of the executor's construction. The bound wrapper it builds holds the
    class-level wrapper's attributes plus the instance, so it is copied. The patch checks, once,
    that its copy matches what crewAI builds, and is not applied otherwise.
    """
    global _binding_patched
    if _binding_patched:
        return
    try:
        from crewai.flow.flow_wrappers import FlowMethod
    except ImportError:
        return
    original = FlowMethod.__dict__.get("__get__")
    if original is None:
        return

    def __get__(self: Any, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        bound = object.__new__(type(self))
        bound.__dict__.update(self.__dict__)
        bound._instance = instance
        bound.__self__ = instance
        return bound

    class _Probe:
        pass

    def _step(self: Any, value: int = 1) -> int:
        """A probe."""
        return value

    try:
        wrapper = FlowMethod(_step)
        wrapper.__is_router__ = True  # type: ignore[attr-defined]  # a decorator's mark
        probe = _Probe()
        theirs, ours = original(wrapper, probe, _Probe), __get__(wrapper, probe, _Probe)
        same = (type(theirs) is type(ours) and theirs.__dict__.keys() == ours.__dict__.keys()
                and all(theirs.__dict__[k] == ours.__dict__[k] for k in theirs.__dict__
                        if k != "__signature__")
                and str(theirs.__signature__) == str(ours.__signature__)
                and theirs(2) == ours(2) == 2)
    except Exception:
        same = False
    if same:
        FlowMethod.__get__ = __get__  # type: ignore[method-assign]
        _binding_patched = True


def _eligible(flow: Any, rt: Any) -> _Graph | None:
    """The listener index when this kickoff can run synchronously, else None."""
    try:
        asyncio.get_running_loop()
        return None  # crewAI runs it on a thread of its own then; leave that to crewAI
    except RuntimeError:
        pass
    try:
        if flow.stream or flow.persistence is not None or not flow.suppress_flow_events:
            return None
        if flow._restored_from_checkpoint or flow._is_execution_resuming:
            return None
        if flow._should_defer_trace_finalization():
            return None
        if not type(flow).is_crewai_internal or flow._owns_execution_boundary():
            return None  # crewAI would dispatch interception hooks
        if flow._usage_aggregation_handler is not None:
            return None  # a re-entrant kickoff
        return _graph_for(flow, rt)
    except Exception:
        return None


def _kickoff(flow: Any, rt: Any, graph: _Graph) -> Any:
    """``Flow.kickoff``: the body runs in a copy of the context, as ``asyncio.run`` gives it."""
    bus = rt.crewai_event_bus
    runtime_scope = bus._enter_runtime_scope()
    try:
        return contextvars.copy_context().run(_run, flow, rt, graph)
    finally:
        bus._exit_runtime_scope(runtime_scope)


def _wait(future: Any, what: str) -> None:
    if future is None:
        return
    try:
        future.result()
    except Exception:
        log.warning("%s handler failed", what, exc_info=True)


def _run(flow: Any, rt: Any, graph: _Graph) -> Any:
    """``Flow.kickoff_async`` for an internal flow without inputs, hooks or persistence."""
    bus = rt.crewai_event_bus
    flow._reset_tool_action_usage_budgets()
    flow._cel_now = datetime.now(UTC)
    ctx = rt.baggage.set_baggage("flow_inputs", {})
    ctx = rt.baggage.set_baggage("flow_input_files", {}, context=ctx)
    flow_token = rt.attach(ctx)
    tokens: list[tuple[Any, Any]] = []
    if rt.current_flow_id.get() is None:
        tokens.append((rt.current_flow_id, rt.current_flow_id.set(flow.flow_id)))
        tokens.append((rt.current_flow_name, rt.current_flow_name.set(
            flow.name or flow.__class__.__name__)))
        tokens.append((rt.current_flow_defer_trace_finalization,
                       rt.current_flow_defer_trace_finalization.set(
                           flow._should_defer_trace_finalization())))
    if rt.current_flow_request_id.get() is None:
        tokens.append((rt.current_flow_request_id, rt.current_flow_request_id.set(flow.flow_id)))
    runtime_scope = bus._enter_runtime_scope()
    flow._flow_match_id = rt.current_flow_id.get()
    flow._aggregated_usage_metrics = rt.UsageMetrics()
    flow_scope_open = False
    execution_token = None
    inputs_token = None
    try:
        execution_token = flow._begin_trace_execution()
        inputs_token = rt.attach(rt.baggage.set_baggage("flow_inputs", {}))
        flow._completed_methods.clear()
        flow._method_outputs.clear()
        flow._pending_events.clear()
        flow._clear_or_listeners()
        flow._method_call_counts.clear()
        flow._restored_from_checkpoint = False
        flow_scope_open = _open_flow_scope(flow, rt)
        if flow._should_apply_pending_kickoff_context():
            flow._apply_pending_kickoff_context()
        starts = flow._start_method_names()
        unconditional = [s for s in starts if flow._start_condition(s) is None]
        starts, _ = flow._order_start_methods_for_kickoff(unconditional or starts)
        for start in starts:
            _execute_start_method(flow, rt, graph, start)
        flow._is_execution_resuming = False
        outputs = flow.method_outputs
        final_output = outputs[-1] if outputs else None
        flow._record_kickoff_output(final_output)
        _drain_event_futures(flow)
        flow._drain_memory_writes()
        bus.flush()
        _wait(bus.emit(flow, rt.FlowFinishedEvent(
            type="flow_finished", flow_name=flow._definition.name, result=final_output,
            state=flow._copy_and_serialize_state(),
        )), "FlowFinishedEvent")
        return final_output
    except Exception as exc:
        if flow_scope_open:
            _emit_flow_failed(flow, rt, exc)
        raise
    finally:
        flow._drain_memory_writes()
        bus.flush()
        flow._detach_usage_aggregation_listener()
        for var, token in reversed(tokens):
            var.reset(token)
        if inputs_token is not None:
            rt.detach(inputs_token)
        flow._end_trace_execution(execution_token)
        rt.detach(flow_token)
        bus._exit_runtime_scope(runtime_scope)


def _drain_event_futures(flow: Any) -> None:
    futures = list(flow._event_futures)
    flow._event_futures.clear()
    for future in futures:
        if hasattr(future, "result"):
            future.result()


def _open_flow_scope(flow: Any, rt: Any) -> bool:
    if rt.get_current_parent_id() is None:
        rt.reset_emission_counter()
        rt.reset_last_event_id()
    _wait(rt.crewai_event_bus.emit(flow, rt.FlowStartedEvent(
        type="flow_started", flow_name=flow._definition.name, inputs=None,
    )), "FlowStartedEvent")
    rt.get_env_context()
    return True


def _emit_flow_failed(flow: Any, rt: Any, error: BaseException) -> None:
    try:
        futures = list(flow._event_futures)
        flow._event_futures.clear()
        for future in futures:
            with contextlib.suppress(Exception):
                future.result()
        flow._drain_memory_writes()
        rt.crewai_event_bus.flush()
        _wait(rt.crewai_event_bus.emit(flow, rt.FlowFailedEvent(
            type="flow_failed", flow_name=flow._definition.name, error=error,
        )), "FlowFailedEvent")
    except Exception:
        log.warning("Failed to signal flow failure", exc_info=True)


def _call(graph: _Graph, name: Any, method: Any, *args: Any) -> Any:
    """Run one step as crewAI does: a sync step in a copy of the context, no loop running."""
    is_coroutine = graph.coroutines.get(name)
    if is_coroutine is None:
        is_coroutine = graph.coroutines[name] = inspect.iscoroutinefunction(method)
    if is_coroutine:
        return asyncio.run(method(*args))
    result = contextvars.copy_context().run(method, *args)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return result


def _execute_method(flow: Any, graph: _Graph, name: Any, method: Any, *args: Any) -> Any:
    token = _method_name_var().set(name)
    try:
        result = _call(graph, name, method, *args)
    finally:
        _method_name_var().reset(token)
    flow._method_outputs.append({"method": str(name), "output": result})
    counts = flow._method_execution_counts
    counts[name] = counts.get(name, 0) + 1
    flow._completed_methods.add(name)
    # no persistence to write: the graph is taken over only when no step persists
    return result


def _method_name_var() -> Any:
    from crewai.flow.flow_context import current_flow_method_name

    return current_flow_method_name


def _execute_start_method(flow: Any, rt: Any, graph: _Graph, name: Any) -> None:
    if name in flow._completed_methods:
        flow._completed_methods.discard(name)
        flow._clear_or_listeners()
    result = _execute_method(flow, graph, name, flow._methods[name])
    if flow._is_router(name) and result is not None:
        _execute_listeners(flow, rt, graph, name, result)
        outcome = result.value if isinstance(result, enum.Enum) else result
        _execute_listeners(flow, rt, graph, rt.FlowMethodName(str(outcome)),
                           flow.last_human_feedback if flow.last_human_feedback is not None
                           else result)
    else:
        _execute_listeners(flow, rt, graph, name, result)


def _find_triggered(flow: Any, rt: Any, graph: _Graph, trigger: Any,
                    router_only: bool) -> list[Any]:
    table = graph.routers if router_only else graph.listeners
    triggered = []
    for name, _definition, condition in table.get(str(trigger), ()):
        check_fired = graph.multi_or[name] and not router_only
        if check_fired and name in flow._fired_or_listeners:
            continue
        if flow._condition_met(condition, trigger, rt.PendingListenerKey(str(name))):
            triggered.append(name)
            if check_fired:
                flow._fired_or_listeners.add(name)
    return triggered


def _execute_listeners(flow: Any, rt: Any, graph: _Graph, trigger: Any, result: Any) -> None:
    """crewAI's ``_execute_listeners``: routers in a chain, then the plain listeners."""
    router_results: list[Any] = []
    payloads: dict[str, Any] = {}
    current_trigger = trigger
    current_result = result
    ran_for_trigger: dict[str, set[Any]] = {}
    while True:
        routers = _find_triggered(flow, rt, graph, current_trigger, router_only=True)
        if not routers:
            break
        ran_for_trigger.setdefault(str(current_trigger), set()).update(routers)
        for router in routers:
            outcome = _execute_single_listener(flow, rt, graph, router, current_result)
            if outcome is None:
                current_trigger = rt.FlowMethodName("")
                continue
            outcome = outcome.value if isinstance(outcome, enum.Enum) else outcome
            event = rt.FlowMethodName(str(outcome))
            router_results.append(event)
            payloads[str(outcome)] = (flow.last_human_feedback
                                      if flow.last_human_feedback is not None else outcome)
            current_trigger = event

    with flow._or_listeners_lock:
        rearmable = set(flow._fired_or_listeners)
    for index, each in enumerate([trigger, *router_results]):
        if not each:
            continue
        if index > 0 and rearmable:
            flow._rearm_or_listeners_for_trigger(each, rearmable)
        listeners = _find_triggered(flow, rt, graph, each, router_only=False)
        ran_for_trigger.setdefault(str(each), set()).update(listeners)
        for listener in listeners:
            _execute_single_listener(flow, rt, graph, listener, payloads.get(str(each), result))
        if each in router_results:
            for start in graph.conditional_starts:
                if flow._start_condition_triggered_by(start, each) and \
                        start not in ran_for_trigger.get(str(each), set()):
                    _execute_start_method(flow, rt, graph, start)


def _execute_single_listener(flow: Any, rt: Any, graph: _Graph, name: Any, result: Any) -> Any:
    count = flow._method_call_counts.get(name, 0) + 1
    if count > flow.max_method_calls:
        raise RecursionError(
            f"Method '{name}' has been called {flow.max_method_calls} times in "
            f"this flow execution, which indicates an infinite loop. "
            f"This commonly happens when a @listen label matches the "
            f"method's own name."
        )
    flow._method_call_counts[name] = count
    if name in flow._completed_methods:
        flow._completed_methods.discard(name)
        flow._clear_or_listeners()
    try:
        method = flow._methods[name]
        if graph.takes_argument(name, method):
            output = _execute_method(flow, graph, name, method, result)
        else:
            output = _execute_method(flow, graph, name, method)
        _execute_listeners(flow, rt, graph, name, output)
        return output
    except Exception as exc:
        if not getattr(exc, "_flow_listener_logged", False):
            logging.getLogger("crewai.flow.runtime").error(
                f"Error executing listener {name}: {exc}")
            exc._flow_listener_logged = True  # type: ignore[attr-defined]
        raise
