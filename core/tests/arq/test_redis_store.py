"""What only ``RedisStore``, a store shared by many processes, needs beyond the contract every
store keeps (``backends/test_store_contract.py`` runs that on Redis too): terminal states
that stay final and a log that closes after its terminal event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_store_contract import make_job

from novelcrew.backends.arq.keys import Keys
from novelcrew.backends.arq.store import RedisStore
from novelcrew.hookspecs import hookimpl
from novelcrew.jobs import Job, JobEvent, JobStatus
from novelcrew.plugins import load, register_module
from novelcrew.runner import JobRunner
from novelcrew.settings import Settings


@pytest.fixture
async def store(redis_url: str, root: str) -> AsyncIterator[RedisStore]:
    s = RedisStore(redis_url, Keys(root))
    await s.open()
    yield s
    await s.close()


async def test_two_clients_see_the_same_records_and_events(redis_url: str, root: str) -> None:
    a, b = RedisStore(redis_url, Keys(root)), RedisStore(redis_url, Keys(root))
    await a.open()
    await b.open()
    try:
        job = make_job(project_id="p")
        await a.create(job)
        waiter = asyncio.create_task(b.wait_events(job.id, 0, timeout=10))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        await a.append_event(job.id, "started")
        assert [e.type for e in await asyncio.wait_for(waiter, 2)] == ["started"]
        got = await b.get(job.id)
        assert got is not None and got.events_count == 1
        page, total = await b.list(project_id="p")
        assert total == 1 and page[0].id == job.id
    finally:
        await a.close()
        await b.close()


async def test_a_terminal_record_stays_final(store: RedisStore) -> None:
    """A job finished by one worker keeps that ending when a recovered run saves it again."""
    job = make_job()
    await store.create(job)
    done = job.model_copy(update={"status": JobStatus.succeeded, "result": {"a": 1}})
    await store.save(done)
    late = job.model_copy(update={"status": JobStatus.running})
    await store.save(late)
    again = job.model_copy(update={"status": JobStatus.failed})
    await store.save(again)
    got = await store.get(job.id)
    assert got is not None and got.status is JobStatus.succeeded and got.result == {"a": 1}
    assert await store.counts() == {"queued": 0, "running": 0, "succeeded": 1, "failed": 0,
                                    "cancelled": 0}


async def test_save_if_is_a_check_and_set(store: RedisStore) -> None:
    job = make_job()
    await store.create(job)
    running = job.model_copy(update={"status": JobStatus.running})
    assert await store.save_if(running, {JobStatus.queued})
    cancelled = job.model_copy(update={"status": JobStatus.cancelled})
    assert not await store.save_if(cancelled, {JobStatus.queued})
    got = await store.get(job.id)
    assert got is not None and got.status is JobStatus.running


async def test_only_one_terminal_event_however_many_finishers(store: RedisStore) -> None:
    job = make_job()
    await store.create(job)
    await store.append_event(job.id, "started")
    first, second = await asyncio.gather(
        store.append_event(job.id, "succeeded"), store.append_event(job.id, "succeeded")
    )
    assert first.seq == second.seq == 2
    late = await store.append_event(job.id, "progress")
    assert late.seq == 2 and late.type == "succeeded"
    assert [e.type for e in await store.events(job.id)] == ["started", "succeeded"]
    got = await store.get(job.id)
    assert got is not None and got.events_count == 2


async def test_list_pages_by_status_and_counts_move_with_transitions(store: RedisStore) -> None:
    jobs = [make_job(project_id="p") for _ in range(3)]
    for job in jobs:
        await store.create(job)
    jobs[0].status = JobStatus.running
    await store.save(jobs[0])
    page, total = await store.list(status=JobStatus.queued)
    assert total == 2 and {j.id for j in page} == {jobs[1].id, jobs[2].id}
    page, total = await store.list(project_id="p", status=JobStatus.running)
    assert total == 1 and page[0].id == jobs[0].id
    assert (await store.counts())["running"] == 1


async def test_a_save_without_an_event_reaches_other_processes_promptly(
    redis_url: str, root: str
) -> None:
    """Saves wait briefly to travel with the next event; alone they still land within ms."""
    a, b = RedisStore(redis_url, Keys(root)), RedisStore(redis_url, Keys(root))
    await a.open()
    await b.open()
    try:
        job = make_job()
        await a.create(job)
        job.status = JobStatus.running
        await a.save(job)
        got = await a.get(job.id)  # the writer reads its own write at once
        assert got is not None and got.status is JobStatus.running
        job.progress.completed_tasks = 1
        await a.save(job)
        for _ in range(100):
            seen = await b.get(job.id)
            if seen is not None and seen.progress.completed_tasks == 1:
                break
            await asyncio.sleep(0.01)
        assert seen is not None and seen.progress.completed_tasks == 1
    finally:
        await a.close()
        await b.close()


async def test_save_with_event_creates_both_or_neither(store: RedisStore) -> None:
    job = make_job()
    event = await store.save_with_event(job, "queued", message="job queued", create=True)
    assert event.seq == 1 and event.type == "queued"
    got = await store.get(job.id)
    assert got is not None and got.events_count == 1
    with pytest.raises(ValueError):
        await store.save_with_event(job, "queued", create=True)
    assert [e.type for e in await store.events(job.id)] == ["queued"]


async def test_mark_cancel_requested_sets_only_the_flag(store: RedisStore) -> None:
    job = make_job()
    await store.create(job)
    running = job.model_copy(update={"status": JobStatus.running, "result": {"a": 1}})
    await store.save(running)
    assert await store.mark_cancel_requested(job.id)
    got = await store.get(job.id)
    assert got is not None and got.cancel_requested and got.result == {"a": 1}
    await store.save(running.model_copy(update={"status": JobStatus.succeeded}))
    assert not await store.mark_cancel_requested(job.id)
    assert not await store.mark_cancel_requested("unknown")


async def test_a_tracked_jobs_writes_are_batched_and_read_back_in_order(
    redis_url: str, root: str
) -> None:
    """While a worker runs a job its events are numbered locally and sent in batches; the
    numbers match the log's, and a reader elsewhere sees every event within milliseconds."""
    worker, reader = RedisStore(redis_url, Keys(root)), RedisStore(redis_url, Keys(root))
    await worker.open()
    await reader.open()
    try:
        job = make_job()
        await reader.save_with_event(job, "queued", create=True)
        worker.track(job.id)
        running = await worker.get(job.id)
        assert running is not None
        running.status = JobStatus.running
        await worker.save(running)
        local = [await worker.append_event(job.id, "progress", data={"i": i}) for i in range(5)]
        assert [e.seq for e in local] == [2, 3, 4, 5, 6]
        seen: list = []
        for _ in range(100):
            seen = await reader.wait_events(job.id, 0, timeout=0.2)
            if len(seen) == 6:
                break
            await asyncio.sleep(0.01)
        assert [(e.seq, e.data.get("i")) for e in seen[1:]] == [
            (e.seq, e.data["i"]) for e in local
        ]
        got = await reader.get(job.id)
        assert got is not None and got.status is JobStatus.running
        running.status = JobStatus.succeeded
        await worker.save(running)
        end = await worker.append_event(job.id, "succeeded")
        assert end.seq == 7
        await worker.untrack(job.id)
        assert [e.type for e in await reader.events(job.id)][-1] == "succeeded"
    finally:
        await worker.close()
        await reader.close()


