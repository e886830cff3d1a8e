"""crewAI's agent executor run by novelcrew's synchronous driver behaves as crewAI's own engine.

The driver (``novelcrew.crewai_executor``) replaces the executor flow's event loop and thread
hops; these tests run real crews against a local OpenAI-compatible server and check what a
user sees: the same requests, answers, events, progress, cancellation and failures, with and
without the driver.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import crewai_bridge, crewai_executor, hookimpl
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job
from novelcrew.runner import JobRunner
from novelcrew.specs import Crew
from novelcrew_sdk.openai_server import Fault, OpenAIServer, Reply
from novelcrew_sdk.testing import make_plugins, run_job


class PairIn(BaseModel):
    story: str = "Maya climbed the lighthouse."
    tasks: int = 2


class PairOut(BaseModel):
    text: str


async def run_pair(ctx: Any, inputs: PairIn) -> PairOut:
    """A reader summarises; a checker looks a name up with a tool, then answers."""
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew
    from crewai.tools import tool

    @tool("lookup")
    def lookup(query: str) -> str:
        """Look a name up in the story's notes."""
        return f"{query} keeps the lighthouse"

    reader = Agent(role="Reader", goal="read", backstory="careful", llm=ctx.llm("Reader"),
                   max_iter=4)
    checker = Agent(role="Checker", goal="check", backstory="precise", llm=ctx.llm("Checker"),
                    tools=[lookup], max_iter=4)
    tasks = [Task(name="summary", description="Summarise: {story}",
                  expected_output="one sentence", agent=reader)]
    tasks += [Task(name=f"check {i}", description="Check who Maya is.",
                   expected_output="one sentence", agent=checker)
              for i in range(1, inputs.tasks)]
    out = await ctx.kickoff(CrewAICrew(agents=[reader, checker], tasks=tasks, tracing=False),
                            {"story": inputs.story})
    return PairOut(text=out.raw)


class PairCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="pair", description="two agents", input_model=PairIn,
                      output_model=PairOut, run=run_pair))


@pytest.fixture
def pair_plugins() -> Any:
    return make_plugins(PairCrews())


@pytest.fixture
def crewai_events() -> Iterator[Callable[[], list[tuple[str | None, str]]]]:
    """(job id, event type) of crewAI's flow and task events, as a listener sees them."""
    from crewai.events import crewai_event_bus
    from crewai.events.types.flow_events import (
        FlowFailedEvent,
        FlowFinishedEvent,
        FlowStartedEvent,
    )
    from crewai.events.types.task_events import TaskCompletedEvent, TaskStartedEvent

    from novelcrew.context import current_context

    seen: list[tuple[int, str | None, str]] = []
    lock = threading.Lock()

    def handler(source: Any, event: Any) -> None:
        ctx = current_context.get()
        with lock:
            seen.append((event.emission_sequence or 0, ctx.job_id if ctx else None,
                         f"{event.type}:{getattr(event, 'flow_name', '') or ''}"))

    def seen_so_far() -> list[tuple[str | None, str]]:
        crewai_event_bus.flush()
        with lock:
            return [(job, kind) for _, job, kind in sorted(seen)]

    kinds = (FlowStartedEvent, FlowFinishedEvent, FlowFailedEvent, TaskStartedEvent,
             TaskCompletedEvent)
    for kind in kinds:
        crewai_event_bus.on(kind)(handler)
    try:
        yield seen_so_far
    finally:
        for kind in kinds:
            crewai_event_bus.off(kind, handler)


def _what_a_user_sees(job: Job, events: list[Any], server: OpenAIServer) -> dict[str, Any]:
    return {
        "status": job.status,
        "error": job.error.model_dump() if job.error else None,
        "result": job.result,
        "progress": (job.progress.completed_tasks, job.progress.total_tasks),
        # per type, in order: events from crewAI's bus and from the crew's thread may
        # interleave differently from run to run (they reach the loop by different routes)
        # (a progress event names the current task, which crewAI's bus sets on its own time)
        "events": sorted(((e.type, "" if e.type == "progress" else e.message)
                          for e in events if e.type != "llm_call"), key=lambda pair: pair[0]),
        "llm_calls": [(e.data["agent"], e.data["ok"]) for e in events if e.type == "llm_call"],
        "requests": [[(m.get("role"), m.get("content")) for m in r.messages]
                     for r in server.calls],
        "tools_offered": [[t["function"]["name"] for t in r.body.get("tools") or []]
                          for r in server.calls],
    }


