"""``offline``: a labelled, deterministic stand-in model, registered like any plugin's model.

It needs no network and fills a task's output schema by plain extraction from the input text
(``llm``, ``fill``, ``extract``), so the pipeline can be tried and tested without a provider.
It never claims to understand a story: its answers say they come from ``offline``.
"""

from __future__ import annotations

from typing import Any

from novelcrew.hookspecs import hookimpl
from novelcrew.specs import Health, Model


def _build(model_id: str, settings: Any) -> Any:
    from novelcrew.default_plugins.offline.llm import OfflineLLM

    return OfflineLLM(model="offline")


async def _health(settings: Any) -> Health:
    from novelcrew.llm.health import routed_providers

    used = "offline" in routed_providers(settings)
    detail = "routed: answers are plain extraction, not understanding" if used else "available"
    return Health(status="ok", detail=detail)


@hookimpl(trylast=True)
def register_models(register: Any) -> None:
    register(Model(
        provider="offline",
        description="Deterministic stand-in without network: fills output schemas by plain "
        "extraction from the input text. It does not understand stories.",
        build=_build,
        health=_health,
        examples=("offline",),
    ))
