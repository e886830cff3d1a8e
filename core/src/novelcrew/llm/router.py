"""The LLM a crew's agents talk to: routed per crew and agent, retried, bounded, accounted for.

``build_llm(ctx, role)`` (what the runner gives ``RunContext.llm``) returns a ``RoutedLLM``: a
crewAI ``BaseLLM`` that sends each call to the routed model, retries failures worth retrying
(429 honouring ``Retry-After``, 5xx, timeouts, connection errors, malformed answers) with
exponential backoff and jitter (one tenacity policy), then tries the fallback models in order,
then raises ``ModelError`` naming every model tried. Every call's usage lands on the job
(``ctx.record_usage``), in an ``llm_call`` event and in the Prometheus counters.

Before a model is asked, the call is looked up in a replayed recording, the job's checkpoint
and the response cache (``reuse.py``), and the job's budget is checked (``budget.py``); a
live answer is kept in each. A spent budget or a missing recording halts the crew run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import copy
import functools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from crewai.llms.base_llm import BaseLLM
from pydantic import BaseModel, PrivateAttr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from novelcrew.crewai.compat import no_inner_retry, ours_only
from novelcrew.crewai.kickoff import give_up, given_up
from novelcrew.errors import BudgetExceeded, ModelError, NotRecorded, NovelcrewError
from novelcrew.jobs import ModelUsage
from novelcrew.llm import metrics
from novelcrew.llm.limit import model_slot
from novelcrew.llm.local import LocalLLM, approx_tokens
from novelcrew.llm.policy import (
    CallTimeout,
    MalformedResponse,
    Verdict,
    backoff_delay,
    describe,
    judge,
)
from novelcrew.llm.reuse import Found, KeptAnswers, Ticket, kept_answers
from novelcrew.llm.sampling import resolve
from novelcrew.llm.usage import token_snapshot, usage_slot

try:  # crewAI 1.14+: stop words for one call without changing the shared LLM
    from crewai.llms.base_llm import call_stop_override
except ImportError:  # pragma: no cover - older crewAI
    call_stop_override = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from novelcrew.context import RunContext
    from novelcrew.settings import Settings

log = structlog.get_logger(__name__)

__all__ = ["RoutedLLM", "build_llm", "model_chain"]


#: provider LLMs shared across jobs: building one costs ~0.5 s of CPU (each OpenAI client
#: loads the CA bundle into a new SSL context). They keep no per-call state (usage travels in
#: a per-call slot), as crewAI allows.
_SHARED: OrderedDict[tuple[int, int, str], tuple[Any, Any, BaseLLM]] = OrderedDict()
_SHARED_MAX = 64
_shared_lock = threading.Lock()


def shared_provider_llm(provider: Any, model_id: str, settings: Settings) -> BaseLLM:
    """``provider.build(model_id, settings)``, built once per provider, settings and model."""
    key = (id(provider), id(settings), model_id)
    with _shared_lock:
        hit = _SHARED.get(key)
        if hit is not None and hit[0] is provider and hit[1] is settings:
            _SHARED.move_to_end(key)
            return hit[2]
    llm = provider.build(model_id, settings)
    with _shared_lock:
        # keep provider and settings alive with the entry so their ids cannot be reused
        _SHARED[key] = (provider, settings, llm)
        while len(_SHARED) > _SHARED_MAX:
            _SHARED.popitem(last=False)
    return llm


@functools.cache
def _guard_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The threads that bound calls to models whose client does not bound them itself."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=256,
                                                 thread_name_prefix="novelcrew-model-guard")


def _ours(llm: BaseLLM) -> bool:
    """Our HTTP providers: bounded by their client's timeout, usage reported per call."""
    from novelcrew.llm.providers import OpenAIEndpointLLM, OpenRouterLLM

    return isinstance(llm, OpenAIEndpointLLM | OpenRouterLLM)


def _reports_usage(llm: BaseLLM) -> bool:
    return _ours(llm) or isinstance(llm, LocalLLM)


#: the attributes of a provider's LLM that change its answers (part of a request's key)
_SAMPLING = ("temperature", "max_tokens", "max_completion_tokens", "top_p", "seed",
             "frequency_penalty", "presence_penalty", "reasoning_effort")

#: what a provider raises on an answer that is not a readable chat completion
_MALFORMED = (AttributeError, TypeError, KeyError, IndexError, json.JSONDecodeError)


