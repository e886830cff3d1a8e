"""The processes of a test cluster: API instances (uvicorn running ``create_app`` with
``NOVELCREW_JOB_BACKEND=arq``) and ``novelcrew worker`` processes sharing one Redis queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from novelcrew_sdk.testing import free_port

ARQ_TESTS = Path(__file__).resolve().parents[2] / "core" / "tests" / "arq"
BIN = Path(sys.executable).parent


class Cluster:
    """Starts API instances and workers sharing one Redis queue; knows how to stop them."""

    def __init__(self, redis_url: str, workdir: Path) -> None:
        self.workdir = workdir
        self.root = f"c{uuid.uuid4().hex[:8]}"
        self.procs: list[subprocess.Popen[bytes]] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
        env.update({
            "NOVELCREW_JOB_BACKEND": "arq",
            "NOVELCREW_REDIS_URL": redis_url,
            "NOVELCREW_QUEUE_NAME": f"{self.root}:queue",
            "NOVELCREW_PLUGINS": "",
            "NOVELCREW_PLUGIN_MODULES": "nc_arq_crews",
            "NOVELCREW_DATA_DIR": str(workdir / "data"),
            "NOVELCREW_WORKER_HEARTBEAT_SECONDS": "0.25",
            "NOVELCREW_WORKER_LEASE_SECONDS": "1.5",
            "NOVELCREW_WORKER_POLL_DELAY_SECONDS": "0.02",
            "NOVELCREW_WORKER_GRACE_SECONDS": "5",
            "NOVELCREW_RATE_LIMIT_PER_MINUTE": "100000",
            "NOVELCREW_LOG_FORMAT": "console",
            "NOVELCREW_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ARQ_TESTS), str(ARQ_TESTS.parent / "helpers"),
                            os.environ.get("PYTHONPATH", "")) if p
            ),
        })
        self.env = env

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, cwd=self.workdir, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def worker(self, concurrency: int = 4) -> subprocess.Popen[bytes]:
        n = sum(1 for p in self.procs if "worker" in p.args)  # type: ignore[operator]
        return self._spawn(f"worker{n}", [str(BIN / "novelcrew"), "worker",
                                          "--concurrency", str(concurrency)])

    def api(self) -> str:
        port = free_port()
        self._spawn(f"api{port}", [
            sys.executable, "-m", "uvicorn", "--factory", "novelcrew.api.app:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ])
        return f"http://127.0.0.1:{port}"

    def wait_ready(self, urls: list[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                dead = [p.args for p in self.procs if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    logs = {p.name: p.read_text()[-2000:] for p in self.workdir.glob("*.log")}
                    raise RuntimeError(f"cluster did not start (exited: {dead}): {logs}")
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
