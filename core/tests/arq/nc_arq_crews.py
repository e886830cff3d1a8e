"""Crews for the arq backend tests, loaded by workers through ``NOVELCREW_PLUGIN_MODULES``.

They call no model. ``sleepy`` appends ``<job id> <crew>`` to its ``ledger`` file when it
finishes, so a test can count how often each crew of each job really ran to its end, across
worker processes, and names its worker's pid in its task events; ``flaky`` keeps its failure
count in a file for the same reason.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from nc_straggler import STRAGGLER
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


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="sleepy", description="Sleeps in steps.", input_model=SleepyIn,
                  output_model=Done, run=sleepy))
    register(Crew(name="sleepy2", description="Sleeps in steps, second stage.",
                  input_model=SleepyIn, output_model=Done, run=sleepy))
    register(Crew(name="flaky", description="Fails transiently first.", input_model=FlakyIn,
                  output_model=Done, run=flaky))
    register(STRAGGLER)
    register(Crew(name="noop", description="Does nothing.", input_model=NoopIn,
                  output_model=Done, run=noop))
