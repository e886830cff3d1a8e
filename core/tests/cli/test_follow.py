"""``novelcrew run``'s live view follows a job by its events; it reads the job's record only
where the record's usage changes (a crew's end, the job's end), not on every batch of events,
since the record of a long job carries every partial result published so far."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console

from novelcrew.backends.memory import MemoryStore
from novelcrew.cli.run import follow
from novelcrew.jobs import Job, ModelUsage


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    async def get(self, job_id: str) -> Job | None:
        self.gets += 1
        return await super().get(job_id)


async def test_the_live_view_reads_the_record_at_crew_ends_only() -> None:
    store = CountingStore()
    await store.open()
    job = Job(crews=["architect"])
    await store.create(job)
    console = Console(record=True, width=120, color_system=None, force_terminal=False)
    watcher = asyncio.create_task(follow(store, job.id, console))

    async def emit(event: str, **data: Any) -> None:
        await store.append_event(job.id, event, crew="architect", data=data)
        await asyncio.sleep(0)  # let the view take each event in its own batch

    await emit("started")
    for i in range(60):
        await emit("llm_call")
        await emit("partial", kind="chunk", key=str(i), done=i + 1, total=60)
    job.usage = {"m": ModelUsage(calls=75)}  # 15 calls answered without an llm_call event
    await store.save(job)
    await emit("crew_finished", seconds=1.0)
    await emit("succeeded")
    await asyncio.wait_for(watcher, 10)

    assert store.gets in (1, 2)  # at the crew's end and the job's, not once per batch (120)
    assert "75 model calls" in console.export_text()  # the usage, not the 60 events
