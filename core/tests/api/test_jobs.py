"""The native jobs API: submit, read, list with filters and pages, cancel, follow events."""

from __future__ import annotations

import asyncio
import json

import apicrews
from apihelpers import parse_sse, wait_job


async def test_submit_returns_the_job_record_and_get_returns_its_result(make_client):
    client = await make_client(webhook_allow=["127.0.0.1"])
    r = await client.post("/jobs", json={
        "crews": ["echo", "shout"], "project_id": "p1", "user_id": "u1",
        "inputs": {"story_text": "the long road"},
        "webhook_url": "http://127.0.0.1:9/hook",
    })
    assert r.status_code == 202
    job = r.json()
    assert job["status"] == "queued"
    assert job["crews"] == ["echo", "shout"]
    assert job["project_id"] == "p1" and job["user_id"] == "u1"
    assert job["webhook_url"] == "http://127.0.0.1:9/hook"
    assert "inputs" not in job  # stories are not echoed back
    done = await wait_job(client, job["id"], "succeeded")
    assert done["result"] == {"echo": {"words": 3, "first_word": "the"},
                              "shout": {"text": "THE LONG ROAD", "saw_words": 3}}
    assert done["progress"]["completed_tasks"] == 3
    assert set(done["timings"]) == {"echo", "shout"}
    assert done["finished_at"] is not None
    assert done["models_used"] == []  # these crews call no model


async def test_submit_validates_every_crew_of_the_chain(client):
    r = await client.post("/jobs", json={"crews": ["echo", "strict"],
                                         "inputs": {"story_text": "x", "scenes": 0}})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["details"]["crew"] == "strict"
    assert err["details"]["errors"] == [{"loc": ["scenes"], "type": "greater_than_equal",
                                         "msg": "Input should be greater than or equal to 1"}]
    r = await client.post("/jobs", json={"crews": [], "inputs": {}})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["errors"][0]["loc"] == ["body", "crews"]
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "x"},
                                         "webhook_url": "ftp://x"})
    assert r.status_code == 422
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "x"},
                                         "config": {"model": "nosuch/model"}})
    assert r.status_code == 422
    assert "unknown model provider" in r.json()["error"]["message"]


async def test_list_filters_and_pages(client):
    ids = []
    for i in range(5):
        body = {"crews": ["echo"], "project_id": "a" if i % 2 == 0 else "b",
                "inputs": {"story_text": f"story {i}"}}
        ids.append((await client.post("/jobs", json=body)).json()["id"])
    for job_id in ids:
        await wait_job(client, job_id, "succeeded")
    failed = (await client.post("/jobs", json={"crews": ["boom"], "project_id": "a",
                                               "inputs": {"story_text": "x"}})).json()["id"]
    await wait_job(client, failed, "failed")

    everything = (await client.get("/jobs")).json()
    assert everything["count"] == 6
    assert [j["id"] for j in everything["data"]] == [failed, *reversed(ids)]  # newest first

    page = (await client.get("/jobs", params={"limit": 2, "offset": 1})).json()
    assert page["count"] == 6
    assert [j["id"] for j in page["data"]] == [ids[4], ids[3]]

    a = (await client.get("/jobs", params={"project_id": "a"})).json()
    assert a["count"] == 4 and {j["project_id"] for j in a["data"]} == {"a"}
    a_ok = (await client.get("/jobs", params={"project_id": "a", "status": "succeeded"})).json()
    assert a_ok["count"] == 3
    assert (await client.get("/jobs", params={"status": "failed"})).json()["data"][0]["id"] \
        == failed

    # a list page's rows without the plans: status and progress stay, result and partial go
    full = (await client.get("/jobs", params={"status": "succeeded"})).json()
    light = (await client.get("/jobs", params={"status": "succeeded", "results": "false"})).json()
    assert full["data"][0]["result"] and light["count"] == full["count"] == 5
    assert all(j["result"] == {} and j["partial"] == {} for j in light["data"])
    assert [(j["id"], j["status"], j["progress"]) for j in light["data"]] == [
        (j["id"], j["status"], j["progress"]) for j in full["data"]]

    for params in ({"status": "done"}, {"limit": 0}, {"limit": 201}, {"offset": -1},
                   {"results": "maybe"}):
        r = await client.get("/jobs", params=params)
        assert r.status_code == 422, params
        assert r.json()["error"]["type"] == "invalid_input"


