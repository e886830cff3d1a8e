"""Crews for the arq backend tests, loaded by workers through ``NOVELCREW_PLUGIN_MODULES``.

They call no model. ``sleepy`` appends ``<job id> <crew>`` to its ``ledger`` file when it
finishes, so a test can count how often each crew of each job really ran to its end, across
worker processes, and names its worker's pid in its task events; ``flaky`` keeps its failure
count in a file for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl
from novelcrew.errors import TransientError


class SleepyIn(BaseModel):
    steps: int = 3
    step_seconds: float = 0.05
    ledger: str | None = None


class Done(BaseModel):
    crew: str
    steps: int


async def sleepy(ctx: RunContext, inputs: SleepyIn) -> Done:
    await ctx.add_tasks(inputs.steps)
    for i in range(inputs.steps):
        await ctx.task_started(f"step {i + 1}", pid=os.getpid())
        await asyncio.sleep(inputs.step_seconds)
        await ctx.task_finished(f"step {i + 1}", pid=os.getpid())
    if inputs.ledger:
        with Path(inputs.ledger).open("a") as fh:
            fh.write(f"{ctx.job_id} {ctx.crew}\n")
    return Done(crew=ctx.crew, steps=inputs.steps)


class FlakyIn(BaseModel):
    counter: str
    failures: int = 1


async def flaky(ctx: RunContext, inputs: FlakyIn) -> Done:
    path = Path(inputs.counter)
    seen = int(path.read_text()) if path.exists() else 0
    if seen < inputs.failures:
        path.write_text(str(seen + 1))
        raise TransientError("provider unavailable", {"try": seen + 1})
    return Done(crew=ctx.crew, steps=0)


class NoopIn(BaseModel):
    pass


async def noop(ctx: RunContext, inputs: NoopIn) -> Done:
    return Done(crew=ctx.crew, steps=0)


class StragglerIn(BaseModel):
    #: written "reported" once the thread has sent its late reports
    marker: str
    #: how long the thread's "model call" takes, deaf to cancellation (a request in flight)
    call_seconds: float = 0.5
    #: a file counting attempts: the first fails transiently at once, its thread left running
    fail_first: str | None = None


async def straggler(ctx: RunContext, inputs: StragglerIn) -> Done:
    """A thread that outlives its run, as a crewAI thread waiting on a model's answer does:
    when the answer comes it reports the call, a partial result and a finished task."""
    loop = asyncio.get_running_loop()
    await ctx.add_tasks(1)

    def work() -> None:
        time.sleep(inputs.call_seconds)
        ctx.emit_threadsafe("llm_call", "a late answer", model="offline")
        for coro in (ctx.publish_partial("late", 1, {"from": "an ended run"}),
                     ctx.task_finished("late task")):
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(coro, loop).result(5)
        Path(inputs.marker).write_text("reported")

    thread = threading.Thread(target=work, daemon=True)
    if inputs.fail_first is not None:
        counter = Path(inputs.fail_first)
        if not counter.exists():
            counter.write_text("1")
            thread.start()
            raise TransientError("provider unavailable")
        return Done(crew=ctx.crew, steps=1)
    thread.start()
    await asyncio.to_thread(thread.join)
    return Done(crew=ctx.crew, steps=1)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="sleepy", description="Sleeps in steps.", input_model=SleepyIn,
                  output_model=Done, run=sleepy))
    register(Crew(name="sleepy2", description="Sleeps in steps, second stage.",
                  input_model=SleepyIn, output_model=Done, run=sleepy))
    register(Crew(name="flaky", description="Fails transiently first.", input_model=FlakyIn,
                  output_model=Done, run=flaky))
    register(Crew(name="straggler", description="Leaves a thread behind.",
                  input_model=StragglerIn, output_model=Done, run=straggler))
    register(Crew(name="noop", description="Does nothing.", input_model=NoopIn,
                  output_model=Done, run=noop))
