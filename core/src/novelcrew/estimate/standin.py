"""The stand-ins of a dry run: a model that counts what it is asked, and tools that write
nothing.

``CountingLLM`` answers every call in this process with the ``offline`` stand-in's extraction
(``novelcrew.default_plugins.offline.llm.answer``) and records, per call, the routed model the
real run would send it to, the prompt's tokens (about four characters a token, as the usage
code counts them) and an expected completion size. ``DryRunTool`` takes the place of every tool
that is not known to only read, so a dry run cannot change a knowledge graph or a Payload
project.
"""

from __future__ import annotations

import contextvars
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import PrivateAttr

from novelcrew.crewai.kickoff import task_label
from novelcrew.default_plugins.offline.llm import answer
from novelcrew.llm.local import LocalLLM, approx_tokens, text_of

__all__ = ["READ_ONLY_TOOLS", "CallRecord", "CountingLLM", "DryRunTool", "Recorder",
           "completion_estimate", "offline_only_chars"]

#: tools that only read (a project's graph or its Payload document): a dry run uses the real
#: ones, so the director alone can be estimated on a project's existing graph
READ_ONLY_TOOLS = frozenset({"kg_query", "kg_graph", "payload_read_project",
                             "payload_read_story"})

#: an answer the stand-in could not shape (no schema in the prompt) is sized from the prompt:
#: this share of its tokens, at least ``COMPLETION_FLOOR`` (and never above the call's
#: ``max_tokens``)
COMPLETION_SHARE = 0.25
COMPLETION_FLOOR = 200

#: a schema a crew adds only for the offline stand-in: "JSON schema: {...}" opening a line
_OFFLINE_SCHEMA = re.compile(r"^JSON schema: (?=\{)", re.M)
_task: contextvars.ContextVar[Any] = contextvars.ContextVar("novelcrew_estimate_task",
                                                            default=None)


def offline_only_chars(text: str) -> int:
    """Characters of ``text`` addressed only to the offline stand-in (a crew adds a
    ``JSON schema: {...}`` line for it that a real model's prompt does not carry)."""
    total = 0
    for match in _OFFLINE_SCHEMA.finditer(text):
        try:
            _value, end = json.JSONDecoder().raw_decode(text, match.end())
        except ValueError:
            continue
        total += end - match.start() + (1 if text[end:end + 1] == "\n" else 0)
    return total


def completion_estimate(prompt_tokens: int, shaped_tokens: int | None,
                        max_tokens: int | None) -> int:
    """Expected completion tokens: the size of the stand-in's answer when it filled the
    task's schema, else a share of the prompt; within the call's ``max_tokens``."""
    if shaped_tokens is not None:
        tokens = max(1, shaped_tokens)
    else:
        tokens = max(COMPLETION_FLOOR, int(prompt_tokens * COMPLETION_SHARE))
    return min(tokens, max_tokens) if max_tokens else tokens


@dataclass
class CallRecord:
    """One counted call."""

    key: tuple[str, str]  #: (agent role, task name)
    model: str
    prompt_tokens: int
    completion_tokens: int
    #: whether the stand-in's answer filled the task's schema (the crew can use it)
    shaped: bool


@dataclass
class Recorder:
    """The calls of one pass of one crew; crewAI calls from worker threads, hence the lock.

    After an answer the stand-in could not shape, the crew asks the same task again with its
    complaint added: those retries are the stand-in's doing, not the real model's, and are
    not counted.
    """

    records: list[CallRecord] = field(default_factory=list)
    unshaped: set[tuple[str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def retrying(self, key: tuple[str, str]) -> bool:
        """Whether a call for ``key`` repeats a task whose answer could not be shaped."""
        with self.lock:
            return key in self.unshaped

    def add(self, record: CallRecord) -> None:
        with self.lock:
            if record.key in self.unshaped:
                return
            if not record.shaped:
                self.unshaped.add(record.key)
            self.records.append(record)


class CountingLLM(LocalLLM):
    """Answers like ``offline`` and counts each call against the model the job routes to."""

    llm_type: str = "novelcrew-estimate"
    context_window: int = 1_000_000
    _recorder: Recorder = PrivateAttr()
    _routed: str = PrivateAttr()
    _role: str | None = PrivateAttr(default=None)
    _max_tokens: int | None = PrivateAttr(default=None)
    _strip: bool = PrivateAttr(default=False)

    def __init__(self, *, recorder: Recorder, routed_model: str, role: str | None,
                 max_tokens: int | None, strip_offline_schema: bool) -> None:
        super().__init__(model="offline", provider="offline")
        self._recorder = recorder
        self._routed = routed_model
        self._role = role
        self._max_tokens = max_tokens
        self._strip = strip_offline_schema

    def call(self, messages: Any, tools: Any = None, callbacks: Any = None,
             available_functions: Any = None, from_task: Any = None, from_agent: Any = None,
             response_model: Any = None) -> str:
        token = _task.set(from_task)
        try:
            return super().call(messages, tools, callbacks, available_functions, from_task,
                                from_agent, response_model)
        finally:
            _task.reset(token)

    def get_input_tokens_count(self, messages: Any, tools: Any = None,
                               response_model: Any = None) -> int:
        return approx_tokens(messages)

    def respond(self, messages: list[dict[str, Any]], prompt: str, from_agent: Any,
                response_model: Any) -> str:
        role = getattr(from_agent, "role", None) or self._role or ""
        key = (str(role).strip(), task_label(_task.get()))
        if self._recorder.retrying(key):
            # not counted, and it would be no better: spare the extraction
            return "Final Answer: [offline] no answer in the requested shape"
        text, value = answer(messages, response_model)
        chars = 0
        for message in messages:
            content = text_of(message.get("content"))
            chars += len(content) - (offline_only_chars(content) if self._strip else 0)
        prompt_tokens = max(1, chars // 4)
        shaped = value is not None
        self._recorder.add(CallRecord(
            key=key, model=self._routed,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_estimate(prompt_tokens, len(text) // 4 if shaped
                                                  else None, self._max_tokens),
            shaped=shaped,
        ))
        if response_model is not None:
            return text
        return f"Thought: I can answer from the input text.\nFinal Answer: {text}"


class DryRunTool:
    """Stands in for a tool that writes: accepts every call, writes nothing, answers ``{}``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.configured = True
        self.calls: list[dict[str, Any]] = []

    async def acall(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {}

    def run(self, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        return "{}"
