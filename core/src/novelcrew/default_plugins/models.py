"""The built-in HTTP model providers: ``openrouter`` and ``openai`` (any compatible endpoint).
``offline`` is its own default plugin (``default_plugins.offline``)."""

from __future__ import annotations

from typing import Any

from novelcrew.hookspecs import hookimpl
from novelcrew.specs import Model


async def _openrouter_health(settings: Any) -> Any:
    from novelcrew.llm.health import openrouter_health

    return await openrouter_health(settings)


async def _openai_health(settings: Any) -> Any:
    from novelcrew.llm.health import openai_health

    return await openai_health(settings)


def _build(model_id: str, settings: Any) -> Any:
    from novelcrew.llm.providers import build_provider_llm

    return build_provider_llm(model_id, settings)


@hookimpl(trylast=True)
def register_models(register: Any) -> None:
    register(Model(
        provider="openrouter",
        description="OpenRouter (OpenAI-compatible); needs OPENROUTER_API_KEY.",
        build=_build,
        health=_openrouter_health,
        examples=("openrouter/anthropic/claude-sonnet-4", "openrouter/google/gemini-2.5-pro"),
    ))
    register(Model(
        provider="openai",
        description="Any OpenAI-compatible endpoint (OPENAI_BASE_URL): Ollama, vLLM, LM Studio.",
        build=_build,
        health=_openai_health,
        examples=("openai/gpt-4o-mini", "openai/llama3.1"),
    ))
