"""Two API instances and two workers on one Redis: 50 jobs submitted through both instances,
one worker SIGKILLed mid-job, one job cancelled through the other instance. Every job ends
``succeeded`` with each crew's result produced exactly once, and the cancelled one ``cancelled``.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from nc_cluster import Cluster

JOBS = 50
CHAIN = ["sleepy", "sleepy2"]


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not within {timeout}s")


def sse_events(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    """Read a job's whole event stream (it closes after the terminal event)."""
    events = []
    with client.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    return events


def test_fifty_jobs_survive_a_killed_worker_and_a_cancel_from_the_other_instance(
    cluster: Cluster, tmp_path: Path
) -> None:
    a, b = cluster.api(), cluster.api()
    workers = {p.pid: p for p in (cluster.worker(4), cluster.worker(4))}
    cluster.wait_ready([a, b])
    client = httpx.Client(timeout=10)

    def live_workers() -> list[dict[str, Any]]:
        body = client.get(f"{b}/health").json()
        return [w for w in body["dependencies"]["backend"]["data"]["workers"] if w["alive"]]

    until(lambda: len(live_workers()) == 2, 60, "two live workers in /health")

    ledger = tmp_path / "ledger.txt"
    ids = []
    for i in range(JOBS):
        response = client.post(f"{(a, b)[i % 2]}/jobs", json={
            "crews": CHAIN, "project_id": "cluster",
            "inputs": {"steps": 5, "step_seconds": 0.1, "ledger": str(ledger)},
        })
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    long = client.post(f"{a}/jobs", json={
        "crews": ["sleepy"], "project_id": "cancel", "inputs": {"steps": 2000,
                                                                "step_seconds": 0.05}},
    ).json()["id"]

    # some jobs finish first
    until(lambda: client.get(f"{a}/jobs", params={"project_id": "cluster",
                                                   "status": "succeeded"}).json()["count"] >= 8,
          60, "8 jobs succeeded")
    # kill a worker in the middle of jobs of the fifty whose records say they run. Frozen
    # first (SIGSTOP), so none of its jobs can end between the look and the kill. Not any busy
    # worker: one that took a job a moment ago may not have written ``running`` yet (a worker
    # holds a job's first write for a few ms), and its kill re-runs that job as attempt 1,
    # proving nothing; nor may it be between jobs, or hold only the long one
    def frozen_midway() -> tuple[Any, list[str]] | None:
        for worker in live_workers():
            if worker["pid"] not in workers or not set(worker["running"]) & set(ids):
                continue
            proc = workers[worker["pid"]]
            proc.send_signal(signal.SIGSTOP)
            held = next((w["running"] for w in live_workers() if w["id"] == worker["id"]), [])
            midway = [j for j in held if j in ids
                      and client.get(f"{a}/jobs/{j}").json()["status"] == "running"]
            if midway:
                return proc, midway
            proc.send_signal(signal.SIGCONT)
        return None

    victim, killed = until(frozen_midway, 30, "a worker midway through jobs of the fifty")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)

    # cancel the long job through the instance it was not submitted to
    until(lambda: client.get(f"{b}/jobs/{long}").json()["status"] == "running", 60,
          "the long job running")
    assert client.post(f"{b}/jobs/{long}/cancel").status_code == 202
    until(lambda: client.get(f"{a}/jobs/{long}").json()["status"] == "cancelled", 30,
          "the long job cancelled")

    until(lambda: client.get(f"{b}/jobs", params={"project_id": "cluster",
                                                   "status": "succeeded"}).json()["count"] == JOBS,
          90, f"all {JOBS} jobs succeeded")

    attempts = {}
    for i, job_id in enumerate(ids):
        job = client.get(f"{(b, a)[i % 2]}/jobs/{job_id}").json()
        assert job["status"] == "succeeded"
        assert set(job["result"]) == set(CHAIN)
        assert job["error"] is None
        attempts[job_id] = job["attempts"]
    # the killed worker's jobs were recovered (a second attempt, a recovery warning)
    recovered = [j for j, n in attempts.items() if n == 2]
    assert set(killed) <= set(recovered), attempts
    assert set(attempts.values()) <= {1, 2}, attempts
    # nothing lost, nothing run twice: each crew of each job finished once; a crew finished
    # by the killed worker was not run again. (A kill in the instant between a crew's end and
    # its result reaching Redis would re-run that one crew: at most one extra line, for a
    # recovered job.)
    lines = ledger.read_text().splitlines()
    assert set(lines) == {f"{j} {c}" for j in ids for c in CHAIN}
    extra = [line for line in set(lines) if lines.count(line) > 1]
    assert len(lines) - len(set(lines)) <= 1 and all(e.split()[0] in recovered for e in extra)
    events = sse_events(client, f"{b}/jobs/{killed[0]}/events")
    types = [e["type"] for e in events]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert types.count("succeeded") == 1 and types[-1] == "succeeded"
    assert any(e["type"] == "warning" and e["data"].get("recovered") for e in events)

    stats = client.get(f"{a}/stats").json()
    assert stats["counts"]["succeeded"] == JOBS and stats["counts"]["cancelled"] == 1
    (survivor,) = [w for w in stats["backend_stats"]["workers"] if w["alive"]]
    assert survivor["jobs_done"] >= 1 and survivor["jobs_recovered"] >= 1
    metrics = client.get(f"{b}/metrics").text
    assert re.search(r"^novelcrew_live_workers 1\.0$", metrics, re.M)
    assert re.search(r'^novelcrew_worker_jobs\{[^}]*outcome="done"[^}]*\} [1-9]', metrics, re.M)