async def test_cancel_a_queued_and_a_running_job(make_client):
    client = await make_client(concurrency=1)
    running = (await client.post("/jobs", json={"crews": ["gated"],
                                                "inputs": {"gate": "c1"}})).json()["id"]
    queued = (await client.post("/jobs", json={"crews": ["echo"],
                                               "inputs": {"story_text": "x"}})).json()["id"]
    await wait_job(client, running, "running")

    r = await client.post(f"/jobs/{queued}/cancel")
    assert r.status_code == 202
    assert r.json()["status"] == "cancelled"  # a queued job ends at once

    r = await client.post(f"/jobs/{running}/cancel")
    assert r.status_code == 202
    assert r.json()["cancel_requested"] is True
    done = await wait_job(client, running, "cancelled")
    assert done["result"] == {}

    r = await client.post(f"/jobs/{running}/cancel")
    assert r.status_code == 409
    assert r.json()["error"] == {"type": "conflict",
                                 "message": f"job {running} has already ended (cancelled)",
                                 "details": {"job_id": running, "status": "cancelled"}}
    r = await client.post("/jobs/nosuch/cancel")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "job_not_found"


async def test_events_stream_from_start_and_resume(client):
    job_id = (await client.post("/jobs", json={"crews": ["echo"],
                                               "inputs": {"story_text": "x y"}})).json()["id"]
    await wait_job(client, job_id, "succeeded")
    r = await client.get(f"/jobs/{job_id}/events")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [e for e in parse_sse(r.text) if "id" in e]
    seqs = [int(e["id"]) for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert events[0]["event"] == "queued"
    assert events[-1]["event"] == "succeeded"
    data = json.loads(events[-1]["data"])
    assert data["seq"] == seqs[-1] and data["job_id"] == job_id and data["type"] == "succeeded"

    r = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": "3"})
    assert [int(e["id"]) for e in parse_sse(r.text) if "id" in e] == seqs[3:]
    r = await client.get(f"/jobs/{job_id}/events", params={"after": len(seqs) - 1})
    assert [e["event"] for e in parse_sse(r.text) if "id" in e] == ["succeeded"]

    for bad in ("abc", "-1", str(2**63)):
        r = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": bad})
        assert r.status_code == 422, bad
    r = await client.get(f"/jobs/{job_id}/events", params={"after": 2**63})
    assert r.status_code == 422
    r = await client.get("/jobs/nosuch/events")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "job_not_found"


async def test_events_of_a_live_job_arrive_and_the_stream_ends(make_client):
    client = await make_client()
    client.app.state.sse_keepalive = 0.05
    job_id = (await client.post("/jobs", json={"crews": ["gated"],
                                               "inputs": {"gate": "live", "steps": 1}})).json()
    job_id = job_id["id"]
    await wait_job(client, job_id, "running")

    import asyncio

    async def release() -> None:
        await asyncio.sleep(0.3)
        apicrews.open_gate("live")

    releaser = asyncio.create_task(release())
    r = await client.get(f"/jobs/{job_id}/events")
    await releaser
    parsed = parse_sse(r.text)
    types = [e["event"] for e in parsed if "event" in e]
    assert types[0] == "queued" and types[-1] == "succeeded"
    assert "task_finished" in types


async def test_retry_runs_a_failed_or_cancelled_job_again_without_its_story(make_client):
    """``POST /jobs/{id}/retry``: the client never sees the inputs again (they are not
    echoed), so the server re-submits them, with the crews, ids and config, as a new job."""
    client = await make_client(concurrency=1)
    r = await client.post("/jobs", json={"crews": ["gated"], "project_id": "p9", "user_id": 4,
                                         "inputs": {"gate": "retry1", "steps": 2},
                                         "config": {"temperature": 0.5}})
    first = r.json()["id"]
    await wait_job(client, first, "running")
    r = await client.post(f"/jobs/{first}/retry")
    assert r.status_code == 409, r.text  # still running: nothing to retry yet
    assert r.json()["error"]["details"] == {"job_id": first, "status": "running"}
    await client.post(f"/jobs/{first}/cancel")
    await wait_job(client, first, "cancelled")

    r = await client.post(f"/jobs/{first}/retry")
    assert r.status_code == 202, r.text
    again = r.json()
    assert again["id"] != first and again["status"] == "queued"
    assert again["crews"] == ["gated"] and again["config"] == {"temperature": 0.5}
    assert (again["project_id"], again["user_id"]) == ("p9", "4")
    apicrews.open_gate("retry1")
    done = await wait_job(client, again["id"], "succeeded")
    assert done["result"] == {"gated": {"words": 2, "first_word": "gated"}}  # its inputs
    assert (await client.get(f"/jobs/{first}")).json()["status"] == "cancelled"  # untouched

    r = await client.post(f"/jobs/{again['id']}/retry")
    assert r.status_code == 409 and "succeeded" in r.json()["error"]["message"]
    failed = (await client.post("/jobs", json={"crews": ["boom"],
                                               "inputs": {"story_text": "x"}})).json()["id"]
    await wait_job(client, failed, "failed")
    r = await client.post(f"/jobs/{failed}/retry")
    assert r.status_code == 202 and r.json()["crews"] == ["boom"]
    r = await client.post("/jobs/nosuch/retry")
    assert r.status_code == 404 and r.json()["error"]["type"] == "job_not_found"


async def test_a_retry_refuses_overrides_instead_of_ignoring_them(client):
    """A retry runs the job as it was submitted: a body asking for another config (or any
    other field) is 422 naming the fields and what to do instead, and creates no job; no
    body, ``{}`` or ``null`` is a plain retry."""
    failed = (await client.post("/jobs", json={"crews": ["boom"], "inputs": {
        "story_text": "x"}, "config": {"temperature": 0.5}})).json()["id"]
    await wait_job(client, failed, "failed")
    for body in ({"config": {"temperature": 1.0}}, {"inputs": {"story_text": "y"},
                                                    "crews": ["echo"]}):
        r = await client.post(f"/jobs/{failed}/retry", json=body)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["type"] == "invalid_input"
        assert error["details"]["errors"][0]["type"] == "retry_takes_no_overrides"
        assert ", ".join(sorted(body)) in error["message"]
        assert "POST /jobs" in error["message"]
    assert (await client.get("/jobs")).json()["count"] == 1  # nothing was created
    for kwargs in ({}, {"json": {}}, {"content": b"null",
                                      "headers": {"Content-Type": "application/json"}}):
        r = await client.post(f"/jobs/{failed}/retry", **kwargs)
        assert r.status_code == 202, (kwargs, r.text)
        assert r.json()["config"] == {"temperature": 0.5}


async def test_a_tenant_retries_only_its_own_jobs(make_client):
    client = await make_client(api_keys=["red-key:red", "blue-key:blue"])
    red, blue = {"X-API-Key": "red-key"}, {"X-API-Key": "blue-key"}
    failed = (await client.post("/jobs", json={"crews": ["boom"], "inputs": {
        "story_text": "x"}}, headers=red)).json()["id"]
    for _ in range(500):
        if (await client.get(f"/jobs/{failed}", headers=red)).json()["status"] == "failed":
            break
        await asyncio.sleep(0.02)
    r = await client.post(f"/jobs/{failed}/retry", headers=blue)
    assert r.status_code == 404  # as for an id that does not exist
    r = await client.post(f"/jobs/{failed}/retry", headers=red)
    assert r.status_code == 202 and r.json()["tenant"] == "red"


async def test_a_dry_run_waits_for_a_crewai_import_in_progress(client):
    """The inline backend imports crewAI in a thread before its first job; a dry run made
    meanwhile imported it too, from another thread, and the two met in crewAI's import
    cycles (500, "partially initialized module"). It now waits for the import lock."""
    from novelcrew.crewai.env import IMPORT_LOCK

    body = {"crews": ["echo"], "dry_run": True, "inputs": {"story_text": "a b"}}
    with IMPORT_LOCK:  # an import in progress elsewhere
        answer = asyncio.ensure_future(client.post("/jobs", json=body))
        await asyncio.sleep(0.3)
        assert not answer.done()
    r = await asyncio.wait_for(answer, 120)
    assert r.status_code == 200, r.text
    assert r.json()["dry_run"] is True