def model_chain(ctx: RunContext, agent_role: str | None) -> list[str]:
    """The routed model first, then the fallbacks in order, each once."""
    return list(dict.fromkeys([ctx.model_id(agent_role), *ctx.settings.fallback_models]))


def build_llm(ctx: RunContext, agent_role: str | None = None, *, task: str | None = None,
              temperature: float | None = None, max_tokens: int | None = None) -> RoutedLLM:
    """A crewAI LLM for ``agent_role`` of ``ctx``'s crew (what ``RunContext.llm`` returns).

    ``temperature`` and ``max_tokens`` are the crew's defaults for ``task``; the job's
    ``config.tasks.<task>``, then its ``config``, win over them (``sampling.resolve``: the
    most specific setting wins). What is chosen goes with every call of this LLM, whichever
    model of the chain answers; None leaves the server's setting or the provider's default.
    """
    chosen = resolve(ctx.config, task, temperature=temperature, max_tokens=max_tokens)
    chain = model_chain(ctx, agent_role)
    # fail fast on an unknown provider prefix: a typo is an input error, not an outage
    for model_id in chain:
        ctx.registry.model_provider(model_id)
    return RoutedLLM(model=chain[0], ctx=ctx, agent_role=agent_role, chain=chain,
                     temperature=chosen["temperature"], max_tokens=chosen["max_tokens"])


def with_sampling(llm: BaseLLM, params: dict[str, Any]) -> BaseLLM:
    """``llm``, or a shallow copy of it with this task's sampling settings (those it has).

    The copy shares the shared LLM's HTTP clients. crewAI's ``BaseLLM`` is a pydantic model
    in newer releases (``model_copy``) and a plain object in 1.12 (``copy.copy``)."""
    if isinstance(llm, BaseModel):
        update = {k: v for k, v in params.items() if k in type(llm).model_fields}
        return llm.model_copy(update=update) if update else llm
    update = {k: v for k, v in params.items() if hasattr(llm, k)}
    if not update:
        return llm
    clone = copy.copy(llm)
    for key, value in update.items():
        setattr(clone, key, value)
    return clone


# the steps of a call's plan (``RoutedLLM._plan``) that a thread and a coroutine take each in
# its own way: blocking I/O of the kept answers (a ``partial``), the model call, a wait
@dataclass(frozen=True)
class _Ask:
    model_id: str
    llm: BaseLLM


@dataclass(frozen=True)
class _Sleep:
    seconds: float


_Step = functools.partial[Any] | _Ask | _Sleep


