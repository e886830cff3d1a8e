"""A scripted crewAI LLM for deterministic tests: replies chosen by the calling agent's role.

Tests of a crew need answers that do not depend on a provider. ``ScriptedLLM`` answers each
call from a script keyed by agent role (a fixed reply, a list consumed in order whose last entry
repeats, or a function of the prompt), records every call, reports fake token usage so usage
accounting can be tested, and emits crewAI's call events so progress listeners see the calls.

crewAI is imported when this module is imported: import it from tests, not from plugin entry
points.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from crewai.events.types.llm_events import LLMCallType
from crewai.llms.base_llm import BaseLLM, llm_call_context
from pydantic import PrivateAttr

from novelcrew.hookspecs import hookimpl
from novelcrew.specs import Model

Reply = str | Callable[[str], str]
Script = list[str] | str | Callable[[str], str]

__all__ = ["ScriptedCall", "ScriptedLLM", "ScriptedModels", "scripted_models_plugin"]


@dataclass
class ScriptedCall:
    """One call the scripted LLM answered."""

    role: str | None
    messages: list[dict[str, Any]]
    prompt: str
    reply: str
    usage: dict[str, int] = field(default_factory=dict)


def _messages(messages: Any) -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    out: list[dict[str, Any]] = []
    for message in messages or []:
        if isinstance(message, dict):
            out.append(dict(message))
        else:
            out.append({"role": getattr(message, "role", "user"),
                        "content": getattr(message, "content", str(message))})
    return out


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "\n".join(str(b.get("text", "")) if isinstance(b, dict) else str(b)
                         for b in content)
    return "" if content is None else str(content)


def _prompt(messages: list[dict[str, Any]]) -> str:
    return "\n\n".join(_text(m.get("content")) for m in messages)


def fake_usage(prompt: str, reply: str) -> dict[str, int]:
    """Token counts of about four characters a token, as providers roughly count."""
    prompt_tokens = max(1, len(prompt) // 4)
    completion_tokens = max(1, len(reply) // 4)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _no_crewai_retry(fn: Any) -> Any:
    """Opt a method out of the rate-limit retry crewAI wraps around ``call``/``acall``."""
    fn._crewai_rate_limit_wrapped = True
    return fn


class ScriptedLLM(BaseLLM):
    """Answers from a script keyed by agent role; records every call.

    ``replies`` maps an agent role to a reply: a string, a list consumed in order (its last
    entry repeats), or a callable receiving the prompt text. The role is the calling agent's
    ``role``; without one, the first role whose text appears in the system prompt is used.
    ``default`` answers roles the script does not name (by default a plain final answer).
    """

    llm_type: str = "scripted"
    _script: dict[str, Script] = PrivateAttr(default_factory=dict)
    _default: Reply | None = PrivateAttr(default=None)
    _positions: dict[str, int] = PrivateAttr(default_factory=dict)
    _calls: list[ScriptedCall] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(
        self,
        replies: dict[str, Script] | None = None,
        default: Reply | None = None,
        *,
        model: str = "scripted",
        **kwargs: Any,
    ) -> None:
        super().__init__(model=model, provider="scripted", **kwargs)
        self._script = dict(replies or {})
        self._default = default

    # what tests look at --------------------------------------------------------------------
    @property
    def calls(self) -> list[ScriptedCall]:
        """Every call answered so far, in order."""
        with self._lock:
            return list(self._calls)

    def calls_for(self, role: str) -> list[ScriptedCall]:
        return [c for c in self.calls if c.role == role]

    # choosing a reply ----------------------------------------------------------------------
    def _role(self, from_agent: Any, messages: list[dict[str, Any]]) -> str | None:
        role = getattr(from_agent, "role", None)
        if isinstance(role, str) and role:
            return role
        system = "\n".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
        haystack = system or _prompt(messages)
        for name in self._script:
            if name and name in haystack:
                return name
        return None

    def _reply(self, role: str | None, prompt: str) -> str:
        chosen: Reply | None = None
        with self._lock:  # pick under the lock; call a function outside it (it may block)
            script: Script | None = self._script.get(role) if role is not None else None
            if script is None:
                # roles may differ in case
                for name, candidate in self._script.items():
                    if role and name.lower() == role.lower():
                        script, role = candidate, name
                        break
            if script is None:
                chosen = self._default
                if chosen is None:
                    return "Thought: I can answer now.\nFinal Answer: done"
            elif callable(script) or isinstance(script, str):
                chosen = script
            elif not script:
                return ""
            else:
                key = role or ""
                index = self._positions.get(key, 0)
                self._positions[key] = index + 1
                chosen = script[min(index, len(script) - 1)]
        return chosen(prompt) if callable(chosen) else chosen

    # crewAI's interface --------------------------------------------------------------------
    @_no_crewai_retry
    def call(
        self,
        messages: Any,
        tools: list[dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: dict[str, Any] | None = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        msgs = _messages(messages)
        prompt = _prompt(msgs)
        role = self._role(from_agent, msgs)
        if not hasattr(from_agent, "id"):  # crewAI's events want a real agent, or none
            from_agent = None
        with llm_call_context():
            self._emit_call_started_event(messages=cast(Any, msgs), tools=tools,
                                          callbacks=callbacks,
                                          available_functions=available_functions,
                                          from_task=from_task, from_agent=from_agent)
            try:
                reply = self._reply(role, prompt)
            except Exception as exc:
                self._emit_call_failed_event(error=str(exc), from_task=from_task,
                                             from_agent=from_agent)
                raise
            usage = fake_usage(prompt, reply)
            self._track_token_usage_internal(usage)
            with self._lock:
                self._calls.append(ScriptedCall(role=role, messages=msgs, prompt=prompt,
                                                reply=reply, usage=usage))
            self._emit_call_completed_event(response=reply, call_type=LLMCallType.LLM_CALL,
                                            from_task=from_task, from_agent=from_agent,
                                            messages=cast(Any, msgs), usage=usage)
        return reply

    @_no_crewai_retry
    async def acall(
        self,
        messages: Any,
        tools: list[dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: dict[str, Any] | None = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        return self.call(messages, tools, callbacks, available_functions, from_task,
                         from_agent, response_model)

    def supports_function_calling(self) -> bool:
        return False

    def supports_stop_words(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return 200_000

    @property
    def last_usage(self) -> dict[str, int]:
        """The fake token usage of the latest call (what the model layer records)."""
        calls = self.calls
        return dict(calls[-1].usage) if calls else {}


class ScriptedModels:
    """A plugin registering one LLM as a model provider (see ``scripted_models_plugin``)."""

    def __init__(self, llm: BaseLLM, provider: str = "scripted") -> None:
        self.llm = llm
        self.provider = provider

    @hookimpl
    def register_models(self, register: Any) -> None:
        llm = self.llm
        register(Model(
            provider=self.provider,
            description="Scripted replies for tests (novelcrew_sdk.scripted).",
            build=lambda model_id, settings: llm,
            examples=(self.provider,),
        ))


def scripted_models_plugin(llm: BaseLLM, provider: str = "scripted") -> ScriptedModels:
    """A plugin object registering ``llm`` as model provider ``provider`` (model id the same).

    Register it (``novelcrew.plugins.register_module(plugins, plugin, "scripted")``) and set
    ``default_model="scripted"`` so every agent of every crew talks to ``llm``.
    """
    return ScriptedModels(llm, provider)
