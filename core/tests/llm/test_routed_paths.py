"""``RoutedLLM`` answers crewAI's thread path (``call``) and its coroutine path (``acall``)
alike: the same retries, fallbacks, give-up, kept answers, accounting and cancellation, against
the local OpenAI-compatible server (each test runs once per path)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from novelcrew.backends.inline.replies import SQLiteReplies
from novelcrew.context import RunContext
from novelcrew.crewai import kickoff
from novelcrew.errors import JobCancelled, ModelError
from novelcrew.llm import router
from novelcrew_sdk.openai_server import Fault, OpenAIServer

MESSAGES = [{"role": "user", "content": "Who climbs the lighthouse?"}]


@pytest.fixture(params=["thread", "coroutine"])
def path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def ask(routed: router.RoutedLLM, path: str) -> Any:
    if path == "thread":  # crewAI calls ``call`` on a worker thread
        return await asyncio.to_thread(routed.call, MESSAGES)
    return await routed.acall(MESSAGES)


def make_ctx(settings: Any, plugins: Any, events: list[dict[str, Any]],
             tmp_path: Path) -> RunContext:
    async def emit(type: str, **kwargs: Any) -> None:
        if type == "llm_call":
            events.append(kwargs["data"])

    return RunContext(job_id="j", crew="reader", registry=plugins.registry, settings=settings,
                      emit_fn=emit, loop=asyncio.get_running_loop(),
                      replies=SQLiteReplies(tmp_path / "replies.sqlite3"))


async def settle() -> None:
    """Let the events a thread sent to the loop land."""
    for _ in range(5):
        await asyncio.sleep(0.01)


async def test_failures_are_retried_then_the_answer_is_accounted(
    path: str, server: OpenAIServer, settings_for: Any, reader_plugins: Any, tmp_path: Path
) -> None:
    server.cost = 0.002
    server.queue(Fault.server_error(500), Fault.rate_limited(retry_after=0.05))
    events: list[dict[str, Any]] = []
    ctx = make_ctx(settings_for(), reader_plugins, events, tmp_path)
    answer = await ask(router.build_llm(ctx, "Reader"), path)
    await settle()
    assert answer == "The story is about Maya."
    assert [r.outcome for r in server.calls] == ["500", "429", "ok"]
    usage = ctx.usage["openai/main"]
    assert (usage.calls, usage.failed_calls, usage.cost) == (1, 2, 0.002)
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert [(e["ok"], e["attempt"]) for e in events] == [(False, 1), (False, 2), (True, 3)]
    assert [e.get("status") for e in events[:2]] == [500, 429]
    assert ctx.models_used == ["openai/main"]


async def test_the_fallback_answers_then_the_same_call_comes_from_the_cache(
    path: str, server: OpenAIServer, settings_for: Any, reader_plugins: Any, tmp_path: Path
) -> None:
    server.queue(*[Fault.server_error(502)] * 10, model="flaky")
    settings = settings_for(default_model="openai/flaky", fallback_models=["openai/steady"])
    events: list[dict[str, Any]] = []
    ctx = make_ctx(settings, reader_plugins, events, tmp_path)
    routed = router.build_llm(ctx, "Reader")
    assert await ask(routed, path) == "The story is about Maya."
    assert [r.model for r in server.calls] == ["flaky", "flaky", "flaky", "steady"]
    # the flaky model failed afresh; the steady one's answer is kept
    assert await ask(routed, path) == "The story is about Maya."
    await settle()
    assert [r.model for r in server.calls][4:] == ["flaky", "flaky", "flaky"]
    assert ctx.usage["openai/steady"].calls == 1
    assert ctx.usage["openai/steady"].cached_calls == 1
    answered = [e for e in events if e["ok"]]
    assert [(e["model"], e["fallback"], e.get("cached", False)) for e in answered] == [
        ("openai/steady", True, False), ("openai/steady", True, True)]


async def test_when_every_model_fails_it_gives_up_and_later_calls_fail_at_once(
    path: str, server: OpenAIServer, settings_for: Any, reader_plugins: Any, tmp_path: Path
) -> None:
    server.queue(*[Fault.server_error(500)] * 20)
    settings = settings_for(model_max_retries=1, fallback_models=["openai/backup"])
    ctx = make_ctx(settings, reader_plugins, [], tmp_path)
    routed = router.build_llm(ctx, "Reader")
    with pytest.raises(ModelError) as raised:
        await ask(routed, path)
    assert raised.value.details["models"] == ["openai/main", "openai/backup"]
    assert len(server.calls) == 4  # 2 attempts x 2 models
    with pytest.raises(ModelError):
        await ask(routed, path)
    assert len(server.calls) == 4
    assert kickoff.given_up(ctx) is raised.value


async def test_a_cancelled_job_asks_no_model(
    path: str, server: OpenAIServer, settings_for: Any, reader_plugins: Any, tmp_path: Path
) -> None:
    ctx = make_ctx(settings_for(), reader_plugins, [], tmp_path)
    routed = router.build_llm(ctx, "Reader")
    ctx.cancel_event.set()
    with pytest.raises(JobCancelled):
        await ask(routed, path)
    assert server.calls == []


async def test_a_hanging_answer_times_out_and_is_retried(
    path: str, server: OpenAIServer, settings_for: Any, reader_plugins: Any, tmp_path: Path
) -> None:
    server.queue(Fault.hang(60))
    events: list[dict[str, Any]] = []
    ctx = make_ctx(settings_for(model_timeout_seconds=0.5), reader_plugins, events, tmp_path)
    assert await ask(router.build_llm(ctx, "Reader"), path) == "The story is about Maya."
    await settle()
    assert [r.outcome for r in server.calls] == ["hang", "ok"]
    assert (events[0]["ok"], events[0]["action"]) == (False, "retry")
    assert "time" in events[0]["error"]  # timeout (coroutine) / request timed out (thread)