class _Failed(Exception):
    """One failed attempt, judged (what the retry policy reads)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, _Failed) and exc.verdict.action == "retry"


class RoutedLLM(BaseLLM):
    """Routes calls to the chain of models, with retries, fallbacks and usage recording."""

    llm_type: str = "novelcrew"
    _ctx: Any = PrivateAttr(default=None)
    _role: str | None = PrivateAttr(default=None)
    _chain: list[str] = PrivateAttr(default_factory=list)
    _inner: dict[str, BaseLLM] = PrivateAttr(default_factory=dict)
    _build_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _window: int | None = PrivateAttr(default=None)

    _params: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, *, model: str, ctx: RunContext, agent_role: str | None,
                 chain: list[str], temperature: float | None = None,
                 max_tokens: int | None = None) -> None:
        super().__init__(model=model, provider="novelcrew", temperature=temperature)
        self._ctx = ctx
        self._role = agent_role
        self._chain = list(chain)
        self._inner = {}
        self._build_lock = threading.Lock()
        self._window = None
        self._params = {key: value for key, value in
                        (("temperature", temperature), ("max_tokens", max_tokens))
                        if value is not None}

    # routing -------------------------------------------------------------------------------
    @property
    def chain(self) -> list[str]:
        return list(self._chain)

    @property
    def settings(self) -> Settings:
        return self._ctx.settings

    def inner(self, model_id: str) -> BaseLLM:
        """The provider's LLM for ``model_id``, built on first use."""
        llm = self._inner.get(model_id)
        if llm is not None:
            return llm
        with self._build_lock:
            llm = self._inner.get(model_id)
            if llm is None:
                provider = self._ctx.registry.model_provider(model_id)
                llm = with_sampling(shared_provider_llm(provider, model_id,
                                                        self._ctx.settings), self._params)
                self._inner[model_id] = llm
            return llm

    def _primary(self) -> BaseLLM | None:
        try:
            return self.inner(self._chain[0])
        except Exception:
            return None

    # crewAI's questions about the model answer for the routed (first) model ------------------
    def supports_function_calling(self) -> bool:
        primary = self._primary()
        return bool(primary and getattr(primary, "supports_function_calling", bool)())

    def supports_stop_words(self) -> bool:
        primary = self._primary()
        return bool(primary and primary.supports_stop_words())

    def get_context_window_size(self) -> int:
        if self._window is None:
            primary = self._primary()
            if primary is None:
                return super().get_context_window_size()
            self._window = primary.get_context_window_size()
        return self._window

    def get_input_tokens_count(self, messages: Any, tools: Any = None,
                               response_model: Any = None) -> int:
        return approx_tokens(messages)

    def supports_multimodal(self) -> bool:
        primary = self._primary()
        return bool(primary and primary.supports_multimodal())

    # calls ---------------------------------------------------------------------------------
    # ``_plan`` makes every decision of a call once; crewAI's thread path (``call``) and its
    # coroutine path (``acall``) only carry out the steps it yields, each in its own way.
    @ours_only
    def call(self, messages: Any, tools: Any = None, callbacks: Any = None,
             available_functions: Any = None, from_task: Any = None, from_agent: Any = None,
             response_model: Any = None) -> Any:
        args = (messages, tools, callbacks, available_functions, from_task, from_agent,
                response_model)
        plan = self._plan(args, from_agent)
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = plan.send(reply) if error is None else plan.throw(error)
            except StopIteration as done:
                return done.value
            try:
                reply, error = self._take(step, args), None
            except BaseException as exc:  # back into the plan, so its blocks unwind in order
                reply, error = None, exc

    @ours_only
    async def acall(self, messages: Any, tools: Any = None, callbacks: Any = None,
                    available_functions: Any = None, from_task: Any = None,
                    from_agent: Any = None, response_model: Any = None) -> Any:
        args = (messages, tools, callbacks, available_functions, from_task, from_agent,
                response_model)
        plan = self._plan(args, from_agent)
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = plan.send(reply) if error is None else plan.throw(error)
            except StopIteration as done:
                return done.value
            try:
                reply, error = await self._atake(step, args), None
            except BaseException as exc:  # back into the plan, so its blocks unwind in order
                reply, error = None, exc

    def _plan(self, args: tuple[Any, ...], from_agent: Any) -> Generator[_Step, Any, Any]:
        """One call: each model of the chain in turn, answered from the kept answers or
        asked within the budget and the one retry policy, its usage recorded; the answer is
        the generator's return value, ``ModelError`` when no model answered."""
        role = self._agent_role(from_agent)
        self._raise_if_given_up()
        kept = self._stopping(kept_answers, self._ctx)
        failures: list[dict[str, Any]] = []
        for model_id in self._chain:
            ticket = self._ticket(kept, model_id, args)
            if ticket is not None:
                found = yield functools.partial(self._stopping, kept.find, ticket, model_id)
                if found is not None:
                    return self._reused(model_id, role, found)
            self._stopping(self._check_budget, kept)
            waits: list[float] = []  # tenacity decides how long; the driver waits
            try:
                for attempt in Retrying(**self._policy(), sleep=waits.append):
                    if waits:
                        yield _Sleep(waits.pop())
                    with attempt:
                        n = attempt.retry_state.attempt_number
                        self._ctx.check_cancelled()
                        started = time.monotonic()
                        llm = None
                        try:
                            llm = self.inner(model_id)
                            with self._scope(llm) as (slot, before):
                                result = yield _Ask(model_id, llm)
                        except Exception as exc:
                            raise self._failed(model_id, role, n, started, llm, exc,
                                               failures) from exc
                        usage = self._succeeded(model_id, role, n, started, slot, before,
                                                llm)
                        if ticket is not None:
                            yield functools.partial(kept.keep, ticket, result, usage)
                        return result
            except _Failed:
                continue  # retries spent, or not worth retrying here: the next model
        raise self._give_up(failures)

    def _take(self, step: _Step, args: tuple[Any, ...]) -> Any:
        """A step of the plan on crewAI's thread path: blocking, the model bounded by a
        guard thread where its client does not bound it."""
        if isinstance(step, functools.partial):
            return step()
        if isinstance(step, _Sleep):
            return self._sleep(step.seconds)
        with model_slot(self.settings, step.model_id, self._ctx.check_cancelled):
            return self._bounded_call(step.model_id, step.llm, args)

    async def _atake(self, step: _Step, args: tuple[Any, ...]) -> Any:
        """A step of the plan on crewAI's coroutine path: blocking I/O on a thread, the
        model's ``acall`` within the model timeout."""
        if isinstance(step, functools.partial):
            return await asyncio.to_thread(step)
        if isinstance(step, _Sleep):
            return await self._asleep(step.seconds)
        timeout = self.settings.model_timeout_seconds
        try:
            async with model_slot(self.settings, step.model_id, self._ctx.check_cancelled):
                return await asyncio.wait_for(step.llm.acall(*args), timeout)
        except TimeoutError as exc:
            raise CallTimeout(f"no answer from {step.model_id} within {timeout:g}s") from exc

    # helpers -------------------------------------------------------------------------------
    def _policy(self) -> dict[str, Any]:
        """The one retry policy: attempts, which failures, how long to wait."""
        return {
            "stop": stop_after_attempt(self.settings.model_max_retries + 1),
            "retry": retry_if_exception(_worth_retrying),
            "wait": self._wait,
            "reraise": True,
        }

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = exc.verdict.retry_after if isinstance(exc, _Failed) else None
        return backoff_delay(state.attempt_number, self.settings.model_backoff_seconds,
                             self.settings.model_max_backoff_seconds, retry_after)

    def _bounded_call(self, model_id: str, llm: BaseLLM, args: tuple[Any, ...]) -> Any:
        """``llm.call`` within the model timeout.

        Our HTTP providers bound every request themselves (the client's timeout); any other
        model (a plugin's, or one answered in-process) runs on a guard thread so a hang fails
        the attempt instead of the job waiting forever.
        """
        if _ours(llm):
            return llm.call(*args)
        timeout = self.settings.model_timeout_seconds
        run = contextvars.copy_context().run
        future = _guard_pool().submit(run, llm.call, *args)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise CallTimeout(f"no answer from {model_id} within {timeout:g}s") from exc

    @contextlib.contextmanager
    def _scope(self, llm: BaseLLM) -> Iterator[tuple[dict[str, Any], tuple[int, int] | None]]:
        """crewAI's retry off, our stop words, a usage slot; crewAI's token counters read
        before the call only for an LLM that does not report usage itself."""
        stop = self._stop_words()
        before = None if _reports_usage(llm) else token_snapshot(llm)
        with no_inner_retry(), usage_slot() as slot:
            if stop and call_stop_override is not None:
                with call_stop_override(llm, stop):
                    yield slot, before
            else:
                yield slot, before

    def _stop_words(self) -> list[str]:
        """The stop words crewAI set for this call (``stop_sequences``; ``stop`` in 1.12): what
        is sent is what keys the kept answer."""
        return list(getattr(self, "stop_sequences", None) or getattr(self, "stop", None) or [])

    def _agent_role(self, from_agent: Any) -> str | None:
        role = getattr(from_agent, "role", None)
        return role if isinstance(role, str) and role else self._role

    def _sleep(self, seconds: float) -> None:
        if self._ctx.cancel_event.wait(max(0.0, seconds)):
            self._ctx.check_cancelled()

    async def _asleep(self, seconds: float) -> None:
        deadline = time.monotonic() + max(0.0, seconds)
        while (left := deadline - time.monotonic()) > 0:
            self._ctx.check_cancelled()
            await asyncio.sleep(min(left, 0.25))
        self._ctx.check_cancelled()

    def _failed(self, model_id: str, role: str | None, attempt: int, started: float,
                llm: BaseLLM | None, exc: Exception, failures: list[dict[str, Any]]) -> _Failed:
        """Judge and record a failed attempt; an error not worth another try is re-raised."""
        if llm is not None and _ours(llm) and isinstance(exc, _MALFORMED):
            exc = MalformedResponse(f"unreadable chat completion: {exc}")
        verdict = judge(exc)
        if verdict.action == "raise":
            raise exc
        seconds = round(time.monotonic() - started, 3)
        failures.append({"model": model_id, "attempt": attempt, "reason": verdict.reason,
                         "status": verdict.status, "error": describe(exc)})
        self._ctx.record_usage(model_id, ModelUsage(failed_calls=1))
        metrics.observe_failure(model_id)
        log.warning("model_call_failed", model=model_id, attempt=attempt,
                    reason=verdict.reason, action=verdict.action, agent=role)
        self._ctx.emit_threadsafe(
            "llm_call", f"{model_id} failed: {verdict.reason}", model=model_id, agent=role,
            ok=False, attempt=attempt, seconds=seconds, error=verdict.reason,
            status=verdict.status, action=verdict.action,
        )
        return _Failed(verdict)

    def _succeeded(self, model_id: str, role: str | None, attempt: int, started: float,
                   slot: dict[str, Any], before: tuple[int, int] | None,
                   llm: BaseLLM) -> ModelUsage:
        seconds = round(time.monotonic() - started, 3)
        if slot.get("reported") or before is None:
            prompt_tokens = int(slot.get("prompt_tokens", 0))
            completion_tokens = int(slot.get("completion_tokens", 0))
        else:
            after = token_snapshot(llm)
            prompt_tokens = max(0, after[0] - before[0])
            completion_tokens = max(0, after[1] - before[1])
        cost = slot.get("cost")
        usage = ModelUsage(calls=1, prompt_tokens=prompt_tokens,
                           completion_tokens=completion_tokens, cost=cost)
        self._ctx.record_usage(model_id, usage)
        self._ctx.models_used.append(model_id)
        metrics.observe_call(model_id, seconds, prompt_tokens, completion_tokens, cost)
        self._ctx.emit_threadsafe(
            "llm_call", f"{model_id} answered {role or 'crew'} in {seconds:.2f}s",
            model=model_id, agent=role, ok=True, attempt=attempt, seconds=seconds,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost=cost,
            fallback=model_id != self._chain[0],
        )
        return usage

    # kept answers (llm/reuse.py) and the budget (llm/budget.py) ----------------------------
    def _ticket(self, kept: KeptAnswers, model_id: str, args: tuple[Any, ...]) -> Ticket | None:
        """The call's ticket for ``model_id``; None for models answered in this process."""
        try:
            llm = self.inner(model_id)
        except Exception:
            return None  # the attempt reports it
        if isinstance(llm, LocalLLM):
            return None
        params = {name: getattr(llm, name, None) for name in _SAMPLING}
        params["stop"] = self._stop_words() or None
        return self._stopping(kept.ticket, model_id, args, params)

    def _reused(self, model_id: str, role: str | None, found: Found) -> Any:
        saved = found.usage
        self._ctx.record_usage(model_id, ModelUsage(
            cached_calls=1, saved_tokens=saved.prompt_tokens + saved.completion_tokens,
            saved_cost=saved.cost))
        metrics.observe_reused(model_id)
        self._ctx.emit_threadsafe(
            "llm_call", f"{model_id} answered {role or 'crew'} from the {found.source}",
            model=model_id, agent=role, ok=True, cached=True, source=found.source,
            seconds=0.0, prompt_tokens=0, completion_tokens=0, cost=0.0,
            saved_tokens=saved.prompt_tokens + saved.completion_tokens, saved_cost=saved.cost,
            fallback=model_id != self._chain[0],
        )
        return found.result

    def _check_budget(self, kept: KeptAnswers) -> None:
        if not kept.budget.unlimited:
            usages = [*self._ctx.usage_before.values(), *list(self._ctx.usage.values())]
            kept.budget.check(usages)

    def _stopping(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)``; an error that ends the crew run (budget, not recorded) is kept so
        that crewAI cannot swallow it (see ``_raise_if_given_up``)."""
        try:
            return fn(*args)
        except NovelcrewError as exc:
            give_up(self._ctx, exc)
            if isinstance(exc, BudgetExceeded | NotRecorded):
                self._ctx.halt = exc  # the job cannot go on, whatever the crew makes of it
            raise

    def _raise_if_given_up(self) -> None:
        """After every model gave up once in this crew run, later calls fail at once.

        crewAI swallows some errors (its output converter retries, then keeps the raw text),
        so without this a dead provider would be tried again and again; the kickoff raises
        the recorded ``ModelError`` when the crew returns.
        """
        error = given_up(self._ctx)
        if error is not None:
            raise error

    def _give_up(self, failures: list[dict[str, Any]]) -> ModelError:
        tried = list(dict.fromkeys(f["model"] for f in failures))
        last = {f["model"]: f["reason"] for f in failures}
        for model_id in tried:
            metrics.observe_failure(model_id, "gave_up")
        summary = "; ".join(f"{m}: {last[m]}" for m in tried)
        error = ModelError(
            f"no model answered after retries and fallbacks; tried {', '.join(tried)} "
            f"({summary})",
            {"models": tried, "attempts": failures},
        )
        give_up(self._ctx, error)
        return error
