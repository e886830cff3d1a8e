"""Small hand-written crews for backend tests (no model calls), shared with the server script.

``slow`` appends one line per run to the file named by its ``marker`` input, so a test can
count how many times each job's crew really ran to its end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from nc_straggler import STRAGGLER
from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl
from novelcrew.errors import TransientError


class SlowIn(BaseModel):
    story_text: str
    steps: int = 3
    step_seconds: float = 0.05
    marker: str | None = None
    gate: str | None = None
    #: a file the crew waits for before its steps (a gate another process can open)
    gate_file: str | None = None


class SlowOut(BaseModel):
    words: int
    steps: int


#: asyncio events a test can hold crews at (by the ``gate`` input)
GATES: dict[str, asyncio.Event] = {}
#: job ids in the order their ``slow`` crew started
STARTED: list[str] = []
FLAKY_FAILURES: dict[str, int] = {}


async def slow(ctx: RunContext, inputs: SlowIn) -> SlowOut:
    STARTED.append(ctx.job_id)
    await ctx.add_tasks(inputs.steps)
    if inputs.gate:
        await GATES.setdefault(inputs.gate, asyncio.Event()).wait()
    while inputs.gate_file and not Path(inputs.gate_file).exists():
        await asyncio.sleep(0.02)
    for i in range(inputs.steps):
        await ctx.task_started(f"step {i + 1}")
        await asyncio.sleep(inputs.step_seconds)
        await ctx.task_finished(f"step {i + 1}")
    out = SlowOut(words=len(inputs.story_text.split()), steps=inputs.steps)
    if inputs.marker:
        with Path(inputs.marker).open("a") as fh:
            fh.write(f"{ctx.job_id}\n")
    return out


class QuickIn(BaseModel):
    story_text: str
    marker: str | None = None


async def quick(ctx: RunContext, inputs: QuickIn) -> SlowOut:
    """A first stage that finishes at once (and says so in the marker file)."""
    if inputs.marker:
        with Path(inputs.marker).open("a") as fh:
            fh.write(f"quick:{ctx.job_id}\n")
    return SlowOut(words=len(inputs.story_text.split()), steps=0)


class FlakyIn(BaseModel):
    story_text: str
    failures: int = 1


async def flaky(ctx: RunContext, inputs: FlakyIn) -> SlowOut:
    seen = FLAKY_FAILURES.get(ctx.job_id, 0)
    if seen < inputs.failures:
        FLAKY_FAILURES[ctx.job_id] = seen + 1
        raise TransientError("provider unavailable", {"try": seen + 1})
    return SlowOut(words=len(inputs.story_text.split()), steps=0)


#: job id -> the ``threaded`` crew's worker thread: "started", then "cancelled" or "done"
THREADS: dict[str, str] = {}


async def threaded(ctx: RunContext, inputs: SlowIn) -> SlowOut:
    """Blocking work in a thread that stops when the job's cancel event is set (as crewAI's
    step callback does)."""

    def work() -> None:
        THREADS[ctx.job_id] = "started"
        for _ in range(int(inputs.steps)):
            if ctx.cancel_event.wait(inputs.step_seconds):
                THREADS[ctx.job_id] = "cancelled"
                return
        THREADS[ctx.job_id] = "done"

    await asyncio.to_thread(work)
    return SlowOut(words=len(inputs.story_text.split()), steps=inputs.steps)


class TestCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="agentic", description="Declares crewAI agents (runs none).",
                      input_model=SlowIn, output_model=SlowOut, run=slow, agents=("Tester",)))
        register(Crew(name="quick", description="Finishes at once.", input_model=QuickIn,
                      output_model=SlowOut, run=quick))
        register(Crew(name="threaded", description="Works in a thread.", input_model=SlowIn,
                      output_model=SlowOut, run=threaded))
        register(Crew(name="slow", description="Counts words slowly.", input_model=SlowIn,
                      output_model=SlowOut, run=slow))
        register(STRAGGLER)
        register(Crew(name="flaky", description="Fails transiently first.",
                      input_model=FlakyIn, output_model=SlowOut, run=flaky))


def plugins() -> Any:
    from novelcrew.plugins import load, register_module

    loaded = load(allow=[], include_entry_points=False)
    register_module(loaded, TestCrews(), "testcrews")
    return loaded


@hookimpl
def register_crews(register: Any) -> None:
    """Module-level hook, so this module also works as an installed plugin (entry point)."""
    TestCrews().register_crews(register)
