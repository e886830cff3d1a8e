"""Redis restarts strand nothing: with workers left to themselves (no supervisor), a
redis-server with AOF persistence killed mid-run and started again on the same data gets every
job to ``succeeded`` once, and the workers reconnect instead of exiting. Model work is repeated
only for the crews in flight when Redis went away: a crew that finishes while Redis is down
cannot store its result, so it runs again; no job that was still queued runs twice."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from nc_arq_helpers import CREWS, NOVELCREW, new_job, worker_env
from nc_redis_server import redis_server

from novelcrew.backends.arq import ArqBackend
from novelcrew.jobs import JobStatus
from novelcrew.plugins import load
from novelcrew.settings import Settings
from novelcrew_sdk.testing import free_port


async def _statuses(backend: ArqBackend, ids: list[str]) -> dict[str, JobStatus] | None:
    try:
        jobs = await backend.store.get_many(ids)
    except (OSError, ConnectionError, Exception):  # Redis still coming back
        return None
    return {job.id: job.status for job in jobs}


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
async def test_jobs_survive_a_redis_restart_mid_run(tmp_path: Path, stop: signal.Signals,
                                                    ) -> None:
    port = free_port()
    data = tmp_path / "redis"
    root = "restart"
    ledger = tmp_path / "ledger.txt"
    with redis_server(data, port=port, appendonly=True) as url:
        env = worker_env(url, root, tmp_path / "data")
        logs = [(tmp_path / f"worker{i}.log").open("wb") for i in range(2)]
        workers = [subprocess.Popen([NOVELCREW, "worker", "-c", "4"], cwd=tmp_path, env=env,
                                    stdout=log, stderr=subprocess.STDOUT) for log in logs]
        settings = Settings(_env_file=None, job_backend="arq", redis_url=url,
                            queue_name=f"{root}:queue", data_dir=tmp_path / "data",
                            worker_lease_seconds=1.5, plugins=[])
        backend = ArqBackend(load(allow=[], include_entry_points=False, modules=[CREWS]),
                             settings)
        await backend.start()
        assert (await backend.health()).data["persistence"] == "aof"
        try:
            ids = [(await backend.submit(new_job(["sleepy"], steps=10, step_seconds=0.1,
                                                  ledger=str(ledger)))).id for _ in range(16)]
            deadline = time.monotonic() + 60
            while (await backend.store.counts())["running"] == 0:
                assert time.monotonic() < deadline, "no job started"
                await asyncio.sleep(0.05)
            # the server process of this block: stopped, then started again on its AOF
            pid = int(subprocess.check_output(["redis-cli", "-p", str(port), "info",
                                               "server"]).decode().split("process_id:")[1]
                      .split()[0])
            subprocess.run(["kill", f"-{stop.name[3:]}", str(pid)], check=True)
            await asyncio.sleep(2.0)
            with redis_server(data, port=port, appendonly=True):
                deadline = time.monotonic() + 120
                statuses = None
                while time.monotonic() < deadline:
                    statuses = await _statuses(backend, ids)
                    if statuses and len(statuses) == len(ids) and all(
                            s.terminal for s in statuses.values()):
                        break
                    await asyncio.sleep(0.5)
                assert statuses is not None
                assert Counter(statuses.values()) == {JobStatus.succeeded: len(ids)}
                assert all(w.poll() is None for w in workers), "a worker exited"
                # no job ended twice; only a crew in flight at the stop ran again
                for job_id in ids:
                    events = await backend.store.events(job_id)
                    assert [e.type for e in events].count("succeeded") == 1
                runs = Counter(line.split()[0] for line in ledger.read_text().splitlines())
                assert set(runs) == set(ids)
                again = [job_id for job_id, n in runs.items() if n > 1]
                assert len(again) <= 2 * 4, "more jobs ran twice than the workers had in flight"
                assert max(runs.values()) <= 2
                await backend.stop()
        finally:
            for w in workers:
                if w.poll() is None:
                    w.send_signal(signal.SIGKILL)
                    w.wait(10)
