"""The main job on the distributed backend: an API process and a worker process sharing a real
redis-server, the architect -> director chain on the ``offline`` model, followed over SSE."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from novelcrew_director import ScenePlan
from novelcrew_sdk.testing import free_port, stop_process

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stories"
BIN = Path(sys.executable).parent


def _wait(check: Any, what: str, procs: list[subprocess.Popen[bytes]], workdir: Path,
          timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, httpx.HTTPError):
            pass
        dead = [p.args for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            logs = {p.name: p.read_text()[-1500:] for p in workdir.glob("*.log")}
            raise RuntimeError(f"{what} (exited: {dead}): {logs}")
        time.sleep(0.2)


def _pong(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """redis-server, one API instance and one worker; yields the API's URL."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed (apt-get install -y redis-server)"
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (tmp_path / f"{name}.log").open("wb")
        procs.append(subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log,
                                      stderr=subprocess.STDOUT))

    try:
        redis_port = free_port()
        spawn("redis", [binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--dir",
                        str(tmp_path), "--save", "", "--appendonly", "no"])
        _wait(lambda: _pong(redis_port), "redis-server did not start", procs, tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
        env.update({
            "NOVELCREW_JOB_BACKEND": "arq",
            "NOVELCREW_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "NOVELCREW_QUEUE_NAME": f"p{uuid.uuid4().hex[:8]}:queue",
            "NOVELCREW_PLUGINS": "architect,director,pathrag",
            "NOVELCREW_MODEL": "offline",
            "NOVELCREW_DATA_DIR": str(tmp_path / "data"),
            "NOVELCREW_LOG_FORMAT": "console",
            "NOVELCREW_LOG_LEVEL": "WARNING",
        })
        api_port = free_port()
        spawn("api", [sys.executable, "-m", "uvicorn", "--factory",
                      "novelcrew.api.app:create_app", "--host", "127.0.0.1", "--port",
                      str(api_port), "--log-level", "warning"], env)
        spawn("worker", [str(BIN / "novelcrew"), "worker", "--concurrency", "2"], env)
        url = f"http://127.0.0.1:{api_port}"
        _wait(lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200,
              "the API did not start", procs, tmp_path)
        yield url
    finally:
        for proc in reversed(procs):
            stop_process(proc, 15)


def test_story_pipeline_on_api_and_worker_processes(cluster: str) -> None:
    story = (EXAMPLES / "the-last-shift-at-vell-street.txt").read_text(encoding="utf-8")
    with httpx.Client(base_url=cluster, timeout=30) as client:
        r = client.post("/crews/execute", json={
            "crew_type": "architect,director", "project_id": "nm-arq",
            "input_data": {"story_text": story, "scenes": "1-4",
                           "constraints": {"budget_level": "low", "shooting_days": 2}}})
        assert r.status_code == 200, r.text
        job_id = r.json()["job_id"]
        events: list[dict[str, Any]] = []
        with client.stream("GET", f"/jobs/{job_id}/events", timeout=180) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
        status = client.get(f"/crews/status/{job_id}").json()
    assert events[-1]["type"] == "succeeded", events[-1]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["crew"] for e in events if e["type"] == "crew_started"] == [
        "architect", "director"]
    assert status["status"] == "completed"
    assert set(status["result"]) == {"architect", "director"}
    plan = ScenePlan.model_validate(status["result"]["director"])
    assert [s.number for s in plan.scenes] == [1, 2, 3, 4]
    assert plan.model.offline and plan.totals.shooting_days_available == 2
