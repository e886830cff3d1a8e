"""A crew that makes one model call through the job's routed LLM (``offline``: no network),
so a worker's model series move. Kept apart from ``nc_arq_crews``: it imports crewAI."""

from __future__ import annotations

import asyncio
from typing import Any

from nc_arq_crews import Done, NoopIn

from novelcrew import Crew, RunContext, hookimpl


async def asks(ctx: RunContext, inputs: NoopIn) -> Done:
    llm = ctx.llm("writer")
    await asyncio.to_thread(llm.call, [{"role": "user", "content": "Name one colour."}])
    return Done(crew=ctx.crew, steps=1)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="asks", description="One model call.", input_model=NoopIn,
                  output_model=Done, run=asks, agents=("writer",)))
