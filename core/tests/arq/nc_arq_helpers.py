"""Waiting helpers for the arq tests (bounded: every wait has a deadline)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nc_subprocess import HELPERS

from novelcrew.backends.arq import ArqBackend
from novelcrew.jobs import Job, JobCreate, JobEvent

HERE = Path(__file__).parent
CREWS = "nc_arq_crews"
NOVELCREW = str(Path(sys.executable).parent / "novelcrew")


def worker_env(redis_url: str, root: str, data_dir: Path, **extra: object) -> dict[str, str]:
    """The environment of a worker (or API) process of one test's cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    env.update({
        "NOVELCREW_JOB_BACKEND": "arq",
        "NOVELCREW_REDIS_URL": redis_url,
        "NOVELCREW_QUEUE_NAME": f"{root}:queue",
        "NOVELCREW_PLUGINS": "",
        "NOVELCREW_PLUGIN_MODULES": CREWS,
        "NOVELCREW_DATA_DIR": str(data_dir),
        "NOVELCREW_WORKER_HEARTBEAT_SECONDS": "0.25",
        "NOVELCREW_WORKER_LEASE_SECONDS": "1.5",
        "NOVELCREW_WORKER_POLL_DELAY_SECONDS": "0.02",
        "NOVELCREW_WORKER_GRACE_SECONDS": "5",
        "NOVELCREW_LOG_FORMAT": "console",
        "PYTHONPATH": os.pathsep.join([str(HERE), HELPERS,  # nc_arq_crews imports helpers
                                       env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    env.update({f"NOVELCREW_{k.upper()}": str(v) for k, v in extra.items()})
    return env


#: the ``start_worker`` fixture: ``start(*cli_args, **settings)`` -> the worker process
StartWorker = Callable[..., subprocess.Popen[bytes]]


async def holder(backend: ArqBackend, job_id: str) -> int | None:
    """The pid of the worker that holds the job's lease, if one does."""
    worker = await backend.store.redis.hget(backend.keys.job(job_id), "worker")
    return int(worker.decode().split(":")[1]) if worker else None


def new_job(crews: list[str], **inputs: object) -> Job:
    return Job.from_create(JobCreate(crews=crews, inputs=dict(inputs), project_id="proj"))


async def until_terminal(backend: ArqBackend, job_id: str, timeout: float = 30) -> Job:
    """Follow the job's event stream (as SSE does) to its terminal event; return the record."""
    async def follow() -> None:
        async for event in backend.stream(job_id, poll=1.0):
            if event is not None and event.terminal:
                return

    await asyncio.wait_for(follow(), timeout)
    return await backend.get(job_id)


async def until_event(backend: ArqBackend, job_id: str, type: str, timeout: float = 30,
                      **data: object) -> JobEvent:
    """The first event of ``type`` (whose data includes ``data``)."""
    deadline = time.monotonic() + timeout
    after = 0
    while time.monotonic() < deadline:
        for event in await backend.store.wait_events(job_id, after, timeout=0.5):
            after = event.seq
            if event.type == type and all(event.data.get(k) == v for k, v in data.items()):
                return event
    raise TimeoutError(f"no {type} event for job {job_id} within {timeout}s")


async def until(predicate_coro, timeout: float = 15, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Call ``predicate_coro()`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate_coro()
        if value:
            return value
        await asyncio.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")
