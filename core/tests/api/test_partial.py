"""Partial results: each piece a crew publishes is readable at once from ``GET /jobs/{id}``
and Novel Movie's status route, and streams as a ``partial`` event."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import apicrews
from apihelpers import parse_sse, wait_job


async def _until(client: Any, job_id: str, predicate: Any) -> dict[str, Any]:
    for _ in range(500):
        body = (await client.get(f"/jobs/{job_id}")).json()
        if predicate(body):
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"never true: {body}")


async def test_a_published_scene_is_readable_while_the_job_runs(make_client: Any) -> None:
    client = await make_client()
    job_id = (await client.post("/jobs", json={"crews": ["gated"], "inputs": {
        "gate": "pieces", "steps": 3, "publish_scenes": True}})).json()["id"]
    body = await _until(client, job_id, lambda b: b["partial"])
    assert body["status"] == "running"
    assert body["partial"] == {"gated": {"scene": {"total": 3, "done": 1, "items": {
        "1": {"number": 1, "shots": [0]}}}}}
    status = (await client.get(f"/crews/status/{job_id}")).json()
    assert status["status"] == "running"
    assert status["progress_detail"]["scenes_done"] == 1
    assert status["progress_detail"]["scenes_total"] == 3
    assert status["progress_detail"]["scenes_crew"] == "gated"
    assert status["progress"] == 33  # one scene of three, in a chain of one crew

    apicrews.open_gate("pieces")
    await wait_job(client, job_id, "succeeded")
    body = (await client.get(f"/jobs/{job_id}")).json()
    # the result holds every piece now: the record keeps their count, not a second copy
    assert body["partial"] == {"gated": {"scene": {"total": 3, "done": 3, "items": {}}}}
    status = (await client.get(f"/crews/status/{job_id}")).json()
    assert status["progress"] == 100 and status["progress_detail"]["scenes_done"] == 3

    events = parse_sse((await client.get(f"/jobs/{job_id}/events")).text)
    pieces = [json.loads(e["data"]) for e in events if e.get("event") == "partial"]
    assert [(p["crew"], p["data"]["key"], p["data"]["done"]) for p in pieces] == [
        ("gated", "1", 1), ("gated", "2", 2), ("gated", "3", 3)]
    assert pieces[1]["data"] == {"kind": "scene", "key": "2", "done": 2, "total": 3,
                                 "item": {"number": 2, "shots": [1]}}


async def test_a_failed_job_keeps_its_pieces(make_client: Any) -> None:
    client = await make_client()
    job_id = (await client.post("/jobs", json={"crews": ["gated"], "inputs": {
        "gate": "cancel-pieces", "steps": 2, "publish_scenes": True}})).json()["id"]
    await _until(client, job_id, lambda b: b["partial"])
    await client.post(f"/jobs/{job_id}/cancel")
    await wait_job(client, job_id, "cancelled")
    body = (await client.get(f"/jobs/{job_id}")).json()
    assert list(body["partial"]["gated"]["scene"]["items"]) == ["1"]