async def _with_and_without_driver(server: OpenAIServer, plan: Callable[[], None],
                                   run: Callable[[], Any]) -> list[dict[str, Any]]:
    """What a user sees of the same run under the driver, then under crewAI's engine."""
    runs = []
    for driver in (True, False):
        if driver:
            assert crewai_executor.install()
        else:
            crewai_executor.uninstall()
        try:
            server.clear()
            plan()
            job, events = await run()
            runs.append(_what_a_user_sees(job, events, server))
        finally:
            crewai_executor.install()
    return runs


async def test_a_crew_run_is_the_same_with_and_without_the_driver(
    server: OpenAIServer, settings_for: Any, pair_plugins: Any
) -> None:
    with_driver, without = await _with_and_without_driver(
        server,
        lambda: server.queue("Maya climbs the lighthouse.",
                             Reply.tool("lookup", {"query": "Maya"}),
                             "Maya keeps the lighthouse."),
        lambda: run_job(pair_plugins, "pair", {}, settings=settings_for()))
    assert with_driver["status"] == "succeeded"
    assert with_driver["result"] == {"pair": {"text": "Maya keeps the lighthouse."}}
    assert with_driver["progress"] == (2, 2)
    assert with_driver["tools_offered"] == [[], ["lookup"], ["lookup"]]
    assert with_driver == without


async def test_the_driver_runs_the_executor_and_flow_events_still_reach_listeners(
    server: OpenAIServer, settings_for: Any, pair_plugins: Any,
    crewai_events: Callable[[], list[tuple[str | None, str]]],
) -> None:
    from crewai.agents.agent_executor import AgentExecutor

    job, _ = await run_job(pair_plugins, "pair", {}, settings=settings_for())
    assert job.status == "succeeded", job.error
    assert AgentExecutor.__dict__.get("kickoff") is not None  # the driver is in place
    crewai_events_of_job = [kind for who, kind in crewai_events() if who == job.id]
    assert crewai_events_of_job == [
        "task_started:", "flow_started:AgentExecutor", "flow_finished:AgentExecutor",
        "task_completed:",
    ] * 2


async def test_concurrent_jobs_keep_their_own_progress_and_events(
    server: OpenAIServer, settings_for: Any, pair_plugins: Any
) -> None:
    server.default = Reply("Checked.")
    results = await asyncio.gather(*(
        run_job(pair_plugins, "pair", {"tasks": n}, settings=settings_for())
        for n in (1, 2, 3, 4)))
    for n, (job, events) in zip((1, 2, 3, 4), results, strict=True):
        assert job.status == "succeeded", job.error
        assert (job.progress.completed_tasks, job.progress.total_tasks) == (n, n)
        started = [e.message for e in events if e.type == "task_started"]
        finished = [e.message for e in events if e.type == "task_finished"]
        names = ["summary", *(f"check {i}" for i in range(1, n))]
        assert started == names and finished == names
        assert all(e.job_id == job.id for e in events)


async def test_cancelling_stops_the_crew_at_the_next_step(
    server: OpenAIServer, settings_for: Any, pair_plugins: Any
) -> None:
    server.queue(Fault.slow(0.6))
    store = MemoryStore()
    await store.open()
    job = Job(crews=["pair"], inputs={"tasks": 3})
    await store.create(job)
    runner = JobRunner(pair_plugins, settings_for(), store)
    cancel = threading.Event()
    running = asyncio.create_task(runner.run(job.id, cancel))
    while not server.calls:
        await asyncio.sleep(0.02)
    cancel.set()
    outcome = await asyncio.wait_for(running, 10)
    assert outcome.job.status == "cancelled"
    assert len(server.calls) == 1  # no later step or task asked the model
    assert outcome.job.progress.completed_tasks <= 1  # the task in flight may finish