async def test_a_tracked_jobs_held_events_yield_to_a_terminal_event_from_elsewhere(
    redis_url: str, root: str
) -> None:
    """Another instance ends the job first: the worker's held events are dropped with the
    log closed, and its own terminal event comes back as the one that ended the job."""
    worker, api = RedisStore(redis_url, Keys(root)), RedisStore(redis_url, Keys(root))
    await worker.open()
    await api.open()
    try:
        job = make_job()
        await api.save_with_event(job, "queued", create=True)
        worker.track(job.id)
        await worker.get(job.id)
        await worker.append_event(job.id, "progress")
        cancelled = await api.append_event(job.id, "cancelled")
        late = await worker.append_event(job.id, "succeeded")
        assert late.type == "cancelled" and late.seq == cancelled.seq
        await worker.untrack(job.id)
        types = [e.type for e in await api.events(job.id)]
        assert types[-1] == "cancelled" and types.count("cancelled") == 1
        assert "succeeded" not in types
    finally:
        await worker.close()
        await api.close()


async def test_an_event_after_the_ending_reaches_no_observer_as_a_second_ending(
        store: RedisStore, tmp_path: Path) -> None:
    """A cancelled job's model calls still in flight in crewAI's threads report `llm_call`s
    after the `cancelled` event closed the log; the store hands back the `cancelled` event
    for each, and observers (the job log line, metrics, webhooks, Payload) must not hear the
    job end again: a worker logged `job_cancelled` eight times for one cancel."""
    heard: list[str] = []

    class Observer:
        @hookimpl
        def job_event(self, event: JobEvent, job: Job) -> None:
            heard.append(event.type)

    plugins = load(allow=[], include_entry_points=False)
    register_module(plugins, Observer(), "observer")
    runner = JobRunner(plugins, Settings(_env_file=None, data_dir=tmp_path),  # type: ignore[call-arg]
                       store)
    job = make_job()
    await store.create(job)
    job.status = JobStatus.cancelled
    await runner.emit(job, "cancelled", message="job cancelled", save=True)
    late = await runner.emit(job, "llm_call", data={"model": "offline"})
    await runner.emit(job, "failed", message="a second ending")
    assert late.type == "cancelled"  # the store's answer for a closed log
    assert heard == ["cancelled"]
    assert [e.type for e in await store.events(job.id)] == ["cancelled"]


