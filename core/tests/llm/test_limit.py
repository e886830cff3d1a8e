"""The per-model concurrency limit: shared by every job of a process, adaptive on 429.

Calls go over real HTTP to the local OpenAI-compatible server, which counts the chat
completions it is answering at once (``peak_in_flight``).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import hookimpl
from novelcrew.context import RunContext
from novelcrew.llm.limit import LocalLimiter, limiter_for
from novelcrew.registry import Registry
from novelcrew.specs import Crew
from novelcrew_sdk.openai_server import Fault, OpenAIServer
from novelcrew_sdk.testing import make_plugins, run_job


class FanIn(BaseModel):
    calls: int = 6


class FanOut(BaseModel):
    answers: list[str]


async def run_fan(ctx: Any, inputs: FanIn) -> FanOut:
    """``calls`` one-task crews at once, as the architect analyses its chunks."""
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    async def one(i: int) -> str:
        agent = Agent(role="Reader", goal="read", backstory="reads", llm=ctx.llm("Reader"),
                      max_iter=1)
        task = Task(name=f"part {i}", description=f"Read part {i}.", expected_output="a line",
                    agent=agent)
        out = await ctx.kickoff(CrewAICrew(agents=[agent], tasks=[task], tracing=False), {})
        return str(out.raw)

    return FanOut(answers=list(await asyncio.gather(*(one(i) for i in range(inputs.calls)))))


class FanCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="fan", description="many calls at once", input_model=FanIn,
                      output_model=FanOut, run=run_fan, agents=("Reader",)))


@pytest.fixture
def model() -> str:
    """A model id of its own per test: pools are per process, shared by every test."""
    return f"openai/limit-{uuid.uuid4().hex[:8]}"


def test_pools_by_model_then_provider_prefix(settings_for: Any) -> None:
    settings = settings_for(model_concurrency=16, model_concurrency_overrides=(
        "openrouter=32,openrouter/anthropic/claude-sonnet-4=4"))
    assert settings.model_pool("openrouter/anthropic/claude-sonnet-4") == (
        "openrouter/anthropic/claude-sonnet-4", 4)
    assert settings.model_pool("openrouter/google/gemini-2.5-pro") == ("openrouter", 32)
    assert settings.model_pool("openai/gpt-4o") == ("openai/gpt-4o", 16)
    assert settings_for(model_concurrency_overrides='{"openai": 3}') \
        .model_concurrency_overrides == {"openai": 3}


def test_a_429_halves_the_limit_and_answers_climb_back() -> None:
    limiter = LocalLimiter()
    tokens = [limiter.acquire("p", 8) for _ in range(8)]
    assert limiter._try("p", 8) is None  # full
    limiter.release("p", tokens.pop(), 8, throttled=True)
    assert limiter.limit("p") == 4
    limiter.release("p", tokens.pop(), 8, throttled=True)  # the same burst: counted once
    assert limiter.limit("p") == 4
    for token in tokens:  # 6 still held, limit 4: nothing new until two more are back
        limiter.release("p", token, 8)
    assert limiter.limit("p") > 4 and limiter.limit("p") < 8  # type: ignore[operator]
    held = []
    while (token := limiter._try("p", 8)) is not None:
        held.append(token)
    assert len(held) == int(limiter.limit("p"))  # type: ignore[arg-type]
    for _ in range(20):
        limiter.release("p", held.pop(), 8) if held else None
        held.append(limiter.acquire("p", 8))
    assert limiter.limit("p") == 8


async def test_the_limit_holds_across_two_jobs_of_one_process(
    server: OpenAIServer, settings_for: Any, model: str
) -> None:
    server.latency, server.gather, server.gather_timeout = 0.1, 3, 2.0
    settings = settings_for(default_model=model, model_concurrency=3,
                            model_timeout_seconds=30)
    plugins = make_plugins(FanCrews())
    (first, _), (second, _) = await asyncio.gather(
        run_job(plugins, "fan", {"calls": 6}, settings=settings),
        run_job(plugins, "fan", {"calls": 6}, settings=settings))
    assert first.status == second.status == "succeeded", (first.error, second.error)
    assert len(server.calls) == 12
    assert server.peak_in_flight == 3  # never more, and the limit was used to the full
    assert limiter_for(settings).in_use(model) == 0


async def test_calls_run_at_once_up_to_the_limit(
    server: OpenAIServer, settings_for: Any, model: str
) -> None:
    """One job's independent calls all go out together when the limit allows (the crews'
    own bounds used to hold them to 4)."""
    server.gather = 12  # answered once all twelve are in flight (or after 10 s)
    settings = settings_for(default_model=model, model_timeout_seconds=30)
    job, _ = await run_job(make_plugins(FanCrews()), "fan", {"calls": 12}, settings=settings)
    assert job.status == "succeeded", job.error
    assert server.peak_in_flight == 12


def test_a_crew_reads_the_limit_of_each_agents_model(settings_for: Any) -> None:
    """``RunContext.model_limit`` is what a crew sizes its work in flight by: the limit of the
    model the role routes to, overrides included, the job's ``config.model`` first."""
    settings = settings_for(
        model_concurrency=16, default_model="openai/gpt-4o",
        agent_models="Director=openrouter/anthropic/claude-sonnet-4",
        model_concurrency_overrides="openrouter=32,openrouter/anthropic/claude-sonnet-4=4")
    ctx = RunContext(job_id="j", crew="c", settings=settings, registry=Registry())
    assert ctx.model_limit("Director") == 4
    assert ctx.model_limit("Writer") == ctx.model_limit() == 16
    ctx = RunContext(job_id="j", crew="c", settings=settings, registry=Registry(),
                     config={"model": "openrouter/google/gemini-2.5-pro"})
    assert ctx.model_limit("Director") == 32

