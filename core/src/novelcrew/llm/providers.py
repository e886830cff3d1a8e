"""The HTTP providers: ``openrouter/<vendor>/<model>`` and ``openai/<name>`` (any compatible
endpoint: Ollama, vLLM, llama.cpp server, LM Studio), on crewAI's native OpenAI provider, which
talks through the OpenAI SDK's own client over httpx.

What differs from crewAI's defaults, each for a reason:
- the SDK's hidden retries are off (``max_retries=0``) and a timeout is always set: the router
  retries with one policy and falls back, and stacked retry loops would multiply waits;
- each response's ``usage`` (with OpenRouter's ``cost``) is read by an interceptor, crewAI's
  public hook on the provider's httpx transport, and handed to the router for that call only;
- crewAI believes OpenRouter's Anthropic and Google models have an 8k window (6963 usable
  tokens) and starts summarising the conversation; the published windows are used instead.

``build_provider_llm`` is the one place a provider's client is configured from settings.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
from crewai.llms.hooks.base import BaseInterceptor
from crewai.llms.providers.openai.completion import OpenAICompletion
from crewai.llms.providers.openai_compatible.completion import OpenAICompatibleCompletion

from novelcrew.llm.usage import report_usage

if TYPE_CHECKING:
    from novelcrew.settings import Settings

__all__ = ["UsageInterceptor", "build_provider_llm", "context_window"]

#: context windows (tokens) by model-name prefix, as the providers publish them
_WINDOWS: tuple[tuple[str, int], ...] = (
    ("anthropic/claude", 200_000),
    ("google/gemini-1.5-pro", 2_000_000),
    ("google/gemini", 1_048_576),
    ("google/gemma", 8_192),
    ("openai/gpt-4.1", 1_047_576),
    ("openai/gpt-5", 400_000),
    ("openai/gpt-4o", 128_000),
    ("openai/o", 200_000),
    ("meta-llama/llama-3", 131_072),
    ("meta-llama/llama-4", 1_048_576),
    ("deepseek/", 128_000),
    ("mistralai/", 131_072),
    ("qwen/", 131_072),
    ("x-ai/grok", 131_072),
    ("moonshotai/", 131_072),
)
_USABLE = 0.85  # the share crewAI fills before summarising


def context_window(model: str, default: int) -> int:
    """Usable tokens for an OpenRouter-style ``vendor/model`` name."""
    name = model.lower()
    for prefix, size in _WINDOWS:
        if name.startswith(prefix):
            return int(size * _USABLE)
    return default


class UsageInterceptor(BaseInterceptor[httpx.Request, httpx.Response]):
    """Reads ``usage`` (tokens, and ``cost`` where the provider sends it) from each chat
    completion and reports it to the router's slot for the call in flight."""

    def on_outbound(self, message: httpx.Request) -> httpx.Request:
        return message

    def on_inbound(self, message: httpx.Response) -> httpx.Response:
        if not _is_completion(message):
            return message
        response = _buffered(message, b"".join(message.iter_raw()))
        _report(response)
        return response

    async def aon_outbound(self, message: httpx.Request) -> httpx.Request:
        return message

    async def aon_inbound(self, message: httpx.Response) -> httpx.Response:
        if not _is_completion(message):
            return message
        raw = b"".join([chunk async for chunk in message.aiter_raw()])
        response = _buffered(message, raw)
        _report(response)
        return response


def _is_completion(response: httpx.Response) -> bool:
    """A successful JSON answer (at the transport, before httpx sets ``response.request``)."""
    return response.status_code < 300 and "json" in response.headers.get("content-type", "")


def _buffered(response: httpx.Response, raw: bytes) -> httpx.Response:
    """The same response with its body in memory (the original stream is consumed)."""
    return httpx.Response(response.status_code, headers=response.headers, content=raw,
                          extensions=response.extensions)


def _report(response: httpx.Response) -> None:
    try:
        usage = json.loads(response.read()).get("usage")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return  # the SDK reports the unreadable answer itself
    if not isinstance(usage, dict):
        return
    found = {key: usage[key] for key in ("prompt_tokens", "completion_tokens", "cost")
             if isinstance(usage.get(key), int | float)}
    if found:
        report_usage(found)


class OpenRouterLLM(OpenAICompatibleCompletion):
    """OpenRouter through crewAI's OpenAI-compatible provider (no litellm)."""

    def get_context_window_size(self) -> int:
        return context_window(self.model, super().get_context_window_size())


class OpenAIEndpointLLM(OpenAICompletion):
    """Any OpenAI-compatible endpoint (``OPENAI_BASE_URL``)."""

    def get_context_window_size(self) -> int:
        default = super().get_context_window_size()
        return max(default, context_window(f"openai/{self.model}", default))


def build_provider_llm(model_id: str, settings: Settings) -> Any:
    """A crewAI LLM for ``openrouter/...`` or ``openai/...``: our timeout, no SDK retries,
    usage read from every response."""
    provider, _, name = model_id.partition("/")
    if not name:
        raise ValueError(f"model id {model_id!r} names no model after {provider!r}/")
    common: dict[str, Any] = {
        "timeout": settings.model_timeout_seconds,
        "max_retries": 0,
        "stream": False,
        "interceptor": UsageInterceptor(),
    }
    if settings.model_temperature is not None:  # else the provider's default
        common["temperature"] = settings.model_temperature
    if settings.model_max_tokens is not None:
        common["max_tokens"] = settings.model_max_tokens
    if provider == "openrouter":
        key = settings.openrouter_api_key
        if key is None or not key.get_secret_value():
            raise ValueError(f"API key required for {model_id}: set OPENROUTER_API_KEY")
        return OpenRouterLLM(
            model=name, provider="openrouter", api_key=key.get_secret_value(),
            base_url=settings.openrouter_base_url.rstrip("/"),
            default_headers={"HTTP-Referer": "https://github.com/novelcrew",
                             "X-Title": "novelcrew"},
            **common,
        )
    if provider == "openai":
        key = settings.openai_api_key
        return OpenAIEndpointLLM(
            model=name, provider="openai",
            # local servers (Ollama, llama.cpp) take any key; the SDK insists on one
            api_key=key.get_secret_value() if key else "not-needed",
            base_url=settings.openai_base_url.rstrip("/") if settings.openai_base_url else None,
            **common,
        )
    raise ValueError(f"unknown OpenAI-compatible provider {provider!r} in {model_id!r}")
