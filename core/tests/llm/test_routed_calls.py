"""What ``RoutedLLM`` reads around each call: usage from the slot our LLMs fill or from a plugin
LLM's own counters, and the routed model's context window once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from crewai.llms.base_llm import BaseLLM

from novelcrew.llm import router
from novelcrew_sdk.openai_server import OpenAIServer
from novelcrew_sdk.testing import make_settings, run_job


class CountingLLM(BaseLLM):
    """A plugin's LLM that knows nothing of novelcrew: it only keeps crewAI's token counters."""

    windows_asked: int = 0

    def call(self, messages: Any, tools: Any = None, callbacks: Any = None,
             available_functions: Any = None, from_task: Any = None, from_agent: Any = None,
             response_model: Any = None) -> str:
        self._track_token_usage_internal(
            {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10})
        return "Thought: done\nFinal Answer: Maya climbs the lighthouse."

    def supports_function_calling(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        self.windows_asked += 1
        return 12_345


async def test_a_plugin_llm_is_accounted_by_its_own_token_counters(
    tmp_path: Path, reader_plugins_for: Any
) -> None:
    llm = CountingLLM(model="scripted")
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(reader_plugins_for(llm), "reader", {}, settings=settings)
    assert job.status == "succeeded", job.error
    usage = job.usage["scripted"]
    assert usage.calls >= 1
    assert (usage.prompt_tokens, usage.completion_tokens) == (7 * usage.calls, 3 * usage.calls)


async def test_the_routed_models_context_window_is_asked_once(
    tmp_path: Path, reader_plugins_for: Any
) -> None:
    from novelcrew.context import RunContext

    llm = CountingLLM(model="scripted")
    plugins = reader_plugins_for(llm)
    ctx = RunContext(job_id="j", crew="reader", registry=plugins.registry,
                     settings=make_settings(tmp_path / "data", default_model="scripted"))
    routed = router.build_llm(ctx, "Reader")
    assert [routed.get_context_window_size() for _ in range(5)] == [12_345] * 5
    assert llm.windows_asked == 1


async def test_our_llms_fill_the_slot_so_crewais_counters_are_not_read(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots: list[Any] = []
    original = router.token_snapshot
    monkeypatch.setattr(router, "token_snapshot",
                        lambda llm: snapshots.append(llm) or original(llm))
    job, _ = await run_job(reader_plugins, "reader", {}, settings=settings_for())
    assert job.status == "succeeded", job.error
    usage = job.usage["openai/main"]
    assert usage.calls == 1 and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert snapshots == []