async def test_an_outage_logs_one_flush_failure_and_the_recovery(tmp_path: Path) -> None:
    """Held writes are retried every 20 ms while Redis is away: a 3 s outage wrote about a
    hundred identical ``redis_store_flush_failed`` lines. Now: one line at the first failure
    (then one per ``FLUSH_FAILURE_LOG_SECONDS``), and one ``redis_store_flush_recovered``
    with the count once the writes go through, none of them lost."""
    import structlog
    from nc_redis_server import start_redis

    from novelcrew_sdk.testing import stop_process

    proc, url = start_redis(tmp_path / "r", appendonly=True)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    store = RedisStore(url, Keys("flush"))
    await store.open()
    try:
        job = make_job()
        await store.save_with_event(job, "queued", create=True)
        store.track(job.id)
        await store.append_event(job.id, "started")  # the log's numbering is known
        await store.flush()
        with structlog.testing.capture_logs() as logs:
            stop_process(proc, 10)
            for i in range(5):
                await store.append_event(job.id, "progress", data={"i": i})
            await asyncio.sleep(1.0)  # about 50 retries
            proc, _ = start_redis(tmp_path / "r", port=port, appendonly=True)
            for _ in range(300):
                if not any(line["event"] == "redis_store_flush_recovered" for line in logs):
                    await asyncio.sleep(0.02)
        failed = [line for line in logs if line["event"] == "redis_store_flush_failed"]
        recovered = [line for line in logs if line["event"] == "redis_store_flush_recovered"]
        assert len(failed) == 1 and failed[0]["failures"] == 1, failed
        assert len(recovered) == 1 and recovered[0]["failures"] > 10, recovered
        events = await store.events(job.id)
        assert [e.data.get("i") for e in events[2:]] == [0, 1, 2, 3, 4]
    finally:
        await store.close()
        stop_process(proc, 10)
