"""A job's ``config.temperature`` and ``config.max_tokens`` (what ``POST /crews/execute`` takes
from Novel Movie) really reach the provider: the request the local OpenAI-compatible server
receives carries them, for that job only."""

from __future__ import annotations

from typing import Any

from novelcrew_sdk.openai_server import OpenAIServer
from novelcrew_sdk.testing import run_job


async def test_temperature_and_max_tokens_reach_the_request(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    settings = settings_for()
    job, _ = await run_job(reader_plugins, "reader", {}, settings=settings,
                           config={"temperature": 0.2, "max_tokens": 321})
    assert job.status == "succeeded", job.error
    [call] = server.calls
    assert call.body["temperature"] == 0.2
    assert call.body.get("max_tokens", call.body.get("max_completion_tokens")) == 321

    server.clear()
    plain, _ = await run_job(reader_plugins, "reader", {}, settings=settings)
    assert plain.status == "succeeded", plain.error
    [call] = server.calls
    assert "temperature" not in call.body  # the next job is not touched: provider default
    assert "max_tokens" not in call.body and "max_completion_tokens" not in call.body


async def test_the_settings_default_applies_and_a_job_overrides_it(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    settings = settings_for(model_temperature=0.9)
    await run_job(reader_plugins, "reader", {}, settings=settings)
    await run_job(reader_plugins, "reader", {}, settings=settings, config={"temperature": 0})
    assert [c.body["temperature"] for c in server.calls] == [0.9, 0]


async def test_a_task_sets_its_own_temperature_and_a_jobs_config_wins(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    settings = settings_for()
    await run_job(reader_plugins, "reader", {"temperature": 0.3}, settings=settings)
    await run_job(reader_plugins, "reader", {"temperature": 0.3}, settings=settings,
                  config={"temperature": 0.7})
    assert [c.body["temperature"] for c in server.calls] == [0.3, 0.7]
