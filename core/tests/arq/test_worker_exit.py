"""How soon a SIGTERMed ``novelcrew worker`` process ends (real redis-server, real worker
processes): an operator's rolling restart waits for it. The bounds are generous (a loaded
2-core machine), they only tell "ends after its grace period" from "ends when a model answers".
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest
from nc_arq_helpers import StartWorker, new_job, until, until_event, until_terminal

from novelcrew.backends.arq import ArqBackend
from novelcrew.jobs import JobStatus
from novelcrew.llm.limit import RedisLimiter
from novelcrew_sdk.openai_server import Fault, OpenAIServer

#: crews whose agents make the worker import crewAI before it takes a job
AGENTIC = "nc_arq_crews,nc_arq_agentic"
STEPS = "nc_arq_crews,nc_arq_steps"


def _log(tmp_path: Path, n: int) -> str:
    return (tmp_path / f"worker{n}.log").read_text()


async def _logged(tmp_path: Path, n: int, line: str) -> None:
    async def seen() -> bool:
        return line in _log(tmp_path, n)

    await until(seen, timeout=120)


async def _stop(proc: subprocess.Popen[bytes]) -> float:
    """SIGTERM, then the seconds until the process ended (it must end within 30 s)."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(proc.wait, 30)
    assert code == 0
    return time.monotonic() - started


@pytest.mark.parametrize("when", ["importing crewAI", "idle"])
async def test_a_stopped_worker_exits_at_once(
    start_worker: StartWorker, tmp_path: Path, when: str
) -> None:
    """Stopped while it still imports crewAI (a restart just after a start), the worker used
    to wait for the import to end (7-18 s here); idle, it ends in well under a second (its
    heap frozen after start-up: 1.2-1.9 s before, tearing down crewAI's modules)."""
    proc = start_worker(plugin_modules=AGENTIC, worker_grace_seconds=1)
    await _logged(tmp_path, 0, "worker_started" if when == "idle" else "Starting worker")
    took = await _stop(proc)
    # the import holds the GIL in long stretches (pydantic building crewAI's models)
    assert took < (3.0 if when == "idle" else 4.5), f"{took:.1f}s"
    if when != "idle":
        assert "worker_started" not in _log(tmp_path, 0)  # it was stopped before taking jobs


async def test_a_worker_stopped_during_a_model_call_exits_after_its_grace_period(
    backend: ArqBackend, start_worker: StartWorker, redis_url: str, root: str
) -> None:
    """The call goes on after the grace period (crewAI's thread waits on the model's answer,
    which Python would join at exit): the worker hands the job back and ends without it, giving
    back the call's model slot; the next worker runs the job to its end."""
    grace = 1
    with OpenAIServer(default="Done.") as model:
        model.queue(Fault.hang(600))  # the first call never answers
        env = dict(plugin_modules=STEPS, model="openai/main", openai_base_url=model.url,
                   openai_api_key="sk-local", model_timeout_seconds=120,
                   worker_grace_seconds=grace)
        proc = start_worker(**env)
        job = await backend.submit(new_job(["steps"], steps=1))
        await until_event(backend, job.id, "task_started", timeout=120)

        async def calling() -> bool:
            return model.in_flight == 1

        await until(calling, timeout=30)
        limiter = RedisLimiter(redis_url, root)
        assert limiter.in_use("openai/main") == 1
        took = await _stop(proc)
        assert took < grace + 3.0, f"{took:.1f}s"
        assert limiter.in_use("openai/main") == 0  # the abandoned call's slot is given back
        limiter.close()
        back = await backend.get(job.id)
        assert back.status is JobStatus.queued
        events = await backend.store.events(job.id)
        assert any(e.type == "warning" and e.data.get("handed_back") for e in events)

        start_worker(**env)
        done = await until_terminal(backend, job.id, timeout=120)
        assert done.status is JobStatus.succeeded, done.error
        assert done.attempts == 2


#: a worker whose every reconnect waits a minute (the longest wait of a real outage is 30 s)
WORKER_AWAY_FROM_REDIS = """
import sys
from novelcrew.backends.arq import worker
from novelcrew.cli import app

worker.RECONNECT_MIN = 60.0
sys.argv = ["novelcrew", "worker", "--redis-url", sys.argv[1]]
app()
"""


def test_a_worker_that_cannot_reach_redis_stops_on_sigterm(tmp_path: Path) -> None:
    """An operator stops a worker during a Redis outage (``systemctl stop``, a rolling
    restart): the SIGTERM that lands while it waits to reconnect was logged ("shutdown on
    SIGTERM") and then ignored, the worker connecting again for ever until the service
    manager killed it."""
    import os
    import socket
    import sys

    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    log = tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER_AWAY_FROM_REDIS, f"redis://127.0.0.1:{port}/0"],
            cwd=tmp_path, env={**env, "NOVELCREW_PLUGINS": ""}, stdout=out,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "worker_redis_lost" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.2)
        assert "worker_redis_lost" in log.read_text()
        time.sleep(0.5)  # into the wait before the next reconnect
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not stop on SIGTERM while Redis was away:\n"
                        + log.read_text()[-1500:])
        assert proc.returncode == 0, log.read_text()[-1500:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
