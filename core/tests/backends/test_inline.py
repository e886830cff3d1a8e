"""The inline backend: bounded concurrency, order, cancellation, retries, restart recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import testcrews

from novelcrew.backends.inline import InlineBackend
from novelcrew.backends.inline.store import SQLiteStore
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job, JobStatus
from novelcrew.settings import Settings


def make_settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **kw)  # type: ignore[call-arg]


@pytest.fixture
def plugins() -> Any:
    testcrews.GATES.clear()
    testcrews.STARTED.clear()
    return testcrews.plugins()


@pytest.fixture
async def backend(tmp_path: Path, plugins: Any) -> AsyncIterator[InlineBackend]:
    b = InlineBackend(plugins, make_settings(tmp_path, concurrency=2))
    await b.start()
    yield b
    await b.stop()


async def wait_status(backend: InlineBackend, job_id: str, *statuses: JobStatus,
                      timeout: float = 10) -> Job:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job = await backend.get(job_id)
        if job.status in statuses:
            return job
        if loop.time() > deadline:
            raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")
        await asyncio.sleep(0.02)


def slow_job(**inputs: Any) -> Job:
    return Job(crews=["slow"], inputs={"story_text": "one two three", **inputs})


async def test_default_backend_keeps_records_in_sqlite_under_the_data_dir(
    tmp_path: Path, plugins: Any
) -> None:
    settings = make_settings(tmp_path)
    backend = InlineBackend.from_settings(settings, plugins)
    assert isinstance(backend.store, SQLiteStore)
    assert backend.store.path == settings.resolved_data_dir / "jobs.sqlite3"
    assert backend.concurrency == 4
    await backend.start()
    try:
        job = await backend.submit(slow_job())
        assert job.status is JobStatus.queued
        done = await wait_status(backend, job.id, JobStatus.succeeded)
        assert done.result == {"slow": {"words": 3, "steps": 3}}
    finally:
        await backend.stop()
    assert (settings.resolved_data_dir / "jobs.sqlite3").exists()


async def test_at_most_concurrency_jobs_run_and_the_rest_wait_in_order(
    backend: InlineBackend,
) -> None:
    testcrews.GATES["g"] = asyncio.Event()
    jobs = [await backend.submit(slow_job(gate="g")) for _ in range(5)]
    await wait_status(backend, jobs[1].id, JobStatus.running)
    await asyncio.sleep(0.2)
    statuses = [(await backend.get(j.id)).status for j in jobs]
    assert statuses == [JobStatus.running] * 2 + [JobStatus.queued] * 3
    stats = await backend.stats()
    assert stats["running"] == 2 and stats["concurrency"] == 2 and stats["queue_depth"] == 3
    testcrews.GATES["g"].set()
    for job in jobs:
        await wait_status(backend, job.id, JobStatus.succeeded)
    assert [j.id for j in jobs] == testcrews.STARTED


async def test_cancelling_a_queued_job_ends_it_at_once(backend: InlineBackend) -> None:
    testcrews.GATES["g"] = asyncio.Event()
    running = [await backend.submit(slow_job(gate="g")) for _ in range(2)]
    waiting = await backend.submit(slow_job())
    await wait_status(backend, running[1].id, JobStatus.running)
    cancelled = await backend.cancel(waiting.id)
    assert cancelled.status is JobStatus.cancelled
    events = await backend.store.events(waiting.id)
    assert [e.type for e in events] == ["queued", "cancelled"]
    testcrews.GATES["g"].set()
    for job in running:
        await wait_status(backend, job.id, JobStatus.succeeded)
    assert waiting.id not in testcrews.STARTED
    assert (await backend.get(waiting.id)).status is JobStatus.cancelled


async def test_cancelling_a_running_job_stops_it_at_its_next_step(
    backend: InlineBackend,
) -> None:
    job = await backend.submit(slow_job(steps=50, step_seconds=0.05))
    while (await backend.get(job.id)).progress.completed_tasks < 1:
        await asyncio.sleep(0.02)
    await backend.cancel(job.id)
    done = await wait_status(backend, job.id, JobStatus.cancelled)
    assert done.result == {}
    events = await backend.store.events(job.id)
    assert events[-1].type == "cancelled"
    assert [e.type for e in events].count("cancelled") == 1
    assert 0 < done.progress.completed_tasks < 50


async def test_a_transient_failure_is_retried_after_the_delay(
    backend: InlineBackend,
) -> None:
    job = await backend.submit(Job(crews=["flaky"], inputs={"story_text": "a b",
                                                            "failures": 1}))
    done = await wait_status(backend, job.id, JobStatus.succeeded, timeout=15)
    assert done.attempts == 2
    assert done.error is None
    types = [e.type for e in await backend.store.events(job.id)]
    assert types == ["queued", "started", "crew_started", "retrying", "started",
                     "crew_started", "crew_finished", "succeeded"]


async def test_start_re_runs_jobs_left_queued_or_running(tmp_path: Path, plugins: Any) -> None:
    settings = make_settings(tmp_path)
    store = SQLiteStore(settings.resolved_data_dir / "jobs.sqlite3")
    await store.open()
    left_running = slow_job()
    left_running.status = JobStatus.running
    left_running.attempts = 1
    left_queued = slow_job()
    finished = slow_job()
    finished.status = JobStatus.succeeded
    for job in (left_running, left_queued, finished):
        await store.create(job)
    await store.close()

    backend = InlineBackend(plugins, settings)
    await backend.start()
    try:
        for job in (left_running, left_queued):
            done = await wait_status(backend, job.id, JobStatus.succeeded)
            assert done.result["slow"]["words"] == 3
        recovered = await backend.get(left_running.id)
        assert recovered.attempts == 2
        events = await backend.store.events(left_running.id)
        assert events[0].type == "warning" and events[0].data["recovered"] is True
        assert (await backend.get(finished.id)).status is JobStatus.succeeded
        assert left_running.id in testcrews.STARTED and finished.id not in testcrews.STARTED
    finally:
        await backend.stop()


async def test_stop_leaves_running_jobs_for_the_next_start(tmp_path: Path, plugins: Any) -> None:
    settings = make_settings(tmp_path)
    first = InlineBackend(plugins, settings)
    await first.start()
    job = await first.submit(slow_job(steps=40, step_seconds=0.05))
    await wait_status(first, job.id, JobStatus.running)
    await asyncio.sleep(0.1)
    await first.stop()

    second = InlineBackend(plugins, settings)
    await second.start()
    try:
        assert (await second.get(job.id)).status in (JobStatus.running, JobStatus.queued,
                                                     JobStatus.succeeded)
        done = await wait_status(second, job.id, JobStatus.succeeded)
        assert done.result == {"slow": {"words": 3, "steps": 40}}
        events = await second.store.events(job.id)
        seqs = [e.seq for e in events]
        assert seqs == list(range(1, len(events) + 1))
        assert [e.type for e in events].count("succeeded") == 1 and events[-1].type == "succeeded"
    finally:
        await second.stop()


async def test_stream_follows_a_job_to_its_terminal_event(plugins: Any, tmp_path: Path) -> None:
    backend = InlineBackend(plugins, make_settings(tmp_path), store=MemoryStore())
    await backend.start()
    try:
        job = await backend.submit(slow_job(steps=3))
        seen = [e async for e in backend.stream(job.id) if e is not None]
        assert seen[0].type == "queued" and seen[-1].type == "succeeded"
        assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
    finally:
        await backend.stop()


async def test_a_job_over_the_time_limit_fails_as_timeout(tmp_path: Path, plugins: Any) -> None:
    backend = InlineBackend(plugins, make_settings(tmp_path, job_timeout_seconds=0.3))
    await backend.start()
    try:
        job = await backend.submit(slow_job(steps=100, step_seconds=0.05))
        done = await wait_status(backend, job.id, JobStatus.failed)
        assert done.error is not None and done.error.type == "timeout"
        assert done.error.crew == "slow"  # as the arq worker stores it (test_worker.py)
        events = await backend.store.events(job.id)
        assert events[-1].type == "failed" and [e.type for e in events].count("failed") == 1
        assert events[-1].crew == "slow"
        after = await backend.submit(slow_job(steps=1))  # the slot was given back
        await wait_status(backend, after.id, JobStatus.succeeded)
    finally:
        await backend.stop()


async def wait_straggler(marker: Path) -> None:
    for _ in range(500):
        if marker.exists():
            await asyncio.sleep(0.2)  # what it sent the loop has been handled
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the straggler's thread never reported")


async def test_a_timed_out_jobs_thread_writes_nothing_after_it_ended(
        tmp_path: Path, plugins: Any) -> None:
    """The thread of a timed-out job cannot be killed: it finishes the model call it is in
    and reports it. What it reports after the job failed is dropped: the record stays
    ``failed`` (not rewritten ``running`` by a late progress or partial) and the log ends
    with ``failed``, so a retry reads (and a client sees) the ending as it was."""
    backend = InlineBackend(plugins, make_settings(tmp_path, job_timeout_seconds=0.3))
    await backend.start()
    try:
        job = await backend.submit(Job(crews=["straggler"], inputs={
            "marker": str(tmp_path / "reported"), "call_seconds": 0.8}))
        await wait_status(backend, job.id, JobStatus.failed)
        await wait_straggler(tmp_path / "reported")
        done = await backend.get(job.id)
        assert done.status is JobStatus.failed and done.error is not None
        assert done.error.type == "timeout"
        assert done.partial == {} and done.progress.completed_tasks == 0
        events = await backend.store.events(job.id)
        assert events[-1].type == "failed", [e.type for e in events]
    finally:
        await backend.stop()


async def test_a_failed_attempts_thread_writes_nothing_into_the_next_attempt(
        tmp_path: Path, plugins: Any) -> None:
    """A transient failure runs the job again (same job, attempt 2) while attempt 1's thread
    still runs: what that thread reports later lands in neither the waiting record nor the
    next attempt's result."""
    backend = InlineBackend(plugins, make_settings(tmp_path, job_max_attempts=2))
    await backend.start()
    try:
        job = await backend.submit(Job(crews=["straggler"], inputs={
            "marker": str(tmp_path / "reported"), "call_seconds": 0.3,
            "fail_first": str(tmp_path / "attempts")}))
        await wait_straggler(tmp_path / "reported")
        done = await wait_status(backend, job.id, JobStatus.succeeded)
        assert done.attempts == 2 and done.partial == {}
        types = [e.type for e in await backend.store.events(job.id)]
        assert "partial" not in types and "llm_call" not in types, types
    finally:
        await backend.stop()


