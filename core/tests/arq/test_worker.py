"""Jobs through the arq backend and real ``novelcrew worker`` processes on a real Redis."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest
from nc_arq_helpers import (
    NOVELCREW,
    StartWorker,
    new_job,
    until,
    until_event,
    until_terminal,
    worker_env,
)
from prometheus_client import REGISTRY

from novelcrew import metrics
from novelcrew.backends.arq import ArqBackend
from novelcrew.errors import Conflict
from novelcrew.jobs import JobStatus


async def test_a_worker_runs_jobs_and_every_api_instance_answers_for_them(
    backend: ArqBackend, other_backend: ArqBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    start_worker("--concurrency", "2")
    ledger = tmp_path / "ledger.txt"
    jobs = [await backend.submit(new_job(["sleepy"], steps=2, ledger=str(ledger)))
            for _ in range(3)]
    assert all(j.status is JobStatus.queued for j in jobs)
    for job in jobs:
        done = await until_terminal(other_backend, job.id)
        assert done.status is JobStatus.succeeded
        assert done.result == {"sleepy": {"crew": "sleepy", "steps": 2}}
        assert done.attempts == 1
        assert done.progress.completed_tasks == 2 == done.progress.total_tasks
    events = await other_backend.store.events(jobs[0].id)
    assert [e.type for e in events][:3] == ["queued", "started", "crew_started"]
    assert events[-1].type == "succeeded"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    page, total = await other_backend.list(project_id="proj", status=JobStatus.succeeded)
    assert total == 3 and {j.id for j in page} == {j.id for j in jobs}
    assert sorted(ledger.read_text().split("\n")[:-1]) == sorted(f"{j.id} sleepy" for j in jobs)
    # arq ran each job as its own: enqueued under the job id, finished and recorded by arq
    # (nothing deletes arq's keys behind its back)
    from arq.jobs import Job as ArqJob

    for job in jobs:
        arq_job = ArqJob(job.id, backend.pool, _queue_name=backend.settings.queue_name)
        result = await until(arq_job.result_info)
        assert (result.function, result.args, result.success) == ("run_job", (job.id,), True)


async def test_submitting_the_same_job_id_twice_enqueues_it_once(
    backend: ArqBackend,
) -> None:
    from novelcrew.backends.arq import enqueue

    job = await backend.submit(new_job(["noop"]))
    assert await enqueue(backend.pool, backend.settings.queue_name, job.id) is False
    assert await backend.pool.zcard(backend.settings.queue_name) == 1


async def test_a_transient_failure_is_retried_and_attempts_are_recorded(
    backend: ArqBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    start_worker()
    job = await backend.submit(new_job(["flaky"], counter=str(tmp_path / "count"), failures=1))
    done = await until_terminal(backend, job.id)
    assert done.status is JobStatus.succeeded
    assert done.attempts == 2
    types = [e.type for e in await backend.store.events(job.id)]
    assert types.count("started") == 2 and "retrying" in types


async def test_permanent_failures_fail_at_once(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    start_worker(plugin_modules="nc_arq_crews,nc_arq_needs_tool")
    missing = await backend.submit(new_job(["needs-tool"]))
    invalid = await backend.submit(new_job(["sleepy"], steps="many"))
    for job_id, error_type in ((missing.id, "tool_missing"), (invalid.id, "invalid_input")):
        done = await until_terminal(backend, job_id)
        assert done.status is JobStatus.failed
        assert done.error is not None and done.error.type == error_type
        assert done.attempts == 1


async def test_a_running_job_cancelled_from_another_instance_stops(
    backend: ArqBackend, other_backend: ArqBackend, start_worker: StartWorker
) -> None:
    start_worker()
    job = await backend.submit(new_job(["sleepy"], steps=200, step_seconds=0.05))
    await until_event(backend, job.id, "task_started")
    started = time.monotonic()
    await other_backend.cancel(job.id)
    done = await until_terminal(backend, job.id, timeout=10)
    assert done.status is JobStatus.cancelled
    assert time.monotonic() - started < 3
    assert done.progress.completed_tasks < 200
    assert [e.type for e in await backend.store.events(job.id)].count("cancelled") == 1


async def test_a_queued_job_is_cancelled_at_once_and_never_starts(
    backend: ArqBackend, other_backend: ArqBackend, start_worker: StartWorker
) -> None:
    job = await backend.submit(new_job(["sleepy"], steps=1))
    cancelled = await other_backend.cancel(job.id)
    assert cancelled.status is JobStatus.cancelled
    with pytest.raises(Conflict):
        await backend.cancel(job.id)
    start_worker()
    later = await backend.submit(new_job(["noop"]))
    assert (await until_terminal(backend, later.id)).status is JobStatus.succeeded
    types = [e.type for e in await backend.store.events(job.id)]
    assert types == ["queued", "cancelled"]


async def test_health_and_stats_show_live_workers_from_their_heartbeats(
    backend: ArqBackend, start_worker: StartWorker, root: str, tmp_path: Path
) -> None:
    """... and ``novelcrew worker --check`` (a container health check) agrees."""
    health = await backend.health()
    assert health.status == "degraded" and health.data["workers"] == []
    assert health.data["persistence"].startswith("off")  # the test Redis runs without AOF
    proc = start_worker("--concurrency", "3")
    health = await until(lambda: _live(backend))
    (worker,) = health.data["workers"]
    assert worker["pid"] == proc.pid and worker["concurrency"] == 3 and worker["host"]
    job = await backend.submit(new_job(["sleepy"], steps=1))
    await until_terminal(backend, job.id)
    stats = await until(lambda: _counted(backend))
    assert stats["counts"]["succeeded"] == 1 and stats["live_workers"] == 1
    assert {k: v for k, v in stats["workers"][0].items() if k.startswith("jobs_")} == {
        "jobs_done": 1, "jobs_failed": 0, "jobs_retried": 0, "jobs_handed_back": 0,
        "jobs_recovered": 0, "jobs_lost": 0}
    # /metrics carries every counter /stats shows, under its outcome
    metrics.set_backend_gauges(stats)
    for name, count in stats["workers"][0].items():
        if name.startswith("jobs_"):
            assert REGISTRY.get_sample_value("novelcrew_worker_jobs", {
                "worker": worker["id"], "outcome": name.removeprefix("jobs_")}) == count, name
    env = worker_env(backend.settings.redis_url, root, tmp_path)
    check = [NOVELCREW, "worker", "--check"]
    assert subprocess.run(check, env=env, cwd=tmp_path, timeout=60).returncode == 0
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    health = await backend.health()
    assert health.status == "degraded" and health.data["live_workers"] == 0
    assert subprocess.run(check, env=env, cwd=tmp_path, timeout=60).returncode == 1


async def _live(backend: ArqBackend):  # type: ignore[no-untyped-def]
    health = await backend.health()
    return health if health.status == "ok" else None


async def _counted(backend: ArqBackend):  # type: ignore[no-untyped-def]
    stats = await backend.stats()
    return stats if stats["workers"] and stats["workers"][0]["jobs_done"] == 1 else None


async def test_a_job_past_its_timeout_fails_as_data(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    """... naming the crew it was in, in the record and its ``failed`` event, as the inline
    backend does (``GET /jobs/{id}`` reads the same error on both); the crew it finished keeps
    its result."""
    start_worker(job_timeout_seconds=1)
    job = await backend.submit(new_job(["noop", "sleepy"], steps=100, step_seconds=0.05))
    done = await until_terminal(backend, job.id, timeout=60)
    assert done.status is JobStatus.failed
    assert done.error is not None and done.error.type == "timeout"
    assert done.error.crew == "sleepy"
    assert done.error.message == "the job ran longer than 1s"
    assert list(done.result) == ["noop"]
    assert done.attempts == 1
    failed = [e for e in await backend.store.events(job.id) if e.type == "failed"]
    assert len(failed) == 1 and failed[0].crew == "sleepy"
    assert failed[0].data["error"]["crew"] == "sleepy"


async def test_a_runs_late_reports_land_in_no_record(
    backend: ArqBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    """A crewAI thread outlives its run (a timeout, or a transient failure that runs the job
    again) and reports its last model call when the answer comes: that lands neither after
    the timed-out job's ending nor in the next attempt of the retried one."""
    start_worker("--concurrency", "2", job_timeout_seconds=1)
    timed_out = await backend.submit(new_job(["straggler"], marker=str(tmp_path / "a"),
                                             call_seconds=2.0))
    retried = await backend.submit(new_job(["straggler"], marker=str(tmp_path / "b"),
                                           call_seconds=0.5,
                                           fail_first=str(tmp_path / "count")))
    for job_id, marker in ((timed_out.id, tmp_path / "a"), (retried.id, tmp_path / "b")):
        await until_terminal(backend, job_id, timeout=60)

        async def reported(marker: Path = marker) -> bool:
            return marker.exists()

        await until(reported, timeout=30)
    await asyncio.sleep(0.5)  # what the threads sent their worker's loop has been handled
    done = await backend.get(timed_out.id)
    assert done.status is JobStatus.failed and done.error is not None
    assert done.error.type == "timeout" and done.partial == {}
    assert (await backend.store.events(timed_out.id))[-1].type == "failed"
    done = await backend.get(retried.id)
    assert done.status is JobStatus.succeeded and done.attempts == 2
    assert done.partial == {}
    types = [e.type for e in await backend.store.events(retried.id)]
    assert "partial" not in types and "llm_call" not in types, types


