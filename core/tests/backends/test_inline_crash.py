"""Nothing submitted is lost: SIGKILL a real server (uvicorn on ``create_app``) while jobs are
queued and running, start it again on the same data dir, and every job finishes
``succeeded`` once, and no crew whose result was on disk at the kill runs again (a chain killed
in its second crew resumes there)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from nc_plugin_dists import dist_info
from nc_subprocess import HELPERS

from novelcrew.backends.inline.store import SQLiteStore
from novelcrew.jobs import JobStatus
from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

HERE = Path(__file__).parent


def install_plugin(site: Path) -> Path:
    """Install ``testcrews`` (next to this file) as plugin ``slowcrews`` via an entry point."""
    dist_info(site, "nc-slowcrews", "testcrews", entry_name="slowcrews")
    return site


def start_server(data_dir: Path, site: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # testcrews, and the shared helper it imports
    path = os.pathsep.join([str(site), str(HERE), HELPERS])
    env = {**os.environ, "PYTHONPATH": path,
           "NOVELCREW_PLUGINS": "slowcrews", "NOVELCREW_DATA_DIR": str(data_dir),
           "NOVELCREW_CONCURRENCY": "2", "NOVELCREW_LOG_LEVEL": "WARNING"}
    env.pop("NOVELCREW_API_KEYS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "novelcrew.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=data_dir.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", proc)
    except TimeoutError:
        stop_process(proc)
        raise
    return proc, url


def statuses(url: str) -> dict[str, str]:
    page = httpx.get(f"{url}/jobs", params={"project_id": "crash", "limit": 100}).json()
    return {job["id"]: job["status"] for job in page["data"]}


async def test_sigkill_while_jobs_are_queued_and_running_loses_nothing(tmp_path: Path) -> None:
    data_dir, marker = tmp_path / "data", tmp_path / "finished.txt"
    gate = tmp_path / "gate"  # every job but the first holds its slow crew until it exists
    data_dir.mkdir()
    site = install_plugin(tmp_path / "site")
    first, url = start_server(data_dir, site)
    try:
        submitted: list[str] = []
        for i in range(6):
            inputs = {"story_text": f"story number {i}", "steps": 20, "step_seconds": 0.05,
                      "marker": str(marker), "gate_file": str(gate) if i else None}
            body: dict[str, Any] = {"crews": ["quick", "slow"], "project_id": "crash",
                                    "inputs": inputs}
            response = httpx.post(f"{url}/jobs", json=body, timeout=30)
            assert response.status_code == 202, response.text
            submitted.append(response.json()["id"])
        deadline = time.monotonic() + 60
        # kill once some run (held at the gate, so still running at the kill), some wait, and
        # the first has finished
        while True:
            seen = Counter(statuses(url).values())
            if seen["running"] >= 1 and seen["queued"] >= 1 and seen["succeeded"] >= 1:
                break
            assert time.monotonic() < deadline, f"never reached a mixed state: {seen}"
            time.sleep(0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        gate.touch()
    assert first.returncode == -signal.SIGKILL
    # what was on disk at the kill: a crew whose result was committed must never run again;
    # one that returned but whose result was not yet committed runs again (at least once)
    committed = await committed_results(data_dir, submitted)

    second, url = start_server(data_dir, site)
    try:
        deadline = time.monotonic() + 120
        while set((final := statuses(url)).values()) != {"succeeded"}:
            assert time.monotonic() < deadline, f"not all jobs finished: {final}"
            time.sleep(0.1)
        assert sorted(final) == sorted(submitted)
        for job_id in submitted:
            job = httpx.get(f"{url}/jobs/{job_id}").json()
            assert list(job["result"]) == ["quick", "slow"]
            assert job["result"]["slow"]["steps"] == 20
    finally:
        stop_process(second, 30)

    store = SQLiteStore(data_dir / "jobs.sqlite3")
    await store.open()
    try:
        recovered = 0
        for job_id in submitted:
            stored = await store.get(job_id)
            assert stored is not None and stored.status is JobStatus.succeeded
            events = await store.events(job_id, limit=10_000)
            types = [e.type for e in events]
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert types.count("succeeded") == 1 and types[-1] == "succeeded"
            assert types.count("queued") == 1
            recovered += any(e.data.get("recovered") for e in events)
        assert recovered >= 1, "no job was running when the server was killed"
    finally:
        await store.close()
    runs = Counter(marker.read_text().split())
    expected = sorted([*submitted, *(f"quick:{job_id}" for job_id in submitted)])
    assert sorted(runs) == expected
    for key, count in runs.items():
        crew, _, job_id = key.rpartition(":")
        if (crew or "slow") in committed[job_id]:
            assert count == 1, f"{key} ran again after its result was committed: {json.dumps(runs)}"
        else:
            assert count <= 2, f"{key} ran {count} times: {json.dumps(runs)}"
    assert any(committed.values()), "no crew result was committed before the kill"


async def committed_results(data_dir: Path, job_ids: list[str]) -> dict[str, set[str]]:
    """Each job's crews whose result is in the store file (read with the server dead)."""
    store = SQLiteStore(data_dir / "jobs.sqlite3")
    await store.open()
    try:
        out: dict[str, set[str]] = {}
        for job_id in job_ids:
            job = await store.get(job_id)
            assert job is not None, f"job {job_id} answered 202 but is not on disk"
            out[job_id] = set(job.result)
        return out
    finally:
        await store.close()
