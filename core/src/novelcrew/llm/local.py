"""Models answered inside this process (``offline``, the SDK's scripted LLM).

They share everything but the answer: crewAI's call events, sent on its public event bus (so a
user's crewAI listeners see every call), token usage of about four characters a token reported
to the router, no crewAI retry wrapper (nothing here is rate limited), and no function calling.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from crewai.events import crewai_event_bus
from crewai.events.types.llm_events import (
    LLMCallCompletedEvent,
    LLMCallFailedEvent,
    LLMCallStartedEvent,
    LLMCallType,
)
from crewai.llms.base_llm import BaseLLM, llm_call_context

from novelcrew.crewai.compat import ours_only
from novelcrew.llm.usage import report_usage

__all__ = ["LocalLLM", "approx_tokens", "fake_usage", "messages_of", "prompt_of", "text_of"]


def text_of(content: Any) -> str:
    """A message's text, whether a string or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) if isinstance(b, dict) else str(b)
                         for b in content)
    return "" if content is None else str(content)


def messages_of(messages: Any) -> list[dict[str, Any]]:
    """crewAI's messages (a string, dicts or message objects) as plain dicts."""
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


def prompt_of(messages: list[dict[str, Any]]) -> str:
    return "\n\n".join(text_of(m.get("content")) for m in messages)


def fake_usage(prompt: str, reply: str) -> dict[str, int]:
    """Token counts of about four characters a token, as providers roughly count."""
    prompt_tokens = max(1, len(prompt) // 4)
    completion_tokens = max(1, len(reply) // 4)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def approx_tokens(messages: Any) -> int:
    """The prompt tokens of ``messages`` at about four characters a token: crewAI's
    ``get_input_tokens_count`` without its fallback's warning on every call, and without the
    extra HTTP request before every call that OpenAI's own count costs."""
    if isinstance(messages, str):
        return (len(messages) + 3) // 4
    chars = 0
    for message in messages or []:
        content = message.get("content") if isinstance(message, dict) else message
        chars += len(content) if isinstance(content, str) else len(str(content or ""))
    return (chars + 3) // 4


class LocalLLM(BaseLLM):
    """A crewAI LLM whose answer is computed here; subclasses implement ``respond``."""

    context_window: int = 200_000

    @abstractmethod
    def respond(self, messages: list[dict[str, Any]], prompt: str, from_agent: Any,
                response_model: Any) -> str:
        """The reply to one call."""

    def answered(self, messages: list[dict[str, Any]], prompt: str, reply: str,
                 usage: dict[str, int], from_agent: Any) -> None:
        """Called after each successful answer (the scripted LLM records calls here)."""

    @ours_only
    def call(self, messages: Any, tools: Any = None, callbacks: Any = None,
             available_functions: Any = None, from_task: Any = None, from_agent: Any = None,
             response_model: Any = None) -> str:
        msgs = messages_of(messages)
        prompt = prompt_of(msgs)
        agent = from_agent if hasattr(from_agent, "id") else None  # events want a real agent
        about = {"from_task": from_task, "from_agent": agent, "model": self.model}
        with llm_call_context() as call_id:
            crewai_event_bus.emit(self, event=LLMCallStartedEvent(
                messages=msgs, tools=tools, callbacks=callbacks,
                available_functions=available_functions, call_id=call_id, **about))
            try:
                reply = self.respond(msgs, prompt, from_agent, response_model)
            except Exception as exc:
                crewai_event_bus.emit(self, event=LLMCallFailedEvent(
                    error=str(exc), call_id=call_id, **about))
                raise
            usage = fake_usage(prompt, reply)
            report_usage(usage)
            self.answered(msgs, prompt, reply, usage, from_agent)
            crewai_event_bus.emit(self, event=LLMCallCompletedEvent(
                messages=msgs, response=reply, call_type=LLMCallType.LLM_CALL, call_id=call_id,
                **about))
        return reply

    @ours_only
    async def acall(self, messages: Any, tools: Any = None, callbacks: Any = None,
                    available_functions: Any = None, from_task: Any = None,
                    from_agent: Any = None, response_model: Any = None) -> str:
        return self.call(messages, tools, callbacks, available_functions, from_task,
                         from_agent, response_model)

    def supports_function_calling(self) -> bool:
        return False

    def supports_stop_words(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return self.context_window
