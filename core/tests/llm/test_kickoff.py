"""A crewAI kickoff through ``RunContext.kickoff``: a crew's own callbacks still run, progress
and task events reach the job in order, and cancelling stops the crew at its next step."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import hookimpl
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job
from novelcrew.runner import JobRunner
from novelcrew.specs import Crew
from novelcrew_sdk.scripted import ScriptedLLM, scripted_models_plugin
from novelcrew_sdk.testing import make_plugins, make_settings, run_job

#: what the crews' own callbacks saw, by test
SEEN: dict[str, list[str]] = {"steps": [], "tasks": []}


class StepsIn(BaseModel):
    tasks: int = 3


class StepsOut(BaseModel):
    text: str


async def run_steps(ctx: Any, inputs: StepsIn) -> StepsOut:
    """A crew whose author set both ``step_callback`` and ``task_callback``."""
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew
    from crewai.tools import tool

    @tool("note")
    def note(text: str) -> str:
        """Write a note."""
        return "noted"

    agent = Agent(role="Writer", goal="write", backstory="writes", llm=ctx.llm("Writer"),
                  tools=[note], max_iter=3)
    tasks = [Task(name=f"step {i}", description=f"Write line {i}.", expected_output="a line",
                  agent=agent) for i in range(1, inputs.tasks + 1)]
    crew = CrewAICrew(agents=[agent], tasks=tasks, tracing=False,
                      step_callback=lambda step: SEEN["steps"].append(type(step).__name__),
                      task_callback=lambda out: SEEN["tasks"].append(out.name))
    out = await ctx.kickoff(crew, {})
    return StepsOut(text=out.raw)


class StepsCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="steps", description="several tasks", input_model=StepsIn,
                      output_model=StepsOut, run=run_steps))


async def test_a_crews_own_callbacks_still_run_and_progress_still_flows(
    tmp_path: Path
) -> None:
    SEEN["steps"].clear()
    SEEN["tasks"].clear()

    def react(prompt: str) -> str:  # one tool step (a crewAI step), then the answer
        if "noted" in prompt:
            return "Thought: done\nFinal Answer: a line."
        return 'Thought: a note first\nAction: note\nAction Input: {"text": "line"}'

    llm = ScriptedLLM(default=react)
    plugins = make_plugins(StepsCrews(), llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, events = await run_job(plugins, "steps", {"tasks": 3}, settings=settings)
    assert job.status == "succeeded", job.error
    assert SEEN["tasks"] == ["step 1", "step 2", "step 3"]
    assert len(SEEN["steps"]) >= 3  # at least the tool step of each task
    assert (job.progress.completed_tasks, job.progress.total_tasks) == (3, 3)
    task_events = [(e.type, e.message) for e in events
                   if e.type in ("task_started", "task_finished")]
    assert task_events == [(kind, f"step {i}") for i in (1, 2, 3)
                           for kind in ("task_started", "task_finished")]


async def test_cancelling_stops_the_crew_at_its_next_step(tmp_path: Path) -> None:
    release = threading.Event()
    answered: list[str] = []

    def slow(prompt: str) -> str:
        answered.append(prompt)
        release.wait(10)
        return "Thought: done\nFinal Answer: a line."

    plugins = make_plugins(StepsCrews(), scripted_models_plugin(ScriptedLLM(default=slow)))
    settings = make_settings(tmp_path / "data", default_model="scripted")
    store = MemoryStore()
    await store.open()
    runner = JobRunner(plugins, settings, store)
    job = Job(crews=["steps"], inputs={"tasks": 5})
    await store.create(job)
    cancel = threading.Event()
    running = asyncio.ensure_future(runner.run(job.id, cancel))
    while not answered:
        await asyncio.sleep(0.02)
    cancel.set()
    release.set()
    outcome = await asyncio.wait_for(running, 30)
    assert outcome.job.status == "cancelled"
    assert len(answered) == 1  # no task after the cancel reached the model


async def test_a_kickoff_handed_back_mid_crew_logs_no_unretrieved_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A draining server cancels the task awaiting a kickoff (the job is handed back, not
    cancelled); the crew's thread then stops with ``JobCancelled``. Nobody awaited that any
    more, so asyncio logged "Future exception was never retrieved" at error level for every
    crew of a clean SIGTERM."""
    import gc

    from novelcrew.crewai.kickoff import wait_idle

    release = threading.Event()
    answered: list[str] = []

    def slow(prompt: str) -> str:
        answered.append(prompt)
        release.wait(10)
        return "Thought: done\nFinal Answer: a line."

    plugins = make_plugins(StepsCrews(), scripted_models_plugin(ScriptedLLM(default=slow)))
    settings = make_settings(tmp_path / "data", default_model="scripted")
    store = MemoryStore()
    await store.open()
    job = Job(crews=["steps"], inputs={"tasks": 5})
    await store.create(job)
    running = asyncio.ensure_future(JobRunner(plugins, settings, store).run(
        job.id, threading.Event()))
    while not answered:
        await asyncio.sleep(0.02)
    with caplog.at_level("ERROR", logger="asyncio"):
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        release.set()
        assert await asyncio.to_thread(wait_idle, 10)
        await asyncio.sleep(0.05)  # the future's outcome reaches the loop
        gc.collect()
    assert len(answered) == 1  # the crew stopped at its next step
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()], \
        [r.getMessage() for r in caplog.records]


