"""The HTTP providers: ``openrouter/<vendor>/<model>`` and ``openai/<name>`` (any compatible
endpoint: Ollama, vLLM, llama.cpp server, LM Studio), on crewAI's native OpenAI client.

Four things are changed from crewAI's defaults, each for a reason:
- the OpenAI SDK's hidden retries are off (``max_retries=0``) and a timeout is always set:
  the router retries with our policy and falls back, and two stacked retry loops would
  multiply waits and hide failures;
- usage is read from each response, with OpenRouter's ``usage.cost``, and handed to the router
  for this call only (``novelcrew.llm.usage``);
- crewAI believes OpenRouter's Anthropic and Google models have an 8k window (6963 usable
  tokens) and starts summarising the conversation; the real windows are used instead;
- calls are spread over a few OpenAI clients (sharing one SSL context), each thread keeping
  to one: one LLM serves every concurrent job, and on a single client every request walks
  the whole connection pool (a socket poll per idle connection), so 50 concurrent calls
  would cost 50 x 50 checks.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from crewai.llms.providers.openai.completion import OpenAICompletion
from crewai.llms.providers.openai_compatible.completion import OpenAICompatibleCompletion
from pydantic import PrivateAttr

from novelcrew.llm import plain_requests
from novelcrew.llm.policy import MalformedResponse
from novelcrew.llm.usage import report_usage

if TYPE_CHECKING:
    from novelcrew.settings import Settings

__all__ = ["CLIENT_SHARDS", "build_provider_llm", "context_window"]

#: OpenAI clients per LLM: each connection pool stays small however many jobs run
CLIENT_SHARDS = 8

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
_MALFORMED = (AttributeError, TypeError, KeyError, IndexError, json.JSONDecodeError)


def context_window(model: str, default: int) -> int:
    """Usable tokens for an OpenRouter-style ``vendor/model`` name."""
    name = model.lower()
    for prefix, size in _WINDOWS:
        if name.startswith(prefix):
            return int(size * _USABLE)
    return default


class _Accounting:
    """Report each response's usage (and cost) to the router; name malformed answers.

    Also keeps each thread to one of a few shared clients (see the module docstring).
    """

    _threads: threading.local
    _shards: list[Any]
    _shard_lock: threading.Lock
    _handed: int
    _ssl: Any

    def _get_sync_client(self) -> Any:
        if getattr(self, "interceptor", None) is not None:
            return super()._get_sync_client()  # type: ignore[misc]
        client = getattr(self._threads, "client", None)
        if client is None:
            client = self._next_shard()
            self._threads.client = client
        return client

    def _next_shard(self) -> Any:
        """Clients are handed to threads in turn; the first ``CLIENT_SHARDS`` are built."""
        with self._shard_lock:
            shards = self._shards
            self._handed += 1
            if len(shards) < CLIENT_SHARDS:
                import httpx

                from novelcrew.llm.transport import http_client, openai_client

                if not shards:  # loading the CA bundle costs ~50 ms: once per LLM
                    self._ssl = httpx.create_ssl_context()
                params = self._get_client_params()  # type: ignore[attr-defined]
                params["http_client"] = http_client(self._ssl)
                shards.append(openai_client(**params))
                return shards[-1]
            return shards[self._handed % CLIENT_SHARDS]

    def _extract_openai_token_usage(self, response: Any) -> dict[str, Any]:
        usage: dict[str, Any] = super()._extract_openai_token_usage(response)  # type: ignore[misc]
        raw = getattr(response, "usage", None)
        cost = getattr(raw, "cost", None)
        if cost is None and raw is not None:
            cost = (getattr(raw, "model_extra", None) or {}).get("cost")
        if isinstance(cost, int | float):
            usage["cost"] = float(cost)
        report_usage(usage)
        return usage

    def _handle_completion(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super()._handle_completion(*args, **kwargs)  # type: ignore[misc]
        except _MALFORMED as exc:
            raise MalformedResponse(f"unreadable chat completion: {exc}") from exc

    async def _ahandle_completion(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._ahandle_completion(*args, **kwargs)  # type: ignore[misc]
        except _MALFORMED as exc:
            raise MalformedResponse(f"unreadable chat completion: {exc}") from exc


class OpenRouterLLM(_Accounting, OpenAICompatibleCompletion):
    """OpenRouter through crewAI's OpenAI-compatible provider (no litellm)."""

    _threads: threading.local = PrivateAttr(default_factory=threading.local)
    _shards: list[Any] = PrivateAttr(default_factory=list)
    _shard_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _handed: int = PrivateAttr(default=0)
    _ssl: Any = PrivateAttr(default=None)

    def get_context_window_size(self) -> int:
        return context_window(self.model, super().get_context_window_size())


class OpenAIEndpointLLM(_Accounting, OpenAICompletion):
    """Any OpenAI-compatible endpoint (``OPENAI_BASE_URL``)."""

    _threads: threading.local = PrivateAttr(default_factory=threading.local)
    _shards: list[Any] = PrivateAttr(default_factory=list)
    _shard_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _handed: int = PrivateAttr(default=0)
    _ssl: Any = PrivateAttr(default=None)

    def get_context_window_size(self) -> int:
        default = super().get_context_window_size()
        return max(default, context_window(f"openai/{self.model}", default))


def build_provider_llm(model_id: str, settings: Settings) -> Any:
    """A crewAI LLM for ``openrouter/...`` or ``openai/...`` with our timeout and no retries."""
    plain_requests.install()
    provider, _, name = model_id.partition("/")
    if not name:
        raise ValueError(f"model id {model_id!r} names no model after {provider!r}/")
    common: dict[str, Any] = {
        "timeout": settings.model_timeout_seconds,
        "max_retries": 0,
        "stream": False,
    }
    if settings.model_temperature is not None:  # else the provider's default
        common["temperature"] = settings.model_temperature
    if settings.model_max_tokens is not None:
        common["max_tokens"] = settings.model_max_tokens
    if provider == "openrouter":
        key = settings.openrouter_api_key
        if key is None or not key.get_secret_value():
            raise ValueError(
                f"API key required for {model_id}: set OPENROUTER_API_KEY"
            )
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
