"""A crew that makes ``calls`` model calls at once (one-task crewAI crews, as the architect
analyses its chunks); loaded by workers through ``NOVELCREW_PLUGIN_MODULES``."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl


class FanIn(BaseModel):
    calls: int = 6


class FanOut(BaseModel):
    answers: list[str]
    pid: int


async def fan(ctx: RunContext, inputs: FanIn) -> FanOut:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    async def one(i: int) -> str:
        agent = Agent(role="Reader", goal="read", backstory="reads", llm=ctx.llm("Reader"),
                      max_iter=1)
        task = Task(name=f"part {i}", description=f"Read part {i}.", expected_output="a line",
                    agent=agent)
        out = await ctx.kickoff(CrewAICrew(agents=[agent], tasks=[task], tracing=False), {})
        return str(out.raw)

    answers = await asyncio.gather(*(one(i) for i in range(inputs.calls)))
    return FanOut(answers=list(answers), pid=os.getpid())


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="fan", description="Many model calls at once.", input_model=FanIn,
                  output_model=FanOut, run=fan, agents=("Reader",)))
