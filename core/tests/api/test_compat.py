"""Novel Movie's existing client speaks the original server's wire contract: status codes, field
names AND types (issue #17), against the inline backend and the arq backend (a real
redis-server and a real ``novelcrew worker`` process).

The original's models: ``POST /crews/execute`` answers 200 ``{success, job_id, message,
estimated_time: str|null, result: null, error: null}``; ``GET /crews/status/{id}`` answers
``{job_id, status: queued|running|completed|failed, crew_type, project_id, created_at: float,
started_at: float|null, completed_at: float|null, progress: int 0-100, result: object|null,
error: str|null}``; errors on these routes are ``{success: false, job_id: "", error: str}``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import apicrews
import httpx
import pytest
from nc_api import make_settings
from nc_redis_server import redis_server

from novelcrew.api.app import create_app
from novelcrew.api.routes.compat import offline_only

HERE = Path(__file__).parent

STATUS_FIELDS: dict[str, Any] = {
    "job_id": str, "status": str, "crew_type": str, "project_id": (str, type(None)),
    "created_at": float, "started_at": (float, type(None)),
    "completed_at": (float, type(None)), "progress": int,
    "result": (dict, type(None)), "error": (str, type(None)),
}


def assert_status_shape(body: dict[str, Any]) -> None:
    for name, kind in STATUS_FIELDS.items():
        assert name in body, f"status has no {name!r}: {body}"
        value = body[name]
        assert isinstance(value, kind) and not isinstance(value, bool), (name, value)
    assert body["status"] in ("queued", "running", "completed", "failed")
    assert 0 <= body["progress"] <= 100
    assert body["created_at"] > 1_600_000_000  # epoch seconds, not milliseconds or a string


def assert_compat_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["job_id"] == ""
    assert isinstance(body["error"], str) and body["error"], body
    return body


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["inline", "arq"])
async def server(request: pytest.FixtureRequest, tmp_path: Path,
                 plugins: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A started app on the inline backend, or on arq with one ``novelcrew worker`` process
    (which loads the same test crews by ``NOVELCREW_PLUGIN_MODULES``)."""
    overrides: dict[str, Any] = {}
    worker = None
    if request.param == "arq":
        url = request.getfixturevalue("redis_url")
        queue = f"compat{os.getpid()}{time.monotonic_ns()}:queue"
        overrides = {"job_backend": "arq", "redis_url": url, "queue_name": queue}
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
        env.update({
            "NOVELCREW_JOB_BACKEND": "arq", "NOVELCREW_REDIS_URL": url,
            "NOVELCREW_QUEUE_NAME": queue, "NOVELCREW_PLUGINS": "",
            "NOVELCREW_PLUGIN_MODULES": "apicrews", "NOVELCREW_DATA_DIR": str(tmp_path / "w"),
            "NOVELCREW_WORKER_POLL_DELAY_SECONDS": "0.02", "NOVELCREW_LOG_FORMAT": "console",
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
        })
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen([str(Path(sys.executable).parent / "novelcrew"), "worker"],
                                  cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    app = create_app(make_settings(tmp_path, **overrides), plugins)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    client.backend_name = request.param  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)
        if worker is not None:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)