async def test_a_job_that_keeps_taking_its_server_down_fails(
    tmp_path: Path, plugins: Any
) -> None:
    settings = make_settings(tmp_path, job_max_attempts=1)
    store = SQLiteStore(settings.resolved_data_dir / "jobs.sqlite3")
    await store.open()
    poison = slow_job()
    poison.status, poison.attempts = JobStatus.running, 3
    await store.create(poison)
    await store.close()
    backend = InlineBackend(plugins, settings)
    await backend.start()
    try:
        done = await wait_status(backend, poison.id, JobStatus.failed)
        assert done.error is not None and done.error.type == "worker_lost"
        assert poison.id not in testcrews.STARTED
    finally:
        await backend.stop()


async def test_one_inline_server_per_data_dir(tmp_path: Path, plugins: Any) -> None:
    from novelcrew.errors import BackendUnavailable

    settings = make_settings(tmp_path)
    first, second = InlineBackend(plugins, settings), InlineBackend(plugins, settings)
    await first.start()
    try:
        with pytest.raises(BackendUnavailable, match="another novelcrew server"):
            await second.start()
    finally:
        await first.stop()
    await second.start()  # free again once the first has stopped
    await second.stop()


def test_a_backend_restarts_in_a_new_event_loop(tmp_path: Path, plugins: Any) -> None:
    """Test clients run each app lifespan in its own loop; the backend must follow."""
    backend = InlineBackend(plugins, make_settings(tmp_path))

    async def one_job() -> JobStatus:
        await backend.start()
        try:
            job = await backend.submit(slow_job(steps=1))
            return (await wait_status(backend, job.id, JobStatus.succeeded)).status
        finally:
            await backend.stop()

    assert asyncio.run(one_job()) is JobStatus.succeeded
    assert asyncio.run(one_job()) is JobStatus.succeeded


