"""Routing through providers registered by plugins: bounded calls, fallbacks, accounting."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from novelcrew import hookimpl
from novelcrew.specs import Crew
from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_sdk.testing import make_plugins, make_settings, run_job


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
    # each call's event carries the job's usage of its model so far, so a page following the
    # events shows it grow while the job runs; the last one is the job's record
    so_far = [e.data["job_usage"] for e in events if e.type == "llm_call"]
    assert [(u["calls"], u["failed_calls"]) for u in so_far] == [(0, 1), (1, 1)]
    assert so_far[-1] == job.usage["scripted"].model_dump()


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


class _Out(BaseModel):
    text: str


class _In(BaseModel):
    story: str = "Maya climbed."


async def _twice(ctx: Any, inputs: _In) -> _Out:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    agent = Agent(role="Reader", goal="read", backstory="reads", llm=ctx.llm("Reader"))
    crew = CrewAICrew(agents=[agent], tasks=[Task(description="Read {story}",
                                                  expected_output="a line", agent=agent)],
                      tracing=False)
    first, second = await asyncio.gather(ctx.kickoff(crew, {"story": inputs.story}),
                                         ctx.kickoff(crew, {"story": inputs.story}),
                                         return_exceptions=True)
    assert not isinstance(first, BaseException), first
    assert isinstance(second, BaseException)
    return _Out(text=str(second))


class _TwiceCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="twice", description="kicks one crew off twice", input_model=_In,
                      output_model=_Out, run=_twice))


async def test_one_crew_object_cannot_run_twice_at_once(tmp_path: Path) -> None:
    plugins = make_plugins(_TwiceCrews(), llm=ScriptedLLM(default="Final Answer: read"))
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "twice", {}, settings=settings)
    assert job.status == "succeeded", job.error
    assert "build fresh Crew/Agent/Task objects per job" in job.result["twice"]["text"]


def test_the_model_chain_is_the_routed_model_then_each_fallback_once(tmp_path: Path) -> None:
    """A fallback that repeats the routed model (or another fallback) is not asked twice."""
    from novelcrew.context import RunContext
    from novelcrew.llm.router import model_chain

    settings = make_settings(tmp_path, default_model="openai/a",
                             fallback_models=["openai/b", "openai/a", "offline", "openai/b"])
    ctx = RunContext(job_id="j", crew="c", settings=settings,
                     registry=make_plugins().registry)
    assert model_chain(ctx, None) == ["openai/a", "openai/b", "offline"]
    override = RunContext(job_id="j", crew="c", settings=settings, config={"model": "offline"},
                          registry=make_plugins().registry)
    assert model_chain(override, None) == ["offline", "openai/b", "openai/a"]
