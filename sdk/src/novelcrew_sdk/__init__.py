"""What a novelcrew plugin author needs to test a plugin without Redis, servers or a provider.

Heavy parts (the scripted LLM imports crewAI) load on first use.
"""

from __future__ import annotations

from typing import Any

from novelcrew_sdk.contract import ContractError, check_plugin
from novelcrew_sdk.testing import make_plugins, make_settings, run_job

__all__ = [
    "ContractError",
    "ScriptedLLM",
    "check_plugin",
    "make_plugins",
    "make_settings",
    "run_job",
    "scripted_models_plugin",
]


def __getattr__(name: str) -> Any:
    if name in ("ScriptedLLM", "scripted_models_plugin"):
        from novelcrew_sdk import scripted

        return getattr(scripted, name)
    raise AttributeError(name)
