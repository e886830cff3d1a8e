"""A full disk degrades and recovers: on a small tmpfs, accepted jobs whose writes fail wait
(neither failed nor lost), ``/health`` says ``degraded`` and new jobs get 503 while the store
cannot write, and once space returns every job finishes on its own."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import httpx
from hardening_helpers import fill, start_server, statuses, stop, submit, wait_for

PAD = 400_000  # characters of result per job: its write needs fresh space in the store


def test_full_disk_degrades_and_accepted_jobs_resume(tmp_path: Path, tmpfs: Path) -> None:
    gate, marker, log = tmp_path / "gate", tmp_path / "finished.txt", tmp_path / "server.log"
    proc, url = start_server(tmpfs / "data", log, NOVELCREW_CONCURRENCY="2")
    try:
        assert httpx.get(f"{url}/health").json()["status"] == "healthy"
        inputs = {"story_text": "a story of five words", "gate": str(gate),
                  "marker": str(marker), "pad": PAD}
        submitted = [submit(url, inputs) for _ in range(4)]
        wait_for(lambda: Counter(statuses(url).values())["running"] == 2, 30, "two running")

        filler = fill(tmpfs)
        gate.touch()  # the crews finish; storing their results needs space there is not
        health = wait_for(lambda: (h := httpx.get(f"{url}/health").json())["status"]
                          == "degraded" and not h["dependencies"]["backend"]["data"]
                          ["writable"] and h, 30, "health to say the store cannot write")
        assert "cannot write" in health["dependencies"]["backend"]["detail"]
        refused = httpx.post(f"{url}/jobs", json={"crews": ["gated"], "project_id": "x",
                                                  "inputs": {"story_text": "late"}})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["type"] == "store_not_writable"
        # nothing failed, nothing finished: the jobs wait as they were last stored
        time.sleep(3)
        assert set(statuses(url).values()) <= {"queued", "running"}
        degraded = httpx.get(f"{url}/health")
        assert degraded.json()["status"] == "degraded"
        assert degraded.status_code == 503  # as the operator guide says: a health check sees it

        filler.unlink()  # space returns: the jobs resume without anyone asking
        final = wait_for(lambda: set((s := statuses(url)).values()) == {"succeeded"} and s,
                         60, "every job to succeed")
        assert sorted(final) == sorted(submitted)
        for job_id in submitted:
            job = httpx.get(f"{url}/jobs/{job_id}").json()
            assert job["result"]["gated"]["words"] == 5
            assert len(job["result"]["gated"]["pad"]) == PAD
        health = httpx.get(f"{url}/health").json()
        assert health["status"] == "healthy", health
        assert health["dependencies"]["backend"]["data"]["writable"] is True
        # a crew whose progress or result could not be stored ran again; none more than twice
        runs = Counter(marker.read_text().split())
        assert set(runs) == set(submitted) and max(runs.values()) <= 2, runs
    finally:
        stop(proc)
    # uvicorn re-raises the SIGTERM it handled, once shut down
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]
