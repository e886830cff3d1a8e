"""Helpers shared by the API tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import apicrews
import httpx
import uvicorn


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` under a real uvicorn on a thread, on a free loopback port: its URL. At the end
    the test crews' gates open, so that the server's shutdown does not wait on their jobs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        for gate in apicrews.GATES.values():
            gate.set()
        server.should_exit = True
        thread.join(15)
        sock.close()


async def wait_job(client: httpx.AsyncClient, job_id: str, *statuses: str,
                   timeout: float = 10.0) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` until the job reaches one of ``statuses``."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        body = (await client.get(f"/jobs/{job_id}")).json()
        if body["status"] in statuses:
            return body
        if loop.time() > deadline:
            raise AssertionError(f"job {job_id} is {body['status']}, not {statuses}")
        await asyncio.sleep(0.02)


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Events of an SSE body as dicts of their fields; comment lines as ``{"comment": ...}``."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            if current:
                events.append(current)
                current = {}
            continue
        if line.startswith(":"):
            events.append({"comment": line[1:].strip()})
            continue
        name, _, value = line.partition(":")
        current[name] = value[1:] if value.startswith(" ") else value
    if current:
        events.append(current)
    return events
