"""The ``straggler`` crew: a run whose thread outlives it, for both job backends' tests.

The inline tests register it in their own process (``backends/testcrews.py``), the arq tests
in worker processes (``arq/nc_arq_crews.py``, by module path: a process that loads either
module needs this folder on its ``PYTHONPATH``), so it tells a test what it did through files.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path

from pydantic import BaseModel

from novelcrew import Crew, RunContext
from novelcrew.errors import TransientError


class StragglerIn(BaseModel):
    #: written "reported" once the thread has sent its late reports
    marker: str
    #: how long the thread's "model call" takes, deaf to cancellation (a request in flight)
    call_seconds: float = 0.5
    #: a file counting attempts: the first fails transiently at once, its thread left running
    fail_first: str | None = None


class StragglerOut(BaseModel):
    steps: int


async def straggler(ctx: RunContext, inputs: StragglerIn) -> StragglerOut:
    """A thread that outlives its run, as a crewAI thread waiting on a model's answer does
    after a timeout: when the answer comes it reports the call, a partial result and a
    finished task to the job's loop, as crewAI's callbacks and the model layer do."""
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
        return StragglerOut(steps=1)
    thread.start()
    await asyncio.to_thread(thread.join)
    return StragglerOut(steps=1)


STRAGGLER = Crew(name="straggler", description="Leaves a thread behind.",
                 input_model=StragglerIn, output_model=StragglerOut, run=straggler)
