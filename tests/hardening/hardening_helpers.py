"""Starting and stopping a real ``novelcrew serve`` for the hardening tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
NOVELCREW = str(Path(sys.executable).parent / "novelcrew")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """``novelcrew serve`` on a free port with the ``hardcrews`` crews; waits for /health."""
    port = free_port()
    environ = {**os.environ, "PYTHONPATH": str(HERE), "NOVELCREW_PLUGINS": "",
               "NOVELCREW_PLUGIN_MODULES": "hardcrews", "NOVELCREW_LOG_LEVEL": "INFO",
               **env}
    environ.pop("NOVELCREW_API_KEYS", None)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [NOVELCREW, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(data_dir), "--backend", "inline"],
            env=environ, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code < 500:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-3000:]}")
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def submit(url: str, inputs: dict[str, Any], project: str = "hardening") -> str:
    body = {"crews": ["gated"], "project_id": project, "inputs": inputs}
    response = httpx.post(f"{url}/jobs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def statuses(url: str, project: str = "hardening") -> dict[str, str]:
    page = httpx.get(f"{url}/jobs", params={"project_id": project, "limit": 200},
                     timeout=30).json()
    return {job["id"]: job["status"] for job in page["data"]}


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