async def until(client: httpx.AsyncClient, job_id: str, *statuses: str,
                timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/crews/status/{job_id}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert_status_shape(body)
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"job {job_id} stayed {body['status']}"
        await asyncio.sleep(0.03)


async def test_execute_is_200_with_the_original_response(server: httpx.AsyncClient) -> None:
    r = await server.post("/crews/execute", json={
        "crew_type": "echo", "project_id": "p1", "user_id": "u1",
        "input_data": {"story_text": "Maya opened the door", "preferences": {"tone": "dark"}},
        "config": {"verbose": True},
    })
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert isinstance(body["job_id"], str) and body["job_id"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["estimated_time"], str) and "minute" in body["estimated_time"]
    assert body["result"] is None and body["error"] is None

    status = await until(server, body["job_id"], "completed")
    assert status["job_id"] == body["job_id"]
    assert status["crew_type"] == "echo" and status["project_id"] == "p1"
    assert status["progress"] == 100
    assert status["result"] == {"words": 4, "first_word": "Maya"}
    assert status["error"] is None
    assert isinstance(status["started_at"], float) and isinstance(status["completed_at"], float)
    assert status["created_at"] <= status["started_at"] <= status["completed_at"]


async def test_a_chain_and_integer_ids(server: httpx.AsyncClient) -> None:
    r = await server.post("/crews/execute", json={
        "crew_type": "echo, shout", "project_id": 42, "user_id": 7,
        "input_data": {"story_text": "a quiet night"},
    })
    assert r.status_code == 200, r.text
    status = await until(server, r.json()["job_id"], "completed")
    assert status["crew_type"] == "echo,shout" and status["project_id"] == "42"
    assert status["result"] == {
        "echo": {"words": 3, "first_word": "a"},
        "shout": {"text": "A QUIET NIGHT", "saw_words": 3},
    }


async def test_the_estimate_says_seconds_when_every_model_is_the_offline_stand_in(
        make_client: Any, tmp_path: Path) -> None:
    """The crews' usual minutes are measured on real models; a job that can only reach the
    offline stand-in finishes in seconds, and the writer should not be told to wait minutes."""
    client = await make_client()
    r = await client.post("/crews/execute", json={
        "crew_type": "echo,shout,gated",
        "input_data": {"story_text": "a night", "gate": "never", "steps": 1}})
    assert r.json()["estimated_time"] == "under a minute"
    assert r.json()["estimated_seconds"] == 30  # 10 s a crew, at most
    crews = ["echo", "shout"]
    assert offline_only(make_settings(tmp_path), crews)
    for real in ({"crew_models": {"shout": "openai/local"}}, {"default_model": "openai/local"},
                 {"fallback_models": ["openai/local"]},
                 {"agent_models": {"Shouter": "openai/local"}}):
        assert not offline_only(make_settings(tmp_path, **real), crews), real


async def test_queued_running_failed_and_cancelled(server: httpx.AsyncClient) -> None:
    gate = f"g{time.monotonic_ns()}"  # never opened: the job runs until it is cancelled
    running = (await server.post("/crews/execute", json={
        "crew_type": "gated", "input_data": {"gate": gate, "steps": 2}})).json()["job_id"]
    status = await until(server, running, "running")
    assert status["result"] is None and status["completed_at"] is None
    assert isinstance(status["started_at"], float)
    assert (await server.post(f"/jobs/{running}/cancel")).status_code == 202
    cancelled = await until(server, running, "failed")
    assert "cancel" in cancelled["error"]
    assert cancelled["result"] is None

    failed = (await server.post("/crews/execute", json={
        "crew_type": "boom", "input_data": {"story_text": "x"}})).json()["job_id"]
    status = await until(server, failed, "failed")
    assert status["error"] == "the crew broke"


async def test_a_queued_job_reads_queued(make_client: Any) -> None:
    client = await make_client(concurrency=1)
    gate = f"q{time.monotonic_ns()}"
    first = (await client.post("/crews/execute", json={
        "crew_type": "gated", "input_data": {"gate": gate, "steps": 1}})).json()["job_id"]
    await until(client, first, "running")
    second = (await client.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {"story_text": "later"}})).json()["job_id"]
    status = await until(client, second, "queued")
    assert status["started_at"] is None and status["progress"] == 0
    apicrews.open_gate(gate)
    await until(client, second, "completed")