async def test_stop_ends_work_left_in_threads_but_keeps_the_job_running(
    tmp_path: Path, plugins: Any
) -> None:
    """A crewAI kickoff runs in a thread; stop() must not leave it running (the process could
    not exit), nor mark its job cancelled (the next start re-runs it)."""
    settings = make_settings(tmp_path)
    backend = InlineBackend(plugins, settings)
    await backend.start()
    job = await backend.submit(Job(crews=["threaded"], inputs={
        "story_text": "x", "steps": 600, "step_seconds": 0.05}))
    while testcrews.THREADS.get(job.id) != "started":
        await asyncio.sleep(0.02)
    await backend.stop()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while testcrews.THREADS[job.id] == "started":
        assert loop.time() < deadline, "the worker thread kept running after stop()"
        await asyncio.sleep(0.02)
    assert testcrews.THREADS[job.id] == "cancelled"
    store = SQLiteStore(settings.resolved_data_dir / "jobs.sqlite3")
    await store.open()
    try:
        stored = await store.get(job.id)
        assert stored is not None and stored.status is JobStatus.running
    finally:
        await store.close()


WARMUP_SCRIPT = r'''
import asyncio, sys, threading
sys.path.insert(0, sys.argv[2])
importing = []

class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "crewai":
            importing.append(threading.current_thread().name)
        return None

sys.meta_path.insert(0, Spy())
import testcrews
from novelcrew.backends.inline import InlineBackend
from novelcrew.jobs import Job
from novelcrew.settings import Settings

async def main():
    backend = InlineBackend(testcrews.plugins(),
                            Settings(_env_file=None, data_dir=sys.argv[1]))
    await backend.start()
    async def run(crew):
        job = await backend.submit(Job(crews=[crew], inputs={"story_text": "a b", "steps": 1}))
        while not (await backend.get(job.id)).status.terminal:
            await asyncio.sleep(0.05)
        return (await backend.get(job.id)).status.value
    plain = await run("slow")
    after_plain = "crewai" in sys.modules
    agentic = await run("agentic")
    await backend.stop()
    print(plain, after_plain, agentic, importing)

asyncio.run(main())
'''


