"""SIGTERM drains the inline server: while it still answers, new jobs get 503 and /health
503; running jobs finish within the grace period or are handed back (queued, not failed);
event streams end with a ``server_stopping`` event; queued jobs wait for the next start. After
a restart every job has run to its end exactly once."""

from __future__ import annotations

import json
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from hardening_helpers import start_server, statuses, submit, wait_for

GRACE = 4.0


def follow(url: str, job_id: str, into: list[dict[str, Any]]) -> threading.Thread:
    """Collect a job's SSE events (type and data) in a thread until the stream ends."""

    def read() -> None:
        kind = ""
        with httpx.stream("GET", f"{url}/jobs/{job_id}/events", timeout=60) as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line.partition(":")[2].strip()
                elif line.startswith("data:"):
                    into.append({"event": kind, **json.loads(line.partition(":")[2])})

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_sigterm_drains_and_no_job_runs_twice(tmp_path: Path) -> None:
    data, gate = tmp_path / "data", tmp_path / "gate"
    marker, log = tmp_path / "finished.txt", tmp_path / "server.log"
    env = {"NOVELCREW_CONCURRENCY": "4", "NOVELCREW_WORKER_GRACE_SECONDS": str(GRACE)}
    proc, url = start_server(data, log, **env)
    quick = {"story_text": "three small words", "steps": 10, "step_seconds": 0.15,
             "marker": str(marker)}
    # two that cannot finish within the grace period (their gate opens after the restart)
    held = [submit(url, {**quick, "gate": str(gate)}) for _ in range(2)]
    rest = [submit(url, quick) for _ in range(8)]
    submitted = held + rest
    wait_for(lambda: Counter(statuses(url).values())["running"] == 4, 30, "four running")
    stream: list[dict[str, Any]] = []
    reader = follow(url, held[0], stream)
    wait_for(lambda: stream, 10, "the stream to start")

    proc.send_signal(signal.SIGTERM)
    health = wait_for(lambda: (r := httpx.get(f"{url}/health", timeout=10)).status_code == 503
                      and r, 5, "/health to say the server is going down")
    assert "shutting down" in health.json()["dependencies"]["backend"]["detail"]
    refused = httpx.post(f"{url}/jobs", timeout=10, json={
        "crews": ["gated"], "project_id": "late", "inputs": {"story_text": "late"}})
    assert refused.status_code == 503, refused.text
    assert "shutting down" in refused.json()["error"]["message"]
    proc.wait(GRACE + 30)
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]
    reader.join(10)
    assert not reader.is_alive(), "the event stream was not ended"
    assert stream[-1]["event"] == "server_stopping", stream[-3:]
    assert stream[-1]["seq"] == stream[-2]["seq"]  # resuming after it misses nothing

    finished_first = Counter(marker.read_text().split())
    assert set(finished_first) == set(rest[:2]), "the running jobs did not finish in grace"

    gate.touch()
    proc, url = start_server(data, log, **env)
    try:
        final = wait_for(lambda: set((s := statuses(url)).values()) == {"succeeded"} and s,
                         90, "every job to succeed after the restart")
        assert sorted(final) == sorted(submitted)
        for job_id in held:
            events = httpx.get(f"{url}/jobs/{job_id}/events", timeout=30).text
            assert '"handed_back":true' in events
            assert "event: failed" not in events
        late = httpx.get(f"{url}/jobs", params={"project_id": "late"}).json()
        assert late["count"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    runs = Counter(marker.read_text().split())
    assert runs == Counter(submitted), runs  # each job's crew ran to its end exactly once
