"""Routing through providers registered by plugins: bounded calls, fallbacks, accounting."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_sdk.testing import make_settings, run_job


async def test_a_plugin_model_that_hangs_is_bounded_by_the_timeout(
    tmp_path: Path, reader_plugins_for: Any
) -> None:
    release = threading.Event()
    answers = iter(["hang", "Maya climbs the lighthouse."])

    def reply(prompt: str) -> str:
        answer = next(answers)
        if answer == "hang":
            release.wait(30)  # a provider that never answers (released after the test)
        return answer

    llm = ScriptedLLM(default=reply)
    settings = make_settings(tmp_path / "data", default_model="scripted",
                             model_timeout_seconds=0.5, model_max_retries=1)
    started = time.monotonic()
    try:
        job, events = await run_job(reader_plugins_for(llm), "reader", {}, settings=settings)
    finally:
        release.set()
    assert job.status == "succeeded", job.error
    assert time.monotonic() - started < 20
    assert job.result["reader"]["text"] == "Maya climbs the lighthouse."
    assert job.usage["scripted"].failed_calls == 1 and job.usage["scripted"].calls == 1
    failed = [e.data for e in events if e.type == "llm_call" and not e.data["ok"]]
    assert failed[0]["error"].startswith("timeout")


async def test_offline_takes_over_when_the_routed_provider_is_not_configured(
    tmp_path: Path, reader_plugins_for: Any
) -> None:
    settings = make_settings(tmp_path / "data",
                             default_model="openrouter/anthropic/claude-sonnet-4",
                             openrouter_api_key=None, fallback_models=["offline"])
    job, events = await run_job(reader_plugins_for(ScriptedLLM()), "reader",
                                {"story": "Maya Reyes climbed the lighthouse at dusk."},
                                settings=settings)
    assert job.status == "succeeded", job.error
    assert job.models_used == ["offline"]
    assert "Maya Reyes" in job.result["reader"]["text"]
    failed = [e.data for e in events if e.type == "llm_call" and not e.data["ok"]]
    assert "OPENROUTER_API_KEY" in failed[0]["error"] and failed[0]["action"] == "fallback"