async def test_errors_keep_the_original_shape(server: httpx.AsyncClient) -> None:
    body = assert_compat_error(await server.post("/crews/execute", json={
        "crew_type": "echo,nosuch", "input_data": {"story_text": "x"}}), 404)
    assert "nosuch" in body["error"]
    assert_compat_error(await server.post("/crews/execute", json={
        "crew_type": " , ", "input_data": {}}), 422)
    body = assert_compat_error(await server.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {}}), 422)
    assert "story_text" in body["error"]
    assert_compat_error(await server.post("/crews/execute", json={"input_data": {}}), 422)
    assert_compat_error(await server.post("/crews/execute", content=b"{not json",
                                          headers={"content-type": "application/json"}), 400)
    body = assert_compat_error(await server.get("/crews/status/does-not-exist"), 404)
    assert "does-not-exist" in body["error"]
    # a client whose job id came out empty: told so, not redirected to "unknown crew 'status'"
    for path in ("/crews/status/", "/crews/status"):
        r = await server.get(path)
        body = assert_compat_error(r, 404)
        assert body["error_type"] == "job_not_found", body
        assert "no job id" in body["error"] and "crew" not in body["error_type"]


async def test_get_execute_is_405(server: httpx.AsyncClient) -> None:
    r = await server.get("/crews/execute")
    assert_compat_error(r, 405)
    assert r.headers["allow"] == "POST"


async def test_config_is_honoured_or_refused(server: httpx.AsyncClient) -> None:
    ok = await server.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {"story_text": "x y"},
        "config": {"temperature": 0.2, "max_tokens": 900, "model": "offline",
                   "verbose": False}})
    assert ok.status_code == 200, ok.text
    job = (await server.get(f"/jobs/{ok.json()['job_id']}")).json()
    assert job["config"] == {"temperature": 0.2, "max_tokens": 900, "model": "offline"}
    # numeric text and whole floats, as the original server's pydantic model took them
    ok = await server.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {"story_text": "x y"},
        "config": {"temperature": "0.5", "max_tokens": "900", "max_tokens_total": 5000.0}})
    assert ok.status_code == 200, ok.text
    job = (await server.get(f"/jobs/{ok.json()['job_id']}")).json()
    assert job["config"] == {"temperature": 0.5, "max_tokens": 900, "max_tokens_total": 5000}
    for config, word in [({"temperature": 3}, "temperature"), ({"temperature": "hot"},
                         "temperature"), ({"max_tokens": 0}, "max_tokens"),
                         ({"model": "nosuch/model"}, "nosuch"), ({"top_k": 5}, "top_k"),
                         # lax pydantic made true 1: a job capped at one token per answer
                         ({"max_tokens": True}, "max_tokens"),
                         ({"max_tokens_total": True}, "max_tokens_total"),
                         ({"temperature": True}, "temperature")]:
        body = assert_compat_error(await server.post("/crews/execute", json={
            "crew_type": "echo", "input_data": {"story_text": "x"}, "config": config}), 422)
        assert word in body["error"], (config, body)


async def test_crews_list(server: httpx.AsyncClient) -> None:
    r = await server.get("/crews/list")
    assert r.status_code == 200
    crews = {crew["name"]: crew for crew in r.json()["crews"]}
    assert {"echo", "shout", "gated", "boom", "strict"} <= set(crews)
    echo = crews["echo"]
    assert echo["description"] == "Counts words."
    assert echo["required_inputs"] == ["story_text"]
    assert echo["tools"] == [] and echo["estimated_time"] == "under a minute"
    assert crews["strict"]["required_inputs"] == ["story_text", "scenes"]


async def test_stats_has_the_original_fields(server: httpx.AsyncClient) -> None:
    job_id = (await server.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {"story_text": "a b"}})).json()["job_id"]
    await until(server, job_id, "completed")
    r = await server.get("/stats")
    assert r.status_code == 200
    body = r.json()
    for name in ("active_jobs", "completed_jobs", "failed_jobs", "total_jobs"):
        assert isinstance(body[name], int) and not isinstance(body[name], bool), name
    assert body["completed_jobs"] >= 1 and body["total_jobs"] >= body["completed_jobs"]
    assert isinstance(body["uptime"], float) and body["uptime"] >= 0
    assert set(body["settings"]) >= {"workers", "log_level", "environment"}
    assert isinstance(body["settings"]["workers"], int)
    assert body["backend"] == server.backend_name  # type: ignore[attr-defined]
    assert "counts" in body and "queue_depth" in body  # our richer figures ride along


