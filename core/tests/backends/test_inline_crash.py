"""Nothing submitted is lost: SIGKILL a real server process mid-work, start it again, and
every job finishes ``succeeded`` once, with one crew result each."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from novelcrew.backends.sqlite_store import SQLiteStore
from novelcrew.jobs import JobStatus

SCRIPT = Path(__file__).parent / "inline_server.py"


def start(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(data_dir), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NOVELCREW_LOG_LEVEL": "WARNING"},
    )


async def statuses(data_dir: Path) -> Counter[str]:
    store = SQLiteStore(data_dir / "jobs.sqlite3")
    await store.open()
    try:
        jobs, _ = await store.list(limit=1000)
        return Counter(j.status.value for j in jobs)
    finally:
        await store.close()


async def test_sigkill_while_jobs_are_queued_and_running_loses_nothing(tmp_path: Path) -> None:
    data_dir, marker = tmp_path / "data", tmp_path / "finished.txt"
    first = start(data_dir, "--submit", "6", "--marker", str(marker))
    try:
        assert first.stdout is not None
        line = first.stdout.readline()
        assert line, first.stderr.read() if first.stderr else "no output"
        submitted = json.loads(line)["submitted"]
        deadline = time.monotonic() + 30
        while True:  # kill once some run, some wait, and at least one has finished
            seen = await statuses(data_dir)
            if seen["running"] >= 1 and seen["queued"] >= 1 and seen["succeeded"] >= 1:
                break
            assert time.monotonic() < deadline, f"never reached a mixed state: {seen}"
            await asyncio.sleep(0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    before = await statuses(data_dir)
    assert before["running"] >= 1 and before["queued"] >= 1

    second = start(data_dir)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    final = json.loads(out.strip().splitlines()[-1])
    assert sorted(final) == sorted(submitted)
    assert set(final.values()) == {"succeeded"}

    store = SQLiteStore(data_dir / "jobs.sqlite3")
    await store.open()
    try:
        for job_id in submitted:
            job = await store.get(job_id)
            assert job is not None and job.status is JobStatus.succeeded
            assert list(job.result) == ["slow"]
            events = await store.events(job_id, limit=10_000)
            types = [e.type for e in events]
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert types.count("succeeded") == 1 and types[-1] == "succeeded"
            assert types.count("queued") == 1
    finally:
        await store.close()
    runs = Counter(marker.read_text().split())
    assert sorted(runs) == sorted(submitted)
    assert set(runs.values()) == {1}, "a crew result was produced twice"