async def test_a_429_lowers_the_limit_then_answers_raise_it_back(
    server: OpenAIServer, settings_for: Any, model: str
) -> None:
    settings = settings_for(default_model=model, model_concurrency=4)
    plugins = make_plugins(FanCrews())
    pool, ceiling = settings.model_pool(model)
    server.queue(Fault.rate_limited(retry_after=0))
    job, events = await run_job(plugins, "fan", {"calls": 1}, settings=settings)
    assert job.status == "succeeded", job.error
    assert [e.data["ok"] for e in events if e.type == "llm_call"] == [False, True]
    lowered = limiter_for(settings).limit(pool)
    assert lowered is not None and lowered < ceiling
    # a burst right after the 429 is held below the configured limit
    server.clear()
    server.latency, server.gather, server.gather_timeout = 0.1, int(lowered), 5.0
    job, _ = await run_job(plugins, "fan", {"calls": 6}, settings=settings)
    assert job.status == "succeeded", job.error
    assert int(lowered) <= server.peak_in_flight < ceiling
    server.latency, server.gather = 0.0, 0
    job, _ = await run_job(plugins, "fan", {"calls": 12}, settings=settings)
    assert job.status == "succeeded", job.error
    assert limiter_for(settings).limit(pool) == ceiling  # recovered


def test_a_new_ceiling_applies_at_once_unless_a_429_holds_the_pool_down() -> None:
    limiter = LocalLimiter()
    limiter.release("p", limiter.acquire("p", 3), 3)
    assert limiter.limit("p") == 3
    limiter.release("p", limiter.acquire("p", 16), 16)  # the operator raised it
    assert limiter.limit("p") == 16
    limiter.release("p", limiter.acquire("p", 16), 16, throttled=True)
    assert limiter.limit("p") == 8
    limiter.release("p", limiter.acquire("p", 32), 32)
    assert limiter.limit("p") > 8 and limiter.limit("p") < 9  # type: ignore[operator]  # still recovering


class _TooMany(Exception):
    status_code = 429


async def test_a_coroutine_holds_a_slot_by_the_same_rules_as_a_thread() -> None:
    """``RoutedLLM.acall`` holds its slot with ``async with``, ``call`` with ``with``: one
    pool, one count, and a 429 lowers the limit either way."""
    limiter = LocalLimiter()
    held = limiter.slot("p", 2)
    held.__enter__()  # a crew thread's call holds one of the two
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with limiter.slot("p", 2):
            peak = max(peak, limiter.in_use("p"))
            await asyncio.sleep(0.01)

    await asyncio.gather(*(call() for _ in range(5)))
    assert peak == 2  # the thread's slot and one coroutine's, never more
    held.__exit__(None, None, None)
    assert limiter.in_use("p") == 0
    with pytest.raises(_TooMany):
        async with limiter.slot("p", 2):
            raise _TooMany("rate limited")
    assert limiter.limit("p") == 1 and limiter.in_use("p") == 0
