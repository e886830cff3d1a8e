"""Answers a model call already got: from a recording, the job's checkpoint, or the cache.

Before ``RoutedLLM`` asks a model, it looks the request up, in this order:
1. the recording being replayed (``NOVELCREW_LLM_REPLAY``, ``recording.py``);
2. the job's checkpoint: the answers the job's calls got in an earlier run of the same job (a
   crash, a SIGKILL, a lost arq worker, a transient failure), whether or not the cache is on;
3. the response cache shared by all jobs, unless off (``NOVELCREW_LLM_CACHE=false``, or the
   job's ``config.cache: false``).
A live answer is then written to each of them (and an answer from the checkpoint or the cache
to the recording being made, so that it misses nothing). All three share one key
(``request_key``).

The checkpoint names each call ``<crew>:<key>:<n>``, the ``n``-th call of the crew run with
that key, so a job that asks the same question twice gets back both answers in order.

Not kept: calls to models answered in this process (``offline``, the SDK's scripted LLM:
free, deterministic, nothing to save, and a test that counts their calls must see them all),
and calls that pass ``available_functions`` (the provider runs the tool inside the call, and
replaying the answer would skip the tool). A store that fails is a miss, never a job's failure.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from novelcrew.jobs import ModelUsage
from novelcrew.llm.answers import decode_answer, encode_answer
from novelcrew.llm.budget import Budget
from novelcrew.llm.recording import Recording
from novelcrew.llm.request_key import canonical_request, key_of

if TYPE_CHECKING:
    from novelcrew.context import RunContext
    from novelcrew.llm.replies import ReplyStore

log = logging.getLogger(__name__)

__all__ = ["Found", "KeptAnswers", "Ticket", "cache_enabled", "kept_answers"]

_ATTR = "_novelcrew_kept_answers"
_attach_lock = threading.Lock()


def cache_enabled(config: Any, settings: Any) -> bool:
    """Whether a job's calls use the shared cache: the setting, unless ``config.cache``
    says otherwise (``InvalidInput`` if it is not a boolean)."""
    from novelcrew.errors import InvalidInput

    value = config.get("cache") if config else None
    if value is not None and not isinstance(value, bool):
        raise InvalidInput("config.cache must be true or false", {
            "config": "cache", "errors": [{"loc": ["config", "cache"],
                                           "msg": "must be true or false", "type": "bool_type"}]})
    return bool(settings.llm_cache) if value is None else value


@dataclass(frozen=True)
class Ticket:
    """One call to one model, as the kept answers know it."""

    key: str
    name: str
    request: str
    response_model: Any


@dataclass(frozen=True)
class Found:
    """A kept answer: where from, the answer, and what asking for it cost the first time."""

    source: str  # "replay" | "checkpoint" | "cache"
    result: Any
    usage: ModelUsage


def _usage(entry: dict[str, Any]) -> ModelUsage:
    found = entry.get("usage")
    raw: dict[str, Any] = found if isinstance(found, dict) else {}
    cost = raw.get("cost")
    return ModelUsage(prompt_tokens=int(raw.get("prompt_tokens") or 0),
                      completion_tokens=int(raw.get("completion_tokens") or 0),
                      cost=float(cost) if isinstance(cost, int | float) else None)


class KeptAnswers:
    """The recording, checkpoint and cache of one crew run of one job."""

    def __init__(self, ctx: RunContext) -> None:
        settings = ctx.settings
        self.job_id = ctx.job_id
        self.crew = ctx.crew
        self.store: ReplyStore | None = ctx.replies
        self.cache = cache_enabled(ctx.config, settings)
        self.ttl = settings.llm_cache_ttl_seconds or None
        self.recording = Recording.of(settings)
        self.budget = Budget.of_job(ctx.config, settings)
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    # looking up ------------------------------------------------------------------------
    def ticket(self, model_id: str, args: tuple[Any, ...], params: dict[str, Any]
               ) -> Ticket | None:
        """The ticket of a call, or None if its answer must not be kept."""
        messages, tools, _callbacks, available_functions, _task, _agent, response_model = args
        request = canonical_request(model_id, messages, response_model=response_model,
                                    tools=tools, params=params)
        key = key_of(request)
        if available_functions:
            rec = self.recording
            if rec is not None and rec.replay is not None and rec.record is None:
                raise rec.missing(key, model_id, "; a call that runs its tools inside the "
                                  "model call is never recorded")
            return None
        with self._lock:
            self._seen[key] += 1
            n = self._seen[key]
        return Ticket(key=key, name=f"{self.crew}:{key}:{n}", request=request,
                      response_model=response_model)

    def find(self, ticket: Ticket, model_id: str) -> Found | None:
        """A kept answer for ``ticket`` (``NotRecorded`` when replaying only and missing)."""
        if self.recording is not None:
            entry = self.recording.find(ticket.key, model_id)
            found = self._decoded("replay", entry, ticket)
            if found is not None:
                return found
        if self.store is None:
            return None
        try:
            entry = self.store.checkpoint_get(self.job_id, ticket.name)
            found = self._decoded("checkpoint", entry, ticket)
            if found is None and self.cache:
                entry = self.store.get(ticket.key)
                found = self._decoded("cache", entry, ticket)
        except Exception as exc:
            log.warning("kept answers unreadable, asking the model: %s", _describe(exc))
            return None
        if found is not None and entry is not None and self.recording is not None:
            self.recording.save(ticket.key, ticket.request, entry)  # a recording misses none
        return found

    @staticmethod
    def _decoded(source: str, entry: dict[str, Any] | None, ticket: Ticket) -> Found | None:
        if entry is None:
            return None
        try:
            result = decode_answer(entry, ticket.response_model)
        except Exception as exc:  # kept for another shape: ask again
            log.warning("a kept answer (%s) does not fit its call: %s", source, _describe(exc))
            return None
        return Found(source=source, result=result, usage=_usage(entry))

    # keeping ---------------------------------------------------------------------------
    def keep(self, ticket: Ticket, result: Any, usage: ModelUsage) -> None:
        """Write a live answer to the recording, the job's checkpoint and the cache."""
        entry = encode_answer(result, ticket.response_model)
        if entry is None:
            return
        entry["usage"] = {"prompt_tokens": usage.prompt_tokens,
                          "completion_tokens": usage.completion_tokens, "cost": usage.cost}
        if self.recording is not None:
            self.recording.save(ticket.key, ticket.request, entry)
        if self.store is None:
            return
        try:
            self.store.checkpoint_put(self.job_id, ticket.name, entry)
            if self.cache:
                self.store.put(ticket.key, entry, self.ttl)
        except Exception as exc:
            log.warning("could not keep a model answer: %s", _describe(exc))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def kept_answers(ctx: RunContext) -> KeptAnswers:
    """The ``KeptAnswers`` of a crew run, made on its first call."""
    found = getattr(ctx, _ATTR, None)
    if isinstance(found, KeptAnswers):
        return found
    with _attach_lock:
        found = getattr(ctx, _ATTR, None)
        if not isinstance(found, KeptAnswers):
            found = KeptAnswers(ctx)
            setattr(ctx, _ATTR, found)
    return found