async def test_a_burst_worker_drains_the_queue_and_exits(
    backend: ArqBackend, root: str, tmp_path: Path
) -> None:
    jobs = [await backend.submit(new_job(["noop"])) for _ in range(3)]
    env = worker_env(backend.settings.redis_url, root, tmp_path)
    done = await asyncio.to_thread(subprocess.run, [NOVELCREW, "worker", "--burst"], env=env,
                                   cwd=tmp_path, timeout=120)
    assert done.returncode == 0
    for job in jobs:
        assert (await backend.get(job.id)).status is JobStatus.succeeded


async def test_cold_workers_import_crewai_before_their_first_job_and_run_every_job_once(
    backend: ArqBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    """Three workers start cold at once with jobs waiting: each imports crewAI in a thread
    before it takes a job, so no lease lapses while it imports and every job runs once.

    On a loaded machine one worker may finish its import (tens of seconds) and run every job
    before the others finish theirs, so each worker's log is read once that worker has
    started, not when the jobs are done."""
    jobs = [await backend.submit(new_job(["sleepy"], steps=3, step_seconds=0.05))
            for _ in range(9)]
    for _ in range(3):
        start_worker(plugin_modules="nc_arq_crews,nc_arq_agentic")
    for job in jobs:  # the first waits out a cold import
        done = await until_terminal(backend, job.id, timeout=300)
        assert done.status is JobStatus.succeeded and done.attempts == 1
        events = await backend.store.events(job.id)
        assert not [e for e in events if e.data.get("recovered")]
    ran = 0
    for i in range(3):
        path = tmp_path / f"worker{i}.log"

        async def started(path: Path = path) -> bool:
            return "worker_started" in path.read_text()

        await until(started, timeout=300, interval=0.5)
        log = path.read_text()
        assert "crewai_imported" in log
        imported = log.index("crewai_imported")
        assert imported < log.index("worker_started")
        if "job_started" in log:  # no job before the import ended
            assert imported < log.index("job_started")
        ran += log.count("job_started")
    assert ran == len(jobs)  # each job started once, on whichever worker


async def _one_burst(backend: ArqBackend) -> None:
    """A real arq worker in this process (so a test can fault its Redis calls) until the
    queue is empty."""
    from nc_arq_helpers import CREWS

    from novelcrew.backends.arq.worker import serve
    from novelcrew.plugins import load

    plugins = load(allow=[], include_entry_points=False, modules=[CREWS])
    await asyncio.wait_for(serve(backend.settings, plugins, burst=True), 60)


async def test_a_redis_timeout_as_a_worker_reads_a_new_job_defers_the_job(
    backend: ArqBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four workers importing crewAI at once on two cores starved one's event loop past its
    Redis connect timeout as it read a job's record: arq ended its run and the job stayed
    queued for ever. Here the worker's first read of a record times out the same way."""
    import redis.exceptions

    from novelcrew.backends.arq.store import RedisStore

    job = await backend.submit(new_job(["noop"]))
    read = RedisStore.get
    faults: list[str] = []

    async def get(store: RedisStore, job_id: str) -> object:
        if not faults:
            faults.append(job_id)
            raise redis.exceptions.TimeoutError("Timeout connecting to server")
        return await read(store, job_id)

    monkeypatch.setattr(RedisStore, "get", get)
    await _one_burst(backend)
    monkeypatch.undo()
    assert faults == [job.id]
    done = await backend.get(job.id)
    assert done.status is JobStatus.succeeded, done.status
    assert done.attempts == 1


async def test_a_redis_timeout_while_a_job_runs_hands_the_job_back_rather_than_failing_it(
    backend: ArqBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that times out once (Redis answers again at the next) is no fault of the
    job's: the runner used to fail the job for it, since the failure's own write went
    through. Now the worker hands it back and runs it again."""
    import redis.exceptions

    from novelcrew.backends.arq.store import RedisStore

    job = await backend.submit(new_job(["noop"]))
    write = RedisStore.save_with_event
    faults: list[str] = []

    async def save_with_event(store: RedisStore, job: object, type: str,
                              **kwargs: object) -> object:
        if type == "crew_started" and not faults:
            faults.append(type)
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        return await write(store, job, type, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RedisStore, "save_with_event", save_with_event)
    await _one_burst(backend)
    monkeypatch.undo()
    assert faults == ["crew_started"]
    done = await backend.get(job.id)
    assert done.status is JobStatus.succeeded, (done.status, done.error)
    events = await backend.store.events(job.id)
    assert any(e.data.get("handed_back") for e in events)
    assert [e.type for e in events].count("started") == 2
