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


async def test_the_most_specific_setting_wins(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    """Per task over job-wide over the crew's default over the server's setting, for each
    of temperature and max tokens on its own (``novelcrew.llm.sampling``)."""
    settings = settings_for(model_temperature=0.9, model_max_tokens=700)
    read = {"task": "read", "temperature": 0.3}
    config = {"temperature": 0.7, "max_tokens": 500,
              "tasks": {"read": {"temperature": 0.1}, "other": {"max_tokens": 300}}}
    runs: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"task": "read"}, {}),                  # the server's settings
        (read, {}),                              # the crew's default over the server's
        (read, {"temperature": 0.7}),            # the job's over the crew's
        (read, config),                          # this task's over the job's
        ({**read, "task": "other"}, config),     # another task's setting is not this one's
        ({"temperature": 0.3}, config),          # a crew naming no task: job-wide applies
    ]
    for inputs, job_config in runs:
        job, _ = await run_job(reader_plugins, "reader", inputs, settings=settings,
                               config=job_config)
        assert job.status == "succeeded", job.error
    sent = [(c.body["temperature"], c.body.get("max_tokens", c.body.get("max_completion_tokens")))
            for c in server.calls]
    assert sent == [(0.9, 700), (0.3, 700), (0.7, 700), (0.1, 500), (0.7, 300), (0.7, 500)]


async def test_a_bad_per_task_setting_fails_the_job_naming_it(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    """A job run without submission (straight from Python) gets the API's error shape."""
    job, _ = await run_job(reader_plugins, "reader", {"task": "read"}, settings=settings_for(),
                           config={"tasks": {"read": {"temperature": 5}}})
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "invalid_input"
    assert "config.tasks.read.temperature" in job.error.message
    [error] = job.error.details["errors"]
    assert error["loc"] == ["config", "tasks", "read", "temperature"]
    assert server.calls == []  # no model was asked


async def test_a_bad_budget_or_cache_option_fails_an_unsubmitted_job_in_the_same_shape(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    for config, key in [({"max_cost_usd": -1}, "max_cost_usd"), ({"cache": "no"}, "cache")]:
        job, _ = await run_job(reader_plugins, "reader", {}, settings=settings_for(),
                               config=config)
        assert job.status == "failed" and job.error is not None, config
        assert job.error.type == "invalid_input"
        assert [e["loc"] for e in job.error.details["errors"]] == [["config", key]]
    assert server.calls == []
