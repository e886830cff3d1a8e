"""Fixtures of the arq backend tests: a real redis-server per session, a key root per test."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "backends"))  # the shared store contract tests

from nc_arq_helpers import CREWS, NOVELCREW, StartWorker, worker_env  # noqa: E402
from nc_redis_server import redis_server  # noqa: E402

from novelcrew.backends.arq import ArqBackend  # noqa: E402
from novelcrew.plugins import load  # noqa: E402
from novelcrew.settings import Settings  # noqa: E402


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def root() -> str:
    """A key root (and queue name) of its own for each test."""
    return f"t{uuid.uuid4().hex[:10]}"


def cluster_settings(redis_url: str, root: str, data_dir: Path) -> Settings:
    env = worker_env(redis_url, root, data_dir)
    return Settings(_env_file=None, **{  # what the worker processes read from their env
        "job_backend": "arq", "redis_url": redis_url, "queue_name": f"{root}:queue",
        "data_dir": data_dir, "worker_heartbeat_seconds": 0.25, "worker_lease_seconds": 1.5,
        "worker_poll_delay_seconds": float(env["NOVELCREW_WORKER_POLL_DELAY_SECONDS"]),
        "plugins": [],
    })


@pytest.fixture
def start_worker(redis_url: str, root: str, tmp_path: Path) -> Iterator[StartWorker]:
    """Start ``novelcrew worker`` processes (the console script); all are stopped at the end."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str, **extra: object) -> subprocess.Popen[bytes]:
        n = len(procs)
        log = (tmp_path / f"worker{n}.log").open("wb")
        proc = subprocess.Popen(
            [NOVELCREW, "worker", *args], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
            env=worker_env(redis_url, root, tmp_path / "data", **extra),
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
async def backend(redis_url: str, root: str, tmp_path: Path) -> AsyncIterator[ArqBackend]:
    """An API-side backend (what an API instance holds)."""
    b = make_backend(redis_url, root, tmp_path)
    await b.start()
    yield b
    await b.stop()


@pytest.fixture
async def other_backend(redis_url: str, root: str, tmp_path: Path) -> AsyncIterator[ArqBackend]:
    """A second API-side backend on the same Redis: another API instance."""
    b = make_backend(redis_url, root, tmp_path)
    await b.start()
    yield b
    await b.stop()


def make_backend(redis_url: str, root: str, tmp_path: Path) -> ArqBackend:
    settings = cluster_settings(redis_url, root, tmp_path / "data")
    return ArqBackend(load(allow=[], include_entry_points=False, modules=[CREWS]), settings)
