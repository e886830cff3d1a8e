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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crewai.llms.base_llm import BaseLLM
from pydantic import PrivateAttr

from novelcrew.hookspecs import hookimpl
from novelcrew.llm.local import LocalLLM, prompt_of, text_of
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


class ScriptedLLM(LocalLLM):
    """Answers from a script keyed by agent role; records every call.

    ``replies`` maps an agent role to a reply: a string, a list consumed in order (its last
    entry repeats), or a callable receiving the prompt text. The role is the calling agent's
    ``role``; without one, the first role whose text appears in the system prompt is used.
    ``default`` answers roles the script does not name (by default a plain final answer).
    ``latency`` is how long each call takes, in seconds, slept outside the script's lock so
    calls from several crews overlap as a provider's would; ``peak_in_flight`` then tells how
    many calls were ever answered at once (what a concurrency bound is tested by).
    """

    llm_type: str = "scripted"
    _script: dict[str, Script] = PrivateAttr(default_factory=dict)
    _default: Reply | None = PrivateAttr(default=None)
    _positions: dict[str, int] = PrivateAttr(default_factory=dict)
    _calls: list[ScriptedCall] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _latency: float = PrivateAttr(default=0.0)
    _in_flight: list[int] = PrivateAttr(default_factory=lambda: [0, 0])

    def __init__(
        self,
        replies: dict[str, Script] | None = None,
        default: Reply | None = None,
        *,
        latency: float = 0.0,
        model: str = "scripted",
        **kwargs: Any,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, not {latency}")
        super().__init__(model=model, provider="scripted", **kwargs)
        # all state set here: on crewAI 1.12 ``BaseLLM`` is not a pydantic model, so the
        # ``PrivateAttr`` defaults above are only declarations
        self._script = dict(replies or {})
        self._default = default
        self._positions = {}
        self._calls = []
        self._lock = threading.Lock()
        self._latency = latency
        # [now, most]: a list, so the copies crewAI makes of an agent's LLM share the counts
        self._in_flight = [0, 0]

    # what tests look at --------------------------------------------------------------------
    @property
    def calls(self) -> list[ScriptedCall]:
        """Every call answered so far, in order."""
        with self._lock:
            return list(self._calls)

    def calls_for(self, role: str) -> list[ScriptedCall]:
        return [c for c in self.calls if c.role == role]

    @property
    def peak_in_flight(self) -> int:
        """The most calls ever being answered at once."""
        with self._lock:
            return self._in_flight[1]

    # choosing a reply ----------------------------------------------------------------------
    def _role(self, from_agent: Any, messages: list[dict[str, Any]]) -> str | None:
        role = getattr(from_agent, "role", None)
        if isinstance(role, str) and role:
            return role
        system = "\n".join(
            text_of(m.get("content")) for m in messages if m.get("role") == "system"
        )
        haystack = system or prompt_of(messages)
        for name in self._script:
            if name and name in haystack:
                return name
        return None

    def _reply(self, role: str | None, prompt: str) -> str:
        chosen: Reply | None = None
        with self._lock:  # pick under the lock; call a function outside it (it may block)
            script: Script | None = self._script.get(role) if role is not None else None
            if script is None:
                # roles may differ in case and surrounding whitespace (YAML `role: >` ends
                # in a newline)
                for name, candidate in self._script.items():
                    if role and name.strip().lower() == role.strip().lower():
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

    # answering ---------------------------------------------------------------------------
    def respond(self, messages: list[dict[str, Any]], prompt: str, from_agent: Any,
                response_model: Any) -> str:
        with self._lock:
            self._in_flight[0] += 1
            self._in_flight[1] = max(self._in_flight[1], self._in_flight[0])
        try:
            if self._latency:
                time.sleep(self._latency)
            return self._reply(self._role(from_agent, messages), prompt)
        finally:
            with self._lock:
                self._in_flight[0] -= 1

    def answered(self, messages: list[dict[str, Any]], prompt: str, reply: str,
                 usage: dict[str, int], from_agent: Any) -> None:
        call = ScriptedCall(role=self._role(from_agent, messages), messages=messages,
                            prompt=prompt, reply=reply, usage=usage)
        with self._lock:
            self._calls.append(call)

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