async def test_a_failing_model_fails_the_job_and_the_flow_reports_it(
    server: OpenAIServer, settings_for: Any, pair_plugins: Any,
    crewai_events: Callable[[], list[tuple[str | None, str]]],
) -> None:
    server.default = Fault.server_error(500)
    job, _ = await run_job(pair_plugins, "pair", {},
                           settings=settings_for(model_max_retries=0))
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "model_error"
    mine = [kind for who, kind in crewai_events() if who == job.id]
    assert "flow_failed:AgentExecutor" in mine
    assert "flow_finished:AgentExecutor" not in mine


async def test_an_agent_that_keeps_calling_tools_is_stopped_at_max_iter(
    server: OpenAIServer, settings_for: Any, pair_plugins: Any
) -> None:
    def plan() -> None:
        server.default = Reply.tool("lookup", {"query": "Maya"})
        server.queue("Maya climbs.")

    with_driver, without = await _with_and_without_driver(
        server, plan, lambda: run_job(pair_plugins, "pair", {}, settings=settings_for()))
    # the summary, max_iter (4) tool rounds, then crewAI's forced final answer (which crewAI
    # 1.15 itself cannot store for native tool calls: the job fails, as data, either way)
    assert len(with_driver["requests"]) == 1 + 4 + 1
    assert with_driver["status"] in ("succeeded", "failed")
    assert with_driver == without


def test_a_standalone_agent_kickoff_still_runs_on_crewais_engine(
    server: OpenAIServer, settings_for: Any
) -> None:
    from crewai import Agent

    from novelcrew.llm.providers import build_provider_llm

    crewai_bridge.prepare(settings_for().resolved_data_dir)
    assert crewai_executor.install()
    llm = build_provider_llm("openai/main", settings_for())
    agent = Agent(role="Reader", goal="read", backstory="careful", llm=llm)
    out = agent.kickoff("Who climbed the lighthouse?")
    assert "Maya" in str(out.raw)
    assert len(server.calls) == 1


def test_user_flows_bind_and_route_as_before() -> None:
    from crewai.flow.flow import Flow, listen, router, start

    assert crewai_executor.install()

    class Review(Flow):  # type: ignore[type-arg]
        @start()
        def draft(self) -> str:
            self.state["n"] = self.state.get("n", 0) + 1
            return "draft"

        @router(draft)
        def decide(self) -> str:
            return "approve"

        @listen("approve")
        def publish(self) -> str:
            return f"published {self.state['n']}"

    flow = Review()
    assert flow.draft.__self__ is flow
    assert flow.kickoff() == "published 1"
    assert Review().kickoff() == "published 1"


async def test_garbage_made_after_crewai_is_loaded_is_still_collected(
    server: OpenAIServer, settings_for: Any, pair_plugins: Any
) -> None:
    job, _ = await run_job(pair_plugins, "pair", {}, settings=settings_for())
    assert job.status == "succeeded"

    class Node:
        other: Any = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    del a, b
    gc.collect()
    assert ref() is None


async def test_crews_run_with_a_young_collection_every_10000_allocations(
    server: OpenAIServer, settings_for: Any, pair_plugins: Any
) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, before[1], before[2])
        job, _ = await run_job(pair_plugins, "pair", {}, settings=settings_for())
        assert job.status == "succeeded"
        assert gc.get_threshold() == (crewai_bridge.YOUNG_GC_THRESHOLD, before[1], before[2])
        gc.set_threshold(50_000, 5, 5)  # a higher one (``serve``'s) is kept
        crewai_bridge._collect_young_less_often()
        assert gc.get_threshold() == (50_000, 5, 5)
        gc.set_threshold(0)  # automatic collection switched off stays off
        crewai_bridge._collect_young_less_often()
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_the_driver_gives_way_when_crewai_changes(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    import crewai

    crewai_executor.uninstall()
    try:
        monkeypatch.setattr(crewai, "__version__", "9.0.0")
        assert crewai_executor.install() is False
        from crewai.agents.agent_executor import AgentExecutor

        assert "kickoff" not in AgentExecutor.__dict__
    finally:
        monkeypatch.undo()
        crewai_executor.uninstall()
        assert crewai_executor.install()
