"""A crewAI kickoff through ``RunContext.kickoff``: a crew's own callbacks still run, progress
and task events reach the job in order, and cancelling stops the crew at its next step."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

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
