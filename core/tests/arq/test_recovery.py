"""Crash recovery and graceful shutdown with real worker processes: a SIGKILLed worker's job
is picked up again within the lease bound and finishes without re-running finished crews; a
SIGTERMed worker finishes what it can within its grace period and hands the rest back."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from nc_arq_helpers import StartWorker, holder, new_job, until, until_event, until_terminal

from novelcrew.backends.arq import ArqBackend, enqueue
from novelcrew.backends.arq.keys import ARQ_IN_PROGRESS
from novelcrew.backends.arq.worker import ARQ_TIMEOUT_SLACK, EXTRA_RECOVERIES
from novelcrew.jobs import JobStatus

#: lease 1.5 s + heartbeat 0.25 s + poll 0.02 s (the test cluster's settings), plus slack for
#: a loaded 2-core machine
RECOVERY_BOUND = 1.5 + 0.25 + 0.02 + 3.0


async def test_a_killed_workers_job_resumes_elsewhere_without_rerunning_finished_crews(
    backend: ArqBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    procs = {p.pid: p for p in (start_worker(), start_worker())}
    ledger = tmp_path / "ledger.txt"
    job = await backend.submit(new_job(["sleepy", "sleepy2"], steps=8, step_seconds=0.1,
                                       ledger=str(ledger)))
    await until_event(backend, job.id, "crew_started", timeout=60)
    await until_event(backend, job.id, "task_started", timeout=30)
    finished_first = await until_event(backend, job.id, "crew_finished", timeout=30)
    assert finished_first.crew == "sleepy"
    pid = await until(lambda: holder(backend, job.id))
    procs[pid].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    restarted = await until_event(backend, job.id, "started", attempt=2, timeout=30)
    assert time.monotonic() - killed_at < RECOVERY_BOUND
    assert restarted.data["attempt"] == 2
    done = await until_terminal(backend, job.id)
    assert done.status is JobStatus.succeeded
    assert done.attempts == 2
    assert set(done.result) == {"sleepy", "sleepy2"}
    # each crew ran to its end exactly once: the re-run skipped the finished first stage
    assert sorted(ledger.read_text().splitlines()) == [f"{job.id} sleepy", f"{job.id} sleepy2"]
    events = await backend.store.events(job.id)
    warnings = [e for e in events if e.type == "warning" and e.data.get("recovered")]
    assert len(warnings) == 1 and str(pid) in warnings[0].message
    assert [e.type for e in events].count("succeeded") == 1
    assert events[-1].type == "succeeded"
    health = await backend.health()
    assert health.data["live_workers"] == 1


async def test_a_job_arq_holds_in_progress_without_a_lease_is_recovered(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    """The worker died between arq starting the job (its in-progress marker lasts the job
    timeout) and taking the job (which cuts the marker to the lease)."""
    job = await backend.submit(new_job(["noop"]))
    full_ms = int((backend.settings.job_timeout_seconds + ARQ_TIMEOUT_SLACK + 10) * 1000)
    await backend.pool.set(ARQ_IN_PROGRESS + job.id, b"1", px=full_ms - 5000)  # 5 s old
    start_worker()
    started = time.monotonic()
    done = await until_terminal(backend, job.id, timeout=60)
    assert done.status is JobStatus.succeeded
    assert time.monotonic() - started < 30


async def test_a_job_whose_record_comes_after_its_enqueue_runs(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    """Submitting enqueues, then stores the record: a worker that gets the job first waits
    for the record; an arq job whose record never comes (its API died in between) is
    dropped, and the worker goes on."""
    start_worker()
    await until(lambda: backend.workers())
    orphan = new_job(["noop"])
    await enqueue(backend.pool, backend.settings.queue_name, orphan.id)
    job = new_job(["noop"])
    await enqueue(backend.pool, backend.settings.queue_name, job.id)
    await asyncio.sleep(0.3)
    await backend.runner.record_queued(job, create=True)
    done = await until_terminal(backend, job.id, timeout=60)
    assert done.status is JobStatus.succeeded and done.attempts == 1
    await until(lambda: _gone(backend, orphan.id))
    assert await backend.store.get(orphan.id) is None


async def _gone(backend: ArqBackend, job_id: str) -> bool:
    return await backend.pool.zscore(backend.settings.queue_name, job_id) is None


async def test_sigterm_lets_a_short_job_finish(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    proc = start_worker(worker_grace_seconds=10)
    job = await backend.submit(new_job(["sleepy"], steps=10, step_seconds=0.1))
    await until_event(backend, job.id, "task_started", timeout=60)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    done = await backend.get(job.id)
    assert done.status is JobStatus.succeeded and done.attempts == 1


async def test_sigterm_hands_a_long_job_back_to_another_worker(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    proc = start_worker(worker_grace_seconds=1)
    job = await backend.submit(new_job(["sleepy"], steps=60, step_seconds=0.1))
    await until_event(backend, job.id, "task_started", timeout=60)
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)
    back = await backend.get(job.id)
    assert back.status is JobStatus.queued
    events = await backend.store.events(job.id)
    assert any(e.type == "warning" and e.data.get("handed_back") for e in events)
    start_worker()
    done = await until_terminal(backend, job.id, timeout=60)
    assert done.status is JobStatus.succeeded and done.attempts == 2


async def test_a_stalled_worker_loses_its_job_and_never_finishes_it_too(
    backend: ArqBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    """A worker frozen past its lease (SIGSTOP: what a blocked event loop looks like from
    outside) loses its job to another worker; once it runs again it stops its copy at its next
    heartbeat, so the job's crew runs to its end once and the job ends once."""
    procs = {p.pid: p for p in (start_worker(), start_worker())}
    ledger = tmp_path / "ledger.txt"
    job = await backend.submit(new_job(["sleepy"], steps=40, step_seconds=0.1,
                                       ledger=str(ledger)))
    await until_event(backend, job.id, "task_started", timeout=60)
    pid = await until(lambda: holder(backend, job.id))
    procs[pid].send_signal(signal.SIGSTOP)
    try:
        await until_event(backend, job.id, "started", attempt=2, timeout=30)
    finally:
        procs[pid].send_signal(signal.SIGCONT)
    done = await until_terminal(backend, job.id, timeout=60)
    assert done.status is JobStatus.succeeded and done.attempts == 2
    assert ledger.read_text().splitlines() == [f"{job.id} sleepy"]
    events = await backend.store.events(job.id)
    assert [e.type for e in events].count("succeeded") == 1
    assert all(p.poll() is None for p in procs.values())
    stalled = next(w for w in await backend.workers() if w["pid"] == pid)
    assert stalled["jobs_lost"] == 1


async def test_a_job_that_lost_its_worker_too_often_fails_naming_its_crew(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    """The takeover past ``job_max_attempts + EXTRA_RECOVERIES`` fails the job as
    ``worker_lost``, naming the crew it was in, as the inline backend does after as many
    restarts; the crew it finished keeps its result."""
    first = start_worker()
    job = await backend.submit(new_job(["noop", "sleepy"], steps=200, step_seconds=0.05))
    await until_event(backend, job.id, "task_started", timeout=60)  # sleepy's first step
    # the takeovers before this one (each a killed worker, as the test above makes one)
    limit = backend.settings.job_max_attempts + EXTRA_RECOVERIES
    await backend.store.redis.hset(backend.keys.job(job.id), "recoveries", limit)
    first.send_signal(signal.SIGKILL)
    start_worker()
    done = await until_terminal(backend, job.id, timeout=60)
    assert done.status is JobStatus.failed
    assert done.error is not None and done.error.type == "worker_lost"
    assert done.error.crew == "sleepy"
    assert list(done.result) == ["noop"]
    failed = [e for e in await backend.store.events(job.id) if e.type == "failed"]
    assert len(failed) == 1 and failed[0].crew == "sleepy"
