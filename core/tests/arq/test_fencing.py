"""Writes are fenced by the lease: a worker frozen past its lease (SIGSTOP) that wakes up
(SIGCONT) after another worker took its job over writes nothing more for that job, so no
job's record or event log is written by two workers."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from nc_arq_helpers import StartWorker, holder, new_job, until, until_event, until_terminal
from prometheus_client import REGISTRY

from novelcrew import metrics
from novelcrew.backends.arq import ArqBackend
from novelcrew.jobs import JobStatus


async def test_a_stalled_workers_late_writes_are_refused(
    backend: ArqBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    procs = {p.pid: p for p in (start_worker(), start_worker())}
    ledger = tmp_path / "ledger.txt"
    job = await backend.submit(new_job(["sleepy"], steps=80, step_seconds=0.05,
                                       ledger=str(ledger)))
    await until_event(backend, job.id, "task_finished", timeout=60)
    stalled = await until(lambda: holder(backend, job.id))
    procs[stalled].send_signal(signal.SIGSTOP)
    try:
        takeover = await until_event(backend, job.id, "started", attempt=2, timeout=30)
    finally:
        procs[stalled].send_signal(signal.SIGCONT)
    await asyncio.sleep(1.0)  # the woken worker's held writes and next steps come now
    done = await until_terminal(backend, job.id, timeout=60)
    assert done.status is JobStatus.succeeded and done.attempts == 2
    events = await backend.store.events(job.id, limit=10_000)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    late = [e for e in events if e.seq > takeover.seq and e.data.get("pid") == stalled]
    assert late == [], f"the stalled worker wrote {len(late)} events after the takeover"
    taker = {e.data["pid"] for e in events if e.seq > takeover.seq and "pid" in e.data}
    assert taker and stalled not in taker
    assert ledger.read_text().splitlines() == [f"{job.id} sleepy"]
    assert [e.type for e in events].count("succeeded") == 1
    assert all(p.poll() is None for p in procs.values())
    worker = next(w for w in await backend.workers() if w["pid"] == stalled)
    assert worker["jobs_lost"] == 1
    # what /metrics exports from the same stats /stats shows
    metrics.set_backend_gauges(await backend.stats())
    assert REGISTRY.get_sample_value(
        "novelcrew_worker_jobs", {"worker": worker["id"], "outcome": "lost"}) == 1
