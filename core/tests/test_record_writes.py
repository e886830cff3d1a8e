"""A running job's record is written for progress and partial results at most every
``record_write_seconds``, not once per event: each write stores the whole record, which grows
with every published piece. Events still go out one by one, and the record catches up."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job, JobStatus
from novelcrew.plugins import Plugins, load, register_module
from novelcrew.runner import JobRunner
from novelcrew.settings import Settings

PIECES = 40
GATE: dict[str, asyncio.Event] = {}


class In(BaseModel):
    pieces: int = PIECES
    gate: str | None = None


class Out(BaseModel):
    scenes: int


async def publish(ctx: RunContext, inputs: In) -> Out:
    await ctx.add_tasks(inputs.pieces)
    for i in range(inputs.pieces):
        await ctx.task_started(f"scene {i}")
        await ctx.publish_partial("scene", i, {"number": i}, total=inputs.pieces)
        await ctx.task_finished(f"scene {i}")
        await asyncio.sleep(0)  # as a crew waiting on its model does: the loop runs others
    if inputs.gate is not None:
        await GATE[inputs.gate].wait()
    return Out(scenes=inputs.pieces)


class Crews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="pieces", description="publishes pieces", input_model=In,
                      output_model=Out, run=publish))


class CountingStore(MemoryStore):
    """Counts record writes; with ``fail_between`` the writes between two events fail."""

    def __init__(self, fail_between: bool = False) -> None:
        super().__init__()
        self.saves = 0
        self.failed = 0
        self.fail_between = fail_between
        self._with_event = False

    async def save(self, job: Job) -> None:
        self.saves += 1
        if self.fail_between and not self._with_event:
            self.failed += 1
            raise RuntimeError("disk full")
        await super().save(job)

    async def save_with_event(self, job: Job, type: str, **kw: Any) -> Any:
        self._with_event = True
        try:
            return await super().save_with_event(job, type, **kw)
        finally:
            self._with_event = False


@pytest.fixture
def plugins() -> Plugins:
    loaded = load(allow=[], include_entry_points=False)
    register_module(loaded, Crews(), "crews")
    return loaded


async def _runner(plugins: Plugins, tmp_path: Path, store: MemoryStore, seconds: float,
                  **inputs: Any) -> tuple[JobRunner, Job]:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    job = Job(crews=["pieces"], inputs=inputs)
    await store.create(job)
    runner = JobRunner(plugins, settings, store)
    runner.record_write_seconds = seconds
    return runner, job


async def test_progress_and_pieces_do_not_rewrite_the_record_per_event(
    plugins: Plugins, tmp_path: Path
) -> None:
    store = CountingStore()
    runner, job = await _runner(plugins, tmp_path, store, 3600.0)
    done = (await runner.run(job.id)).job
    assert done.status is JobStatus.succeeded
    events = await store.events(job.id)
    assert [e.type for e in events].count("partial") == PIECES
    assert [e.type for e in events].count("progress") == 2 * PIECES + 1
    # started, crew_started, the first progress, crew_finished, succeeded: not one per event
    assert store.saves <= 5
    stored = await store.get(job.id)
    assert stored is not None
    assert stored.progress.completed_tasks == stored.progress.total_tasks == PIECES
    assert (stored.partial["pieces"]["scene"].done, stored.partial["pieces"]["scene"].total) \
        == (PIECES, PIECES)


async def test_the_record_catches_up_without_another_event(
    plugins: Plugins, tmp_path: Path
) -> None:
    store = CountingStore()
    runner, job = await _runner(plugins, tmp_path, store, 0.05, pieces=3, gate="catch-up")
    GATE["catch-up"] = asyncio.Event()
    task = asyncio.create_task(runner.run(job.id))
    try:
        for _ in range(500):  # the crew now waits at its gate: no more events come
            stored = await store.get(job.id)
            assert stored is not None
            pieces = stored.partial.get("pieces", {}).get("scene")
            if pieces is not None and pieces.done == 3:
                break
            await asyncio.sleep(0.01)
        assert pieces is not None and sorted(pieces.items) == ["0", "1", "2"]
        assert stored.progress.completed_tasks == 3
        assert stored.status is JobStatus.running
    finally:
        GATE["catch-up"].set()
    assert (await asyncio.wait_for(task, 10)).job.status is JobStatus.succeeded


async def test_a_failed_progress_write_is_a_warning_not_a_failure(
    plugins: Plugins, tmp_path: Path
) -> None:
    store = CountingStore(fail_between=True)
    runner, job = await _runner(plugins, tmp_path, store, 0.0, pieces=5)
    done = (await runner.run(job.id)).job
    assert store.failed > 0  # the writes between events failed...
    assert done.status is JobStatus.succeeded  # ...and the job went on; its ending wrote all
    stored = await store.get(job.id)
    assert stored is not None and stored.result == {"pieces": {"scenes": 5}}
    assert stored.progress.completed_tasks == 5