#: a fresh process whose first two kickoffs build crewAI's agent executor in two threads at
#: once. crewAI reads every public attribute of the executor class as it first builds the
#: class's flow definition; the attribute added here holds the first of two readers back until
#: the other has built and stored its copy (the timing a worker's first job had by chance)
RACE = """
import asyncio, sys, threading, time
from pathlib import Path
from typing import Any

from crewai import Agent
from pydantic import BaseModel

from novelcrew import hookimpl
from novelcrew.specs import Crew
from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_sdk.testing import make_plugins, make_settings, run_job

readers = threading.Barrier(2)


class SlowToRead:
    def __get__(self, obj: Any, owner: Any) -> None:
        try:
            if readers.wait(timeout=1.0) == 0:
                time.sleep(0.3)
        except threading.BrokenBarrierError:  # one reader only: nothing to hold back
            pass


executor = Agent.model_fields["executor_class"].default
executor.slow_to_read = SlowToRead()


class PairIn(BaseModel):
    pass


class PairOut(BaseModel):
    answers: list[str]


async def run_pair(ctx: Any, inputs: PairIn) -> PairOut:
    from crewai import Task
    from crewai import Crew as CrewAICrew

    async def one(i: int) -> str:
        agent = Agent(role="Reader", goal="read", backstory="reads", llm=ctx.llm("Reader"))
        task = Task(name=f"part {i}", description=f"Read part {i}.", expected_output="a line",
                    agent=agent)
        return str((await ctx.kickoff(CrewAICrew(agents=[agent], tasks=[task]), {})).raw)

    return PairOut(answers=list(await asyncio.gather(one(1), one(2))))


class PairCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="pair", description="two crews at once", input_model=PairIn,
                      output_model=PairOut, run=run_pair))


async def main() -> None:
    llm = ScriptedLLM(default="Thought: done\\nFinal Answer: a line.")
    plugins = make_plugins(PairCrews(), llm=llm)
    settings = make_settings(Path(sys.argv[1]), default_model="scripted")
    job, _ = await run_job(plugins, "pair", {}, settings=settings)
    print(job.status, job.error.message if job.error else job.result["pair"]["answers"])


asyncio.run(main())
"""


def test_crews_kicked_off_at_once_in_a_fresh_process_do_not_race(tmp_path: Path) -> None:
    """A worker's first job failed with "dictionary changed size during iteration" (crewAI
    1.15): its first two chunk analyses built the agent executor's flow definition in two
    threads, and the slower read the class while the faster stored its copy. The kickoff now
    builds it first, once, on the event loop. (crewAI 1.12's executor has no flow definition:
    there, nothing races.)"""
    script = tmp_path / "race.py"
    script.write_text(RACE)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "succeeded ['a line.', 'a line.']", \
        done.stdout[-2000:]