async def test_health_has_the_original_fields(server: httpx.AsyncClient) -> None:
    r = await server.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "healthy"
    assert body["service"] == "novelcrew"
    assert isinstance(body["version"], str) and isinstance(body["port"], int)
    assert isinstance(body["timestamp"], float) and abs(body["timestamp"] - time.time()) < 60
    assert body["dependencies"]["backend"]["required"] is True  # (arq: degraded until a
    # worker beats; a required part that is not down keeps the server healthy)


async def test_a_missing_key_and_the_rate_limit_answer_in_the_original_shape(make_client,
                                                                           tmp_path):
    """Novel Movie's client reads ``success`` and ``error`` (a string) on every failure: the
    guard's 401 and 429, which run before the route, keep that shape and their headers."""
    client = await make_client(api_keys=["nm-key"])
    execute = {"crew_type": "echo", "input_data": {"story_text": "x"}}
    for method, path, body in [("POST", "/crews/execute", execute),
                               ("GET", "/crews/status/abc", None)]:
        for headers in ({}, {"X-API-Key": "wrong"}):
            r = await client.request(method, path, json=body, headers=headers)
            assert r.status_code == 401
            assert r.headers["www-authenticate"].startswith("Bearer")
            error = r.json()
            assert error["success"] is False and error["job_id"] == ""
            assert isinstance(error["error"], str) and "key" in error["error"].lower()
            assert error["error_type"] == "unauthorized"
    app = create_app(make_settings(tmp_path / "limited", api_keys=["nm-key"],
                                   rate_limit_per_minute=2), apicrews.load_plugins())
    keyed = {"X-API-Key": "nm-key"}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as limited_client:
        answers = [await limited_client.get("/crews/status/abc", headers=keyed)
                   for _ in range(2)]
        answers.append(await limited_client.post("/crews/execute", json=execute,
                                                 headers=keyed))
    assert [r.status_code for r in answers] == [404, 404, 429]
    limited = answers[-1].json()
    assert limited["success"] is False and limited["job_id"] == ""
    assert limited["error"].startswith("too many requests")
    assert limited["error_type"] == "rate_limited"
    assert int(answers[-1].headers["retry-after"]) in range(1, 61)


async def test_errors_answered_before_a_route_runs_keep_the_original_shape(make_client):
    """A body over the limit is refused by its Content-Length before any route runs, and a
    wrong method on a status path matches no route: Novel Movie's client still reads
    ``success`` and ``error`` as a string, with the native status and headers."""
    client = await make_client(max_body_bytes=1000)
    big = {"crew_type": "echo", "input_data": {"story_text": "x" * 2000}}
    body = assert_compat_error(await client.post("/crews/execute", json=big), 413)
    assert body["error_type"] == "payload_too_large" and "1000" in body["error"]
    body = assert_compat_error(await client.post(
        "/crews/execute", content=b"{}", headers={"content-length": "x"}), 400)
    assert body["error_type"] == "bad_request"
    r = await client.post("/crews/status/abc")
    body = assert_compat_error(r, 405)
    assert body["error_type"] == "method_not_allowed" and "GET" in r.headers["allow"]
    # the native routes keep the native envelope
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "x" * 2000}})
    assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"
    r = await client.delete("/jobs/abc")
    assert r.status_code == 405 and r.json()["error"]["type"] == "method_not_allowed"
    # nothing refused was queued
    assert (await client.get("/jobs")).json()["count"] == 0
