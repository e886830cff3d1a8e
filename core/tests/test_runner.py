"""JobRunner behaviour every backend relies on: chains, progress, failures as data, events."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl
from novelcrew.backends.memory import MemoryStore
from novelcrew.errors import TransientError
from novelcrew.jobs import Job, JobEvent, JobStatus
from novelcrew.plugins import Plugins, load, register_module
from novelcrew.runner import JobRunner, Outcome
from novelcrew.settings import Settings


class StoryIn(BaseModel):
    story_text: str
    project_id: str | None = None


class Analysis(BaseModel):
    words: int
    project_id: str | None


class PlanIn(BaseModel):
    previous: dict[str, Any]


class Plan(BaseModel):
    shots: int


RUNS: dict[str, int] = {}


async def analyse(ctx: RunContext, inputs: StoryIn) -> Analysis:
    RUNS["analyse"] = RUNS.get("analyse", 0) + 1
    await ctx.add_tasks(2)
    for name in ("structure", "graph"):
        await ctx.task_started(name)
        await ctx.task_finished(name)
    return Analysis(words=len(inputs.story_text.split()), project_id=inputs.project_id)


async def plan(ctx: RunContext, inputs: PlanIn) -> dict[str, Any]:
    await ctx.add_tasks(1)
    await ctx.task_started("shots")
    await ctx.task_finished("shots")
    return {"shots": inputs.previous["analyse"]["words"] * 2}


async def endless(ctx: RunContext, inputs: StoryIn) -> Analysis:
    await ctx.add_tasks(100)
    for i in range(100):
        await ctx.task_started(f"step {i}")
        await asyncio.sleep(0.02)
        await ctx.task_finished(f"step {i}")
    raise AssertionError("never cancelled")


FLAKY: dict[str, int] = {}


async def flaky(ctx: RunContext, inputs: StoryIn) -> Analysis:
    FLAKY[ctx.job_id] = FLAKY.get(ctx.job_id, 0) + 1
    if FLAKY[ctx.job_id] < 3:
        raise TransientError("the provider is down", {"status": 503})
    return Analysis(words=1, project_id=None)


class Crews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="analyse", description="a", input_model=StoryIn,
                      output_model=Analysis, run=analyse))
        register(Crew(name="plan", description="p", input_model=PlanIn, output_model=Plan,
                      run=plan))
        register(Crew(name="endless", description="e", input_model=StoryIn,
                      output_model=Analysis, run=endless))
        register(Crew(name="flaky", description="f", input_model=StoryIn,
                      output_model=Analysis, run=flaky))
        register(Crew(name="needs-graph", description="n", input_model=StoryIn,
                      output_model=Analysis, run=analyse, tools=("kg_query",)))


class BrokenObserver:
    @hookimpl
    def job_event(self, event: JobEvent, job: Job) -> None:
        if event.type == "crew_finished":
            raise RuntimeError("metrics sink is down")


@pytest.fixture
def plugins() -> Plugins:
    loaded = load(allow=[], include_entry_points=False)
    register_module(loaded, Crews(), "crews")
    return loaded


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, job_max_attempts=3)  # type: ignore[call-arg]


async def start(plugins: Plugins, settings: Settings, crews: list[str], **kw: Any
                ) -> tuple[JobRunner, Job]:
    store = MemoryStore()
    job = Job(crews=crews, **kw)
    await store.create(job)
    await store.append_event(job.id, "queued")
    return JobRunner(plugins, settings, store), job


def check_log(events: list[JobEvent], terminal: str) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == terminal
    assert sum(e.terminal for e in events) == 1


async def test_a_chain_keeps_each_stage_under_its_crew_name(
    plugins: Plugins, settings: Settings
) -> None:
    runner, job = await start(plugins, settings, ["analyse", "plan"], project_id="p7",
                              inputs={"story_text": "four words right here"})
    outcome = await runner.run(job.id)
    done = outcome.job
    assert outcome.retry_in is None
    assert done.status is JobStatus.succeeded
    assert done.result == {"analyse": {"words": 4, "project_id": "p7"}, "plan": {"shots": 8}}
    assert done.progress.completed_tasks == 3 and done.progress.total_tasks == 3
    assert done.attempts == 1 and done.error is None
    assert done.started_at is not None and done.finished_at is not None
    assert set(done.timings) == {"analyse", "plan"}
    events = await runner.store.events(job.id)
    check_log(events, "succeeded")
    types = [e.type for e in events]
    assert types[:3] == ["queued", "started", "crew_started"]
    assert types.count("task_started") == 3 and types.count("task_finished") == 3
    assert [e.crew for e in events if e.type == "crew_finished"] == ["analyse", "plan"]
    progress = [e.data for e in events if e.type == "progress"]
    assert progress[-1]["completed_tasks"] == 3
    assert all(p["completed_tasks"] <= p["total_tasks"] for p in progress)


async def test_a_re_run_chain_resumes_at_the_first_crew_without_a_result(
    plugins: Plugins, settings: Settings
) -> None:
    RUNS.clear()
    runner, job = await start(plugins, settings, ["analyse", "plan"],
                              inputs={"story_text": "x"})
    job.result = {"analyse": {"words": 10, "project_id": None}}
    job.status = JobStatus.running
    await runner.store.save(job)
    done = (await runner.run(job.id)).job
    assert RUNS.get("analyse", 0) == 0
    assert done.result["plan"] == {"shots": 20}
    assert done.attempts == 1


async def test_invalid_input_fails_at_once_with_details(
    plugins: Plugins, settings: Settings
) -> None:
    runner, job = await start(plugins, settings, ["analyse"], inputs={"story": "typo"})
    outcome = await runner.run(job.id)
    assert outcome.retry_in is None
    done = outcome.job
    assert done.status is JobStatus.failed
    assert done.error is not None and done.error.type == "invalid_input"
    assert done.error.crew == "analyse"
    assert [list(e["loc"]) for e in done.error.details["errors"]] == [["story_text"]]
    events = await runner.store.events(job.id)
    check_log(events, "failed")
    assert "crew_started" not in [e.type for e in events]
    assert events[-1].data["error"]["type"] == "invalid_input"


async def test_a_missing_tool_fails_the_job_naming_the_tool(
    plugins: Plugins, settings: Settings
) -> None:
    runner, job = await start(plugins, settings, ["needs-graph"], inputs={"story_text": "x"})
    done = (await runner.run(job.id)).job
    assert done.status is JobStatus.failed
    assert done.error is not None and done.error.type == "tool_missing"
    assert "kg_query" in done.error.message and done.error.details["tool"] == "kg_query"
    check_log(await runner.store.events(job.id), "failed")


async def test_an_unknown_crew_fails_the_job(plugins: Plugins, settings: Settings) -> None:
    runner, job = await start(plugins, settings, ["nope"], inputs={})
    done = (await runner.run(job.id)).job
    assert done.status is JobStatus.failed
    assert done.error is not None and done.error.type == "crew_not_found"


async def test_cancelling_mid_crew_ends_cancelled(plugins: Plugins, settings: Settings) -> None:
    runner, job = await start(plugins, settings, ["endless"], inputs={"story_text": "x"})
    cancel = threading.Event()
    task = asyncio.create_task(runner.run(job.id, cancel))
    while True:  # cancel once the crew is under way
        stored = await runner.store.get(job.id)
        if stored is not None and stored.progress.completed_tasks >= 1:
            break
        await asyncio.sleep(0.02)
    cancel.set()
    done = (await asyncio.wait_for(task, 5)).job
    assert done.status is JobStatus.cancelled
    assert 0 < done.progress.completed_tasks < 100
    assert done.result == {}
    check_log(await runner.store.events(job.id), "cancelled")


async def test_a_job_cancelled_while_queued_never_starts(
    plugins: Plugins, settings: Settings
) -> None:
    runner, job = await start(plugins, settings, ["analyse"], inputs={"story_text": "x"},
                              cancel_requested=True)
    done = (await runner.run(job.id)).job
    assert done.status is JobStatus.cancelled and done.attempts == 0
    assert [e.type for e in await runner.store.events(job.id)] == ["queued", "cancelled"]


async def test_transient_failures_are_retried_with_attempts_recorded(
    plugins: Plugins, settings: Settings
) -> None:
    runner, job = await start(plugins, settings, ["flaky"], inputs={"story_text": "x"})
    outcomes: list[Outcome] = [await runner.run(job.id)]
    while outcomes[-1].retry_in is not None:
        assert outcomes[-1].job.status is JobStatus.queued
        assert outcomes[-1].job.error is not None
        assert outcomes[-1].job.error.type == "transient_error"
        outcomes.append(await runner.run(job.id))
    assert [o.retry_in for o in outcomes] == [2.0, 4.0, None]
    done = outcomes[-1].job
    assert done.status is JobStatus.succeeded and done.attempts == 3 and done.error is None
    events = await runner.store.events(job.id)
    check_log(events, "succeeded")
    retrying = [e for e in events if e.type == "retrying"]
    assert [e.data["attempt"] for e in retrying] == [1, 2]


async def test_transient_failures_give_up_after_max_attempts(
    plugins: Plugins, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, job_max_attempts=2)  # type: ignore[call-arg]
    runner, job = await start(plugins, settings, ["flaky"], inputs={"story_text": "x"})
    first = await runner.run(job.id)
    assert first.retry_in == 2.0
    second = await runner.run(job.id)
    assert second.retry_in is None
    assert second.job.status is JobStatus.failed and second.job.attempts == 2
    assert second.job.error is not None and second.job.error.type == "transient_error"


async def test_a_failing_observer_becomes_a_warning_and_the_job_succeeds(
    plugins: Plugins, settings: Settings
) -> None:
    register_module(plugins, BrokenObserver(), "broken-observer")
    runner, job = await start(plugins, settings, ["analyse"], inputs={"story_text": "x y"})
    done = (await runner.run(job.id)).job
    assert done.status is JobStatus.succeeded
    events = await runner.store.events(job.id)
    check_log(events, "succeeded")
    warnings = [e for e in events if e.type == "warning"]
    assert len(warnings) == 1 and "metrics sink is down" in warnings[0].message


class EndingObserver:
    """Fails when it hears the job end (as a Payload restore meeting an outage does)."""

    @hookimpl
    def job_event(self, event: JobEvent, job: Job) -> Any:
        if not event.terminal:
            return None

        async def fail() -> None:
            raise RuntimeError("Payload is unreachable")

        return fail()


def observer_failures(plugin: str, ended: str) -> float:
    return REGISTRY.get_sample_value("novelcrew_job_observer_failures_total",
                                     {"plugin": plugin, "ended": ended}) or 0.0


async def test_an_observer_failing_at_the_end_is_counted_and_the_log_stays_closed(
    plugins: Plugins, settings: Settings
) -> None:
    register_module(plugins, BrokenObserver(), "broken-observer")
    register_module(plugins, EndingObserver(), "ending-observer")
    before = (observer_failures("broken-observer", "false"),
              observer_failures("ending-observer", "true"))
    runner, job = await start(plugins, settings, ["analyse"], inputs={"story_text": "x y"})
    done = (await runner.run(job.id)).job
    assert done.status is JobStatus.succeeded
    events = await runner.store.events(job.id)
    check_log(events, "succeeded")  # the ending is last: nothing was written after it
    assert [e.data["plugin"] for e in events if e.type == "warning"] == ["broken-observer"]
    assert (observer_failures("broken-observer", "false"),
            observer_failures("ending-observer", "true")) == (before[0] + 1, before[1] + 1)


async def test_a_finished_job_is_not_run_again(plugins: Plugins, settings: Settings) -> None:
    runner, job = await start(plugins, settings, ["analyse"], inputs={"story_text": "x"})
    await runner.run(job.id)
    count = len(await runner.store.events(job.id))
    again = await runner.run(job.id)
    assert again.job.status is JobStatus.succeeded
    assert len(await runner.store.events(job.id)) == count


async def test_a_crews_result_is_stored_before_any_observer_hears_it_finished(
    plugins: Plugins, settings: Settings
) -> None:
    """Observers write elsewhere (Payload, metrics): whatever they do, even hang until their
    deadline, the crew's result is already in the store when they hear of it (#24)."""
    seen: list[dict[str, Any]] = []
    runner_box: list[JobRunner] = []

    class StoreReader:
        @hookimpl
        def job_event(self, event: JobEvent, job: Job) -> Any:
            if event.type != "crew_finished":
                return None

            async def read() -> None:
                stored = await runner_box[0].store.get(job.id)
                assert stored is not None
                seen.append(dict(stored.result))

            return read()

    register_module(plugins, StoreReader(), "store-reader")
    runner, job = await start(plugins, settings, ["analyse", "plan"],
                              inputs={"story_text": "three words here"})
    runner_box.append(runner)
    outcome = await runner.run(job.id)
    assert outcome.job.status is JobStatus.succeeded
    assert seen == [{"analyse": {"words": 3, "project_id": None}},
                    {"analyse": {"words": 3, "project_id": None}, "plan": {"shots": 6}}]
