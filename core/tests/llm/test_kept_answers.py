"""Kept model answers through real jobs: the response cache (SQLite, as the inline backend
keeps it), a job's checkpoint on a re-run, and the budget caps. Every call that reaches the
model is counted at the local OpenAI-compatible server."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import hookimpl
from novelcrew.backends.inline.replies import REPLIES_FILE
from novelcrew.backends.inline.store import SQLiteStore
from novelcrew.errors import InvalidInput, TransientError
from novelcrew.specs import Crew
from novelcrew_sdk.openai_server import OpenAIServer
from novelcrew_sdk.testing import make_plugins, run_job


def store(settings: Any) -> SQLiteStore:
    """The store the inline backend opens in the data dir (its replies beside it)."""
    return SQLiteStore(settings.resolved_data_dir / "jobs.sqlite3")


def llm_calls(events: list[Any]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == "llm_call"]


async def test_an_identical_request_is_answered_from_the_cache_across_jobs_and_restarts(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    settings = settings_for()
    first, _ = await run_job(reader_plugins, "reader", {}, settings=settings,
                             store=store(settings))
    assert first.status == "succeeded", first.error
    assert len(server.calls) == 1
    paid = first.usage["openai/main"]
    assert paid.calls == 1 and paid.cost and paid.cached_calls == 0

    # a new store on the same data dir: what a restarted server opens
    again, events = await run_job(reader_plugins, "reader", {}, settings=settings,
                                  store=store(settings))
    assert again.status == "succeeded", again.error
    assert len(server.calls) == 1  # nothing new reached the model
    assert again.result == first.result
    usage = again.usage["openai/main"]
    assert (usage.calls, usage.cached_calls) == (0, 1)
    assert usage.saved_cost == pytest.approx(paid.cost)
    assert usage.saved_tokens == paid.prompt_tokens + paid.completion_tokens
    [call] = llm_calls(events)
    assert call["cached"] is True and call["source"] == "cache"


async def test_a_changed_question_or_parameter_is_asked_again(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    settings = settings_for()
    for inputs, config in (({}, {}), ({"story": "Maya sailed."}, {}),
                           ({}, {"temperature": 0.4}), ({"structured": True}, {})):
        server.queue('{"text": "Maya."}') if inputs.get("structured") else None
        job, _ = await run_job(reader_plugins, "reader", inputs, settings=settings,
                               store=store(settings), config=config)
        assert job.status == "succeeded", job.error
    assert len(server.calls) == 4


async def test_config_cache_false_and_the_setting_turn_the_cache_off(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    settings = settings_for()
    await run_job(reader_plugins, "reader", {}, settings=settings, store=store(settings))
    job, _ = await run_job(reader_plugins, "reader", {}, settings=settings,
                           store=store(settings), config={"cache": False})
    assert job.usage["openai/main"].calls == 1
    off = settings_for(llm_cache=False)
    job, _ = await run_job(reader_plugins, "reader", {}, settings=off, store=store(off))
    assert job.usage["openai/main"].cached_calls == 0
    assert len(server.calls) == 3
    with pytest.raises(InvalidInput, match=r"config\.cache must be true or false"):
        from novelcrew.llm.reuse import cache_enabled

        cache_enabled({"cache": "no"}, settings)


async def test_a_cached_answer_expires_after_its_ttl(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    settings = settings_for(llm_cache_ttl_seconds=0.2)
    await run_job(reader_plugins, "reader", {}, settings=settings, store=store(settings))
    time.sleep(0.3)
    job, _ = await run_job(reader_plugins, "reader", {}, settings=settings,
                           store=store(settings))
    assert job.usage["openai/main"].calls == 1
    assert len(server.calls) == 2


async def test_the_offline_model_is_never_cached(tmp_path: Path, reader_plugins: Any) -> None:
    from novelcrew_sdk.testing import make_settings

    settings = make_settings(tmp_path / "data", default_model="offline")
    for _ in range(2):
        job, events = await run_job(reader_plugins, "reader", {}, settings=settings,
                                    store=store(settings))
        assert job.usage["offline"].calls == 1 and job.usage["offline"].cached_calls == 0
        assert not any(c.get("cached") for c in llm_calls(events))


# the checkpoint -----------------------------------------------------------------------------
class StepsIn(BaseModel):
    steps: int = 4
    #: raise a transient failure after this many steps, once per process (a crash stand-in)
    fail_after: int | None = None


class StepsOut(BaseModel):
    answers: list[str]


FAILED: list[str] = []


async def run_steps(ctx: Any, inputs: StepsIn) -> StepsOut:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    answers = []
    for n in range(inputs.steps):
        if inputs.fail_after == n and ctx.job_id not in FAILED:
            FAILED.append(ctx.job_id)
            raise TransientError("the provider connection dropped")
        agent = Agent(role="Planner", goal="plan", backstory="plans", llm=ctx.llm("Planner"))
        task = Task(description=f"Plan step {n + 1}.", expected_output="a line", agent=agent)
        out = await ctx.kickoff(CrewAICrew(agents=[agent], tasks=[task], tracing=False), {})
        answers.append(out.raw)
    return StepsOut(answers=answers)


class StepsCrew:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="steps", description="one model call per step", input_model=StepsIn,
                      output_model=StepsOut, run=run_steps, agents=("Planner",)))
        register(Crew(name="steps2", description="the same, again", input_model=StepsIn,
                      output_model=StepsOut, run=run_steps, agents=("Planner",)))


def _numbered(body: dict[str, Any]) -> str:
    """A different answer each time (so a re-asked call would change the result)."""
    _numbered.n += 1  # type: ignore[attr-defined]
    return f"answer {_numbered.n}"  # type: ignore[attr-defined]


async def test_a_rerun_job_answers_completed_calls_from_its_checkpoint_even_without_cache(
    tmp_path: Path, settings_for: Any
) -> None:
    _numbered.n = 0  # type: ignore[attr-defined]
    with OpenAIServer(default=_numbered) as server:
        settings = settings_for(openai_base_url=server.url, llm_cache=False)
        jobs = store(settings)
        job, events = await run_job(make_plugins(StepsCrew()), "steps",
                                    {"steps": 4, "fail_after": 3}, settings=settings,
                                    store=jobs)
        assert job.status == "succeeded", job.error
        assert job.attempts == 2
        # 3 calls before the failure, then only the 4th is new
        assert len(server.calls) == 4
        assert job.result["steps"]["answers"] == [f"answer {n}" for n in (1, 2, 3, 4)]
        reused = [c for c in llm_calls(events) if c.get("cached")]
        assert [c["source"] for c in reused] == ["checkpoint"] * 3
        assert job.usage["openai/main"].cached_calls == 3
        # the job ended: its checkpoint is gone
        db = sqlite3.connect(settings.resolved_data_dir / REPLIES_FILE)
        assert db.execute("SELECT COUNT(*) FROM checkpoints").fetchone() == (0,)


async def test_the_same_question_twice_in_a_job_keeps_both_answers_in_order(
    tmp_path: Path, settings_for: Any
) -> None:
    _numbered.n = 0  # type: ignore[attr-defined]

    async def twice(ctx: Any, inputs: StepsIn) -> StepsOut:
        out = await run_steps(ctx, StepsIn(steps=1))
        if ctx.job_id not in FAILED:
            FAILED.append(ctx.job_id)
            raise TransientError("dropped")
        return StepsOut(answers=out.answers + (await run_steps(ctx, StepsIn(steps=1))).answers)

    class Twice:
        @hookimpl
        def register_crews(self, register: Any) -> None:
            register(Crew(name="twice", description="asks one question twice",
                          input_model=StepsIn, output_model=StepsOut, run=twice))

    with OpenAIServer(default=_numbered) as server:
        settings = settings_for(openai_base_url=server.url, llm_cache=False)
        job, _ = await run_job(make_plugins(Twice()), "twice", {}, settings=settings,
                               store=store(settings))
        assert job.status == "succeeded", job.error
        assert job.result["twice"]["answers"] == ["answer 1", "answer 2"]
        assert len(server.calls) == 2


# budgets ------------------------------------------------------------------------------------
@pytest.mark.parametrize("config", [{"max_tokens_total": 1}, {"max_cost_usd": 0.0001}])
async def test_a_job_over_its_budget_stops_and_keeps_the_crews_that_finished(
    server: OpenAIServer, settings_for: Any, config: dict[str, Any]
) -> None:
    settings = settings_for(llm_cache=False)
    job, _ = await run_job(make_plugins(StepsCrew()), ["steps", "steps2"],
                                {"steps": 1}, settings=settings, store=store(settings),
                                config=config)
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "budget_exceeded"
    assert job.error.crew == "steps2"
    assert "reaching its cap" in job.error.message
    assert job.error.details["limit"] == next(iter(config))
    assert job.result["steps"]["answers"] == ["The story is about Maya."]
    assert "steps2" not in job.result
    assert len(server.calls) == 1  # the second crew's call never reached the model
    assert job.attempts == 1  # not retried as a transient failure


async def test_the_settings_cap_every_job_and_a_job_can_raise_its_own(
    server: OpenAIServer, settings_for: Any
) -> None:
    settings = settings_for(llm_cache=False, max_job_tokens=1)
    capped, _ = await run_job(make_plugins(StepsCrew()), "steps", {"steps": 2},
                              settings=settings, store=store(settings))
    assert capped.error is not None and capped.error.type == "budget_exceeded"
    roomy, _ = await run_job(make_plugins(StepsCrew()), "steps", {"steps": 2},
                             settings=settings, store=store(settings),
                             config={"max_tokens_total": 1_000_000})
    assert roomy.status == "succeeded", roomy.error
    assert len(server.calls) == 1 + 2


def test_bad_budget_values_are_refused(settings_for: Any) -> None:
    from novelcrew.llm.budget import Budget

    for bad in ({"max_cost_usd": -1}, {"max_cost_usd": "5"}, {"max_tokens_total": 0},
                {"max_tokens_total": 2.5}, {"max_tokens_total": True}):
        with pytest.raises(InvalidInput, match=r"config\.max_"):
            Budget.of_job(bad, settings_for())
