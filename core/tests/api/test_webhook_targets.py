"""Webhook targets are checked when a job is submitted, on both APIs (issue #24).

Only loopback addresses are used: a refused target is never contacted, and the allow-listed
one is a receiver on 127.0.0.1 in this process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from apihelpers import wait_job

STORY = {"story_text": "the long road"}


class Hits:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.got = threading.Event()


@pytest.fixture
def receiver() -> Iterator[tuple[str, Hits]]:
    hits = Hits()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()
            hits.got.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/novelcrew", hits
    server.shutdown()
    server.server_close()


async def test_a_loopback_webhook_is_refused_by_default_and_nothing_is_queued(
        client, receiver) -> None:
    url, hits = receiver
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": STORY,
                                         "webhook_url": url})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["type"] == "invalid_input"
    assert "127.0.0.1" in error["message"] and "non-public" in error["message"]
    assert "NOVELCREW_WEBHOOK_ALLOW" in error["message"]
    assert error["details"] == {"field": "webhook_url"}
    assert (await client.get("/jobs")).json()["count"] == 0
    assert hits.bodies == []


@pytest.mark.parametrize("url", ["http://\x01bad/hook", "http://user:pw@127.0.0.1/hook",
                                 "http://[::1/hook", "http://10.0.0.1/hook",
                                 "http://169.254.169.254/latest/meta-data"])
async def test_malformed_or_private_webhook_urls_are_refused(client, url: str) -> None:
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": STORY,
                                         "webhook_url": url})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("webhook_url")


async def test_the_compat_route_refuses_it_in_its_own_shape(client, receiver) -> None:
    url, _ = receiver
    r = await client.post("/crews/execute", json={
        "crew_type": "echo", "project_id": "p1", "input_data": STORY, "webhook_url": url})
    assert r.status_code == 422
    body = r.json()
    assert body["success"] is False and body["job_id"] == ""
    assert isinstance(body["error"], str) and "non-public" in body["error"]
    assert body["error_type"] == "invalid_input"


async def test_an_allow_listed_loopback_receiver_gets_the_job_once(
        make_client, receiver) -> None:
    url, hits = receiver
    client = await make_client(webhook_allow=["127.0.0.0/8"], webhook_backoff_seconds=0.05)
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": STORY,
                                         "webhook_url": url})
    assert r.status_code == 202
    job = await wait_job(client, r.json()["id"], "succeeded")
    assert await asyncio.to_thread(hits.got.wait, 10)
    r = await client.post("/crews/execute", json={
        "crew_type": "echo", "input_data": STORY, "webhook_url": url})
    assert r.status_code == 200 and r.json()["success"] is True
    await wait_job(client, r.json()["job_id"], "succeeded")
    for _ in range(200):
        if len(hits.bodies) >= 2:
            break
        await asyncio.sleep(0.02)
    assert len(hits.bodies) == 2
    assert job["id"].encode() in hits.bodies[0]
    assert r.json()["job_id"].encode() in hits.bodies[1]
