"""Starting and stopping a real ``novelcrew serve`` for the hardening tests, and filling a
disk."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

__all__ = ["fill", "free_port", "start_server", "statuses", "stop", "submit", "wait_for"]

HERE = Path(__file__).parent
NOVELCREW = str(Path(sys.executable).parent / "novelcrew")


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
    try:
        wait_for_http(f"{url}/health", proc, log=log)
    except (RuntimeError, TimeoutError):
        stop_process(proc)
        raise
    return proc, url


def stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGTERM, then SIGKILL after ``timeout``: the server drains its jobs first."""
    stop_process(proc, timeout)


def fill(disk: Path) -> Path:
    """Fill ``disk`` up with one file; returns it (unlink it to free the space)."""
    filler = disk / "filler"
    # suppress outermost: closing the file flushes what the last write left buffered, and
    # that flush fails too on a full disk
    with contextlib.suppress(OSError), filler.open("wb") as fh:
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
    with contextlib.suppress(OSError), filler.open("ab") as fh:  # the last few bytes
        while True:
            fh.write(b"\0" * 512)
            fh.flush()
    return filler


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
