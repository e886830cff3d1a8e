"""Helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx


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
