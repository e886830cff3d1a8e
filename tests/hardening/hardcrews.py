"""Crews for the hardening tests, loaded by a server through ``NOVELCREW_PLUGIN_MODULES``.

``gated`` waits for its ``gate`` file (if any), works ``steps`` steps, then appends its job id
to the ``marker`` file: a test counts how many times each job's crew really ran to its end.
``pad`` makes its result that many characters long (a write that needs disk space).
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


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="gated", description="Waits for a file, then counts words.",
                  input_model=GatedIn, output_model=GatedOut, run=gated))