def test_crewai_is_imported_in_a_thread_before_the_first_crew_with_agents(
    tmp_path: Path,
) -> None:
    """Importing crewAI takes seconds: on the event loop it would stall the whole server."""
    import ast

    from nc_subprocess import run_script  # testcrews imports the shared helpers

    proc = run_script(WARMUP_SCRIPT, str(tmp_path / "data"), str(Path(__file__).parent),
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]  # (unconfigured structlog prints too)
    plain, after_plain, agentic, importing = last.split(" ", 3)
    assert (plain, after_plain, agentic) == ("succeeded", "False", "succeeded")
    threads = ast.literal_eval(importing)
    assert threads, "crewAI was not imported before the crew with agents ran"
    assert "MainThread" not in threads, threads


async def test_a_drain_names_the_jobs_it_hands_back(tmp_path: Path, plugins: Any) -> None:
    """The operator's one line about a SIGTERM that cut jobs short says which ones, so they
    can be followed after the restart (it gave only their count)."""
    import structlog

    backend = InlineBackend(plugins, make_settings(tmp_path))
    await backend.start()
    jobs = [await backend.submit(slow_job(steps=600, step_seconds=0.05)) for _ in range(2)]
    for job in jobs:
        await wait_status(backend, job.id, JobStatus.running)
    with structlog.testing.capture_logs() as logs:
        await backend.drain(grace=0.1)
    await backend.stop()
    [line] = [line for line in logs if line["event"] == "inline_jobs_handed_back"]
    assert line["log_level"] == "warning" and line["jobs"] == 2
    assert line["job_ids"] == sorted(job.id for job in jobs)
