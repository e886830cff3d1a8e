"""Crews for the hardening tests, loaded by a server through ``NOVELCREW_PLUGIN_MODULES``.

``gated`` waits for its ``gate`` file (if any), works ``steps`` steps, then appends its job id
to the ``marker`` file: a test counts how many times each job's crew really ran to its end.
``pad`` makes its result that many characters long (a write that needs disk space).
``explode`` fails as plugin code does by mistake: an unexpected exception whose frames hold the
story, or (``bad_output``) an output that does not fit its model, quoting the story.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl


class GatedIn(BaseModel):
    story_text: str
    steps: int = 3
    step_seconds: float = 0.05
    marker: str | None = None
    gate: str | None = None
    pad: int = 0


class GatedOut(BaseModel):
    words: int
    steps: int
    pad: str = ""


async def gated(ctx: RunContext, inputs: GatedIn) -> GatedOut:
    await ctx.add_tasks(inputs.steps)
    while inputs.gate and not Path(inputs.gate).exists():
        await asyncio.sleep(0.05)
    for i in range(inputs.steps):
        await ctx.task_started(f"step {i + 1}")
        await asyncio.sleep(inputs.step_seconds)
        await ctx.task_finished(f"step {i + 1}")
    if inputs.marker:
        with Path(inputs.marker).open("a") as fh:
            fh.write(f"{ctx.job_id}\n")
    return GatedOut(words=len(inputs.story_text.split()), steps=inputs.steps,
                    pad="x" * inputs.pad)


class ExplodeIn(BaseModel):
    story_text: str
    bad_output: bool = False


async def explode(ctx: RunContext, inputs: ExplodeIn) -> Any:
    story = inputs.story_text  # a local variable a traceback with locals would show
    if inputs.bad_output:
        return {"words": story, "steps": story}  # does not validate as GatedOut
    raise RuntimeError(f"the crew broke after reading {len(story)} characters")


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="gated", description="Waits for a file, then counts words.",
                  input_model=GatedIn, output_model=GatedOut, run=gated))
    register(Crew(name="explode", description="Fails as buggy plugin code does.",
                  input_model=ExplodeIn, output_model=GatedOut, run=explode))
