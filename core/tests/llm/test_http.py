"""The real HTTP path: crewAI's OpenAI client, our retries and fallbacks, against a local server.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import REGISTRY

from novelcrew_sdk.openai_server import Fault, OpenAIServer, Reply
from novelcrew_sdk.testing import run_job


def _llm_calls(events: list[Any]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == "llm_call"]


async def test_a_normal_answer_is_returned_and_accounted(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.cost = 0.0025
    job, events = await run_job(reader_plugins, "reader", {}, settings=settings_for())
    assert job.status == "succeeded", job.error
    assert job.result["reader"]["text"] == "The story is about Maya."
    [request] = server.calls
    assert request.model == "main"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert "Maya climbed the lighthouse." in str(request.messages)
    usage = job.usage["openai/main"]
    prompt_chars = sum(len(str(m.get("content") or "")) for m in request.messages)
    assert (usage.calls, usage.failed_calls) == (1, 0)
    assert usage.prompt_tokens == prompt_chars // 4
    assert usage.completion_tokens == len("The story is about Maya.") // 4
    assert usage.cost == 0.0025
    assert job.models_used == ["openai/main"]
    [call] = _llm_calls(events)
    assert call["model"] == "openai/main" and call["agent"] == "Reader" and call["ok"]
    assert call["prompt_tokens"] == usage.prompt_tokens and call["cost"] == 0.0025


async def test_tool_calls_run_the_tool_and_the_answer_follows(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any, tool_calls: list[str]
) -> None:
    server.queue(Reply.tool("lookup", {"query": "Maya"}), "Maya is the keeper's daughter.")
    job, _ = await run_job(reader_plugins, "reader", {"use_tool": True},
                           settings=settings_for())
    assert job.status == "succeeded", job.error
    assert tool_calls == ["Maya"]
    assert job.result["reader"]["text"] == "Maya is the keeper's daughter."
    first, second = server.calls
    assert [t["function"]["name"] for t in first.body["tools"]] == ["lookup"]
    tool_results = [m for m in second.messages if m.get("role") == "tool"]
    assert "keeper's daughter" in str(tool_results)
    assert job.usage["openai/main"].calls == 2


async def test_429_waits_as_long_as_retry_after_asks(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.queue(Fault.rate_limited(retry_after=0.4))
    job, events = await run_job(reader_plugins, "reader", {}, settings=settings_for())
    assert job.status == "succeeded", job.error
    first, second = server.calls
    assert second.at - first.at >= 0.4
    assert job.usage["openai/main"].failed_calls == 1
    assert job.usage["openai/main"].calls == 1
    failed = [c for c in _llm_calls(events) if not c["ok"]]
    assert failed[0]["status"] == 429 and failed[0]["action"] == "retry"


async def test_server_errors_are_retried(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.queue(Fault.server_error(500), Fault.server_error(503))
    job, _ = await run_job(reader_plugins, "reader", {}, settings=settings_for())
    assert job.status == "succeeded", job.error
    assert [r.outcome for r in server.calls] == ["500", "503", "ok"]
    assert job.usage["openai/main"].failed_calls == 2


async def test_a_hanging_response_times_out_and_is_retried(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.queue(Fault.hang(60))
    started = time.monotonic()
    job, _ = await run_job(reader_plugins, "reader", {},
                           settings=settings_for(model_timeout_seconds=0.5))
    assert job.status == "succeeded", job.error
    assert time.monotonic() - started < 30
    assert [r.outcome for r in server.calls] == ["hang", "ok"]


async def test_malformed_json_and_dropped_connections_are_retried(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.queue(Fault.malformed(), Fault.drop())
    job, events = await run_job(reader_plugins, "reader", {}, settings=settings_for())
    assert job.status == "succeeded", job.error
    assert [r.outcome for r in server.calls] == ["malformed", "drop", "ok"]
    reasons = [c["error"] for c in _llm_calls(events) if not c["ok"]]
    assert reasons[0].startswith("malformed response")
    assert reasons[1].startswith("connection error")


async def test_a_fallback_model_takes_over_when_the_first_keeps_failing(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.queue(*[Fault.server_error(502)] * 10, model="flaky")
    settings = settings_for(default_model="openai/flaky", fallback_models=["openai/steady"])
    job, events = await run_job(reader_plugins, "reader", {}, settings=settings)
    assert job.status == "succeeded", job.error
    assert [r.model for r in server.calls] == ["flaky", "flaky", "flaky", "steady"]
    assert job.usage["openai/flaky"].failed_calls == 3
    assert job.usage["openai/flaky"].calls == 0
    assert job.usage["openai/steady"].calls == 1
    assert job.models_used == ["openai/steady"]
    ok = [c for c in _llm_calls(events) if c["ok"]]
    assert ok[0]["model"] == "openai/steady" and ok[0]["fallback"] is True


async def test_a_per_job_model_override_and_per_agent_routing(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    settings = settings_for(agent_models={"Critic": "openai/critic-model"})
    job, _ = await run_job(reader_plugins, "reader", {"role": "Critic"}, settings=settings)
    assert job.models_used == ["openai/critic-model"]
    job, _ = await run_job(reader_plugins, "reader", {}, settings=settings,
                           config={"model": "openai/chosen"})
    assert job.models_used == ["openai/chosen"]
    assert [r.model for r in server.calls] == ["critic-model", "chosen"]


async def test_when_every_model_fails_the_job_fails_naming_them(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.queue(*[Fault.server_error(500)] * 20)
    settings = settings_for(model_max_retries=1, fallback_models=["openai/backup"])
    job, events = await run_job(reader_plugins, "reader", {}, settings=settings)
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "model_error"
    assert "openai/main" in job.error.message and "openai/backup" in job.error.message
    assert job.error.details["models"] == ["openai/main", "openai/backup"]
    # crewAI did not re-run the task on top of our retries: 2 attempts x 2 models
    assert len(server.calls) == 4
    assert job.usage["openai/main"].failed_calls == 2
    assert events[-1].type == "failed"


async def test_concurrent_jobs_get_their_own_events(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.latency = 0.3
    settings = settings_for()
    (job_a, events_a), (job_b, events_b) = await asyncio.gather(
        run_job(reader_plugins, "reader", {"role": "Alpha"}, settings=settings),
        run_job(reader_plugins, "reader", {"role": "Beta"}, settings=settings),
    )
    assert job_a.status == job_b.status == "succeeded"
    for events, role in ((events_a, "Alpha"), (events_b, "Beta")):
        assert [c["agent"] for c in _llm_calls(events)] == [role]
        started = [e.message for e in events if e.type == "task_started"]
        assert started and all(name == f"read as {role}" for name in started)


async def test_openrouter_ids_use_the_openrouter_address_key_and_cost(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    server.cost = 0.5
    settings = settings_for(default_model="openrouter/anthropic/claude-sonnet-4",
                            openrouter_api_key="or-key", openrouter_base_url=server.url)
    before = REGISTRY.get_sample_value(
        "novelcrew_model_cost_total", {"model": "openrouter/anthropic/claude-sonnet-4"}) or 0
    job, _ = await run_job(reader_plugins, "reader", {}, settings=settings)
    assert job.status == "succeeded", job.error
    [request] = server.calls
    assert request.model == "anthropic/claude-sonnet-4"
    assert request.headers["authorization"] == "Bearer or-key"
    assert job.usage["openrouter/anthropic/claude-sonnet-4"].cost == 0.5
    after = REGISTRY.get_sample_value(
        "novelcrew_model_cost_total", {"model": "openrouter/anthropic/claude-sonnet-4"})
    assert after == before + 0.5


async def test_cancelling_a_job_stops_its_backoff_waits(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    import threading

    from novelcrew.backends.memory import MemoryStore
    from novelcrew.jobs import Job
    from novelcrew.runner import JobRunner

    server.queue(*[Fault.rate_limited(retry_after=5)] * 20)
    settings = settings_for(model_max_retries=10, model_max_backoff_seconds=5)
    store = MemoryStore()
    await store.open()
    job = Job(crews=["reader"], inputs={})
    await store.create(job)
    cancel = threading.Event()
    started = time.monotonic()
    task = asyncio.create_task(JobRunner(reader_plugins, settings, store).run(job.id, cancel))
    while not server.calls:
        await asyncio.sleep(0.05)
    cancel.set()
    outcome = await asyncio.wait_for(task, 20)
    assert outcome.job.status == "cancelled"
    assert time.monotonic() - started < 4.5  # did not sit out the 5 s Retry-After
    assert len(server.calls) == 1


async def test_structured_output_whose_follow_up_calls_all_fail_fails_the_job(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    # the first answer is not the JSON the task asks for, so crewAI calls the model again;
    # those calls fail on every model: the job fails with model_error after one round
    # (crewAI's converter retries and its "keep the raw text" fallback must not hide it)
    server.queue("Maya climbs the lighthouse.", *[Fault.server_error(500)] * 30)
    settings = settings_for(model_max_retries=1)
    job, _ = await run_job(reader_plugins, "reader", {"structured": True}, settings=settings)
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "model_error"
    assert "openai/main" in job.error.message
    # one full round of attempts, not one per converter retry
    assert len(server.calls) == 1 + 2
