"""Novel Movie's calls keep their shapes: POST /crews/execute and GET /crews/status/{id}."""

from __future__ import annotations

import apicrews
from apihelpers import wait_job


async def test_execute_answers_202_with_novel_movie_shape(client):
    r = await client.post("/crews/execute", json={
        "crew_type": "echo", "project_id": "p1", "user_id": "u1",
        "input_data": {"story_text": "Maya opened the door", "preferences": {"tone": "dark"}},
        "config": {},
    })
    assert r.status_code == 202
    body = r.json()
    assert set(body) == {"success", "job_id", "message", "estimated_time"}
    assert body["success"] is True
    assert body["estimated_time"] == 30
    await wait_job(client, body["job_id"], "succeeded")

    status = (await client.get(f"/crews/status/{body['job_id']}")).json()
    assert status["status"] == "completed"
    assert status["crew_type"] == "echo"
    assert status["project_id"] == "p1"
    assert status["result"] == {"words": 4, "first_word": "Maya"}
    assert status["progress"] == 100.0
    assert status["progress_detail"]["completed_tasks"] == 2
    assert status["progress_detail"]["total_tasks"] == 2
    assert status["error"] is None
    assert status["completed_at"] is not None and status["started_at"] is not None


async def test_chain_result_is_keyed_by_crew_and_integer_ids_are_accepted(client):
    r = await client.post("/crews/execute", json={
        "crew_type": "echo, shout", "project_id": 42, "user_id": 7,
        "input_data": {"story_text": "a quiet night"},
    })
    assert r.status_code == 202
    assert r.json()["estimated_time"] == 40
    job_id = r.json()["job_id"]
    await wait_job(client, job_id, "succeeded")
    status = (await client.get(f"/crews/status/{job_id}")).json()
    assert status["crew_type"] == "echo,shout"
    assert status["project_id"] == "42"
    assert status["result"] == {
        "echo": {"words": 3, "first_word": "a"},
        "shout": {"text": "A QUIET NIGHT", "saw_words": 3},
    }


async def test_status_of_queued_running_and_failed_jobs(make_client):
    client = await make_client(concurrency=1)
    running = (await client.post("/crews/execute", json={
        "crew_type": "gated", "input_data": {"gate": "g1", "steps": 2}})).json()["job_id"]
    queued = (await client.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {"story_text": "later"}})).json()["job_id"]
    await wait_job(client, running, "running")
    status = (await client.get(f"/crews/status/{running}")).json()
    assert status["status"] == "running"
    assert 0 <= status["progress"] < 100
    assert status["result"] is None
    assert (await client.get(f"/crews/status/{queued}")).json()["status"] == "queued"
    apicrews.open_gate("g1")
    await wait_job(client, queued, "succeeded")

    failed = (await client.post("/crews/execute", json={
        "crew_type": "boom", "input_data": {"story_text": "x"}})).json()["job_id"]
    await wait_job(client, failed, "failed")
    status = (await client.get(f"/crews/status/{failed}")).json()
    assert status["status"] == "failed"
    assert status["error"] == "the crew broke"
    assert status["error_type"] == "RuntimeError"


async def test_execute_errors_use_the_error_shape(client):
    r = await client.post("/crews/execute", json={"crew_type": "echo,nosuch",
                                                  "input_data": {"story_text": "x"}})
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "crew_not_found"
    assert r.json()["error"]["details"]["crew"] == "nosuch"

    r = await client.post("/crews/execute", json={"crew_type": " , ", "input_data": {}})
    assert r.status_code == 422
    assert r.json()["error"]["type"] == "invalid_input"

    r = await client.post("/crews/execute", json={"crew_type": "echo", "input_data": {}})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["errors"][0]["loc"] == ["story_text"]

    r = await client.get("/crews/status/does-not-exist")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "job_not_found"


async def test_story_size_limit_on_input_data(make_client):
    client = await make_client(max_story_chars=100)
    r = await client.post("/crews/execute", json={"crew_type": "echo",
                                                  "input_data": {"story_text": "x" * 101}})
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "story_too_large"
    assert r.json()["error"]["details"] == {"chars": 101, "limit": 100}
    ok = await client.post("/crews/execute", json={"crew_type": "echo",
                                                   "input_data": {"story_text": "x" * 100}})
    assert ok.status_code == 202
