"""``Idempotency-Key`` on ``POST /jobs`` and ``POST /crews/execute``, on the inline backend
(SQLite) and the arq backend (a real redis-server; no worker is needed: a job that stays
queued is still one job). A retried submission gets the first one's job back and creates
nothing; another body under the same key is refused; racing duplicates create one job; the
key expires after ``NOVELCREW_IDEMPOTENCY_TTL_SECONDS``; tenants do not share keys.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelpers import wait_job
from nc_api import AppClient, make_settings
from nc_redis_server import redis_server

from novelcrew.api import idempotency, submission
from novelcrew.api.app import create_app
from novelcrew.api.schemas import JobCreate
from novelcrew.backends import IdempotencyClaim
from novelcrew.errors import InvalidInput

JOB = {"crews": ["echo"], "project_id": "p1", "inputs": {"story_text": "Maya opened the door"}}
EXECUTE = {"crew_type": "echo", "project_id": "p1", "user_id": "u1",
           "input_data": {"story_text": "Maya opened the door"}}
KEYS = ["admin-key", "red-key:red", "blue-key:blue"]
RED, BLUE = {"X-API-Key": "red-key"}, {"X-API-Key": "blue-key"}

MakeServer = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["inline", "arq"])
async def make_server(request: pytest.FixtureRequest, tmp_path: Path,
                      plugins: Any) -> AsyncIterator[MakeServer]:
    """``await make_server(**settings)``: a client on a started app. Apps made by one test
    share their job store (the SQLite file, or the Redis queue's keys)."""
    overrides: dict[str, Any] = {}
    if request.param == "arq":
        queue = f"idem{os.getpid()}{time.monotonic_ns()}:queue"
        overrides = {"job_backend": "arq", "redis_url": request.getfixturevalue("redis_url"),
                     "queue_name": queue}
    opened: list[tuple[Any, httpx.AsyncClient]] = []

    async def make(**settings: Any) -> httpx.AsyncClient:
        app = create_app(make_settings(tmp_path, **overrides, **settings), plugins)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://t")
        client.app = app  # type: ignore[attr-defined]
        opened.append((lifespan, client))
        return client

    make.backend = request.param  # type: ignore[attr-defined]
    yield make
    for lifespan, client in reversed(opened):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def job_count(client: httpx.AsyncClient, **headers: str) -> int:
    r = await client.get("/jobs", params={"results": "false"}, headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


async def test_a_retry_with_the_key_gets_the_same_job(make_server: MakeServer) -> None:
    client = await make_server()
    key = {"Idempotency-Key": "retry-1"}
    first = await client.post("/jobs", json=JOB, headers=key)
    assert first.status_code == 202, first.text
    assert "idempotent-replayed" not in first.headers
    # the same request again (its JSON spelled differently), as a client retries it
    again = await client.post("/jobs", content=(
        '{"inputs": {"story_text": "Maya opened the door"}, "project_id": "p1",'
        ' "crews": ["echo"]}'), headers={**key, "Content-Type": "application/json"})
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await job_count(client) == 1
    # the draft's form of the header (a quoted string) is the same key
    quoted = await client.post("/jobs", json=JOB, headers={"Idempotency-Key": '"retry-1"'})
    assert quoted.json()["id"] == first.json()["id"]
    # without the key, every request is a new job, as before
    for _ in range(2):
        assert (await client.post("/jobs", json=JOB)).status_code == 202
    assert await job_count(client) == 3


async def test_the_key_with_another_body_is_refused(make_server: MakeServer) -> None:
    client = await make_server()
    key = {"Idempotency-Key": "k-body"}
    first = await client.post("/jobs", json=JOB, headers=key)
    assert first.status_code == 202, first.text
    other = {**JOB, "inputs": {"story_text": "Somebody else's story"}}
    r = await client.post("/jobs", json=other, headers=key)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["type"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["message"] and "different request body" in error["message"]
    assert error["details"]["job_id"] == first.json()["id"]
    # the same key on the other route is another request too
    r = await client.post("/crews/execute", json=EXECUTE, headers=key)
    assert r.status_code == 422 and r.json()["error_type"] == "idempotency_key_reused"
    assert await job_count(client) == 1


async def test_racing_duplicates_create_one_job(make_server: MakeServer) -> None:
    one = await make_server()
    # on arq, two API instances on one Redis, as behind a load balancer (an inline server
    # owns its data directory alone)
    two = await make_server() if make_server.backend == "arq" else one  # type: ignore[attr-defined]
    key = {"Idempotency-Key": "race"}
    answers = await asyncio.gather(*(
        client.post("/jobs", json=JOB, headers=key) for client in [one, two] * 6))
    assert {r.status_code for r in answers} == {202}, [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 11
    assert await job_count(one) == 1


async def test_the_key_expires_after_the_ttl(make_server: MakeServer) -> None:
    client = await make_server(idempotency_ttl_seconds=0.5)
    key = {"Idempotency-Key": "short-lived"}
    first = (await client.post("/jobs", json=JOB, headers=key)).json()["id"]
    assert (await client.post("/jobs", json=JOB, headers=key)).json()["id"] == first
    await asyncio.sleep(0.8)
    later = await client.post("/jobs", json=JOB, headers=key)
    assert later.status_code == 202 and later.json()["id"] != first
    assert "idempotent-replayed" not in later.headers
    assert await job_count(client) == 2


async def test_tenants_do_not_share_keys(make_server: MakeServer) -> None:
    client = await make_server(api_keys=KEYS)
    key = {"Idempotency-Key": "same-key"}
    red = await client.post("/jobs", json=JOB, headers={**RED, **key})
    blue = await client.post("/jobs", json=JOB, headers={**BLUE, **key})
    assert red.status_code == blue.status_code == 202, (red.text, blue.text)
    assert red.json()["id"] != blue.json()["id"]
    # a key blue used with another body is no conflict for red
    other = {**JOB, "inputs": {"story_text": "Blue's own story"}}
    r = await client.post("/jobs", json=other, headers={**BLUE, "Idempotency-Key": "k-2"})
    assert r.status_code == 202, r.text
    r = await client.post("/jobs", json=JOB, headers={**RED, "Idempotency-Key": "k-2"})
    assert r.status_code == 202, r.text
    again = await client.post("/jobs", json=JOB, headers={**RED, **key})
    assert again.json()["id"] == red.json()["id"]
    assert await job_count(client, **RED) == 2
    assert await job_count(client, **BLUE) == 2


async def test_execute_replays_in_its_original_shape(make_server: MakeServer) -> None:
    client = await make_server()
    key = {"Idempotency-Key": "nm-1"}
    first = await client.post("/crews/execute", json=EXECUTE, headers=key)
    assert first.status_code == 200, first.text
    again = await client.post("/crews/execute", json=EXECUTE, headers=key)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # the same job id, message and estimate
    assert set(first.json()) >= {"success", "job_id", "message", "estimated_time", "result",
                                 "error"}
    assert again.headers["idempotent-replayed"] == "true"
    # another body under the key: the original's error shape, error a string
    r = await client.post("/crews/execute", json={**EXECUTE, "project_id": "p2"}, headers=key)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["success"] is False and body["job_id"] == ""
    assert "different request body" in body["error"]
    assert body["error_type"] == "idempotency_key_reused"
    # a key too long is refused, in the same shape
    r = await client.post("/crews/execute", json=EXECUTE, headers={"Idempotency-Key": "x" * 300})
    assert r.status_code == 400 and r.json()["success"] is False
    assert r.json()["error_type"] == "invalid_idempotency_key"
    assert await job_count(client) == 1


#: header values that name no key: each was taken as a key (``"`` by every client that sends
#: it), or refused as 422 invalid input, before
DEGENERATE_KEYS = ['"', '""', '"   "', "   ", "", '"abc', 'abc"', 'a"b', '"a"b"', '"\\"',
                   "x" * 256, '"' + "x" * 256 + '"', "k-1, k-2"]


async def test_a_header_naming_no_key_is_400_on_every_route_and_queues_nothing(
        make_server: MakeServer) -> None:
    client = await make_server()
    old = (await client.post("/jobs", json={**JOB, "crews": ["boom"]})).json()["id"]
    await client.post(f"/jobs/{old}/cancel")  # queued (arq, no worker) or failed by now
    for _ in range(200):
        if (await client.get(f"/jobs/{old}")).json()["status"] in ("failed", "cancelled"):
            break
        await asyncio.sleep(0.05)
    routes = [("/jobs", JOB), ("/crews/execute", EXECUTE), (f"/jobs/{old}/retry", None)]
    # sent on two lines: FastAPI took the first, a proxy folding them would send "k-1, k-2"
    twice = [[("Idempotency-Key", "k-1"), ("Idempotency-Key", "k-2")]]
    for route, body in routes:
        for value in [*DEGENERATE_KEYS, *twice]:
            headers = value if isinstance(value, list) else {"Idempotency-Key": value}
            r = await client.post(route, json=body, headers=headers)
            assert r.status_code == 400, (route, value, r.text)
            answer = r.json()
            error = answer if route == "/crews/execute" else answer["error"]
            kind = answer["error_type"] if route == "/crews/execute" else error["type"]
            message = error["error"] if route == "/crews/execute" else error["message"]
            assert kind == "invalid_idempotency_key", (route, value)
            assert "Idempotency-Key header" in message, message
            assert error["details"]["header"] == "Idempotency-Key"
    assert await job_count(client) == 1  # the job retried; nothing queued, nothing claimed
    # a well-formed quoted string with an escaped quote inside is a key
    first = await client.post("/jobs", json=JOB, headers={"Idempotency-Key": '"a\\"b"'})
    again = await client.post("/jobs", json=JOB, headers={"Idempotency-Key": '"a\\"b"'})
    assert first.status_code == again.status_code == 202, first.text
    assert again.json()["id"] == first.json()["id"]
    assert await job_count(client) == 2


async def test_a_failed_submission_frees_the_key(make_server: MakeServer) -> None:
    client = await make_server()
    key = {"Idempotency-Key": "after-a-bad-request"}
    r = await client.post("/jobs", json={**JOB, "crews": ["no-such-crew"]}, headers=key)
    assert r.status_code == 404
    r = await client.post("/jobs", json=JOB, headers=key)
    assert r.status_code == 202, r.text
    assert "idempotent-replayed" not in r.headers


async def test_a_repeat_while_the_first_is_being_accepted_is_409(
        make_server: MakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first request claimed the key and its job is not stored yet (here: never)."""
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    client = await make_server()
    store = client.app.state.backend.store  # type: ignore[attr-defined]
    claim = IdempotencyClaim(fingerprint=idempotency.fingerprint("/jobs", JobCreate(**JOB)),
                             job_id="0" * 32)
    assert await store.claim_idempotency_key(idempotency.scoped(None, "slow"), claim, 60) is None
    r = await client.post("/jobs", json=JOB, headers={"Idempotency-Key": "slow"})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["type"] == "idempotency_key_in_use"
    assert await job_count(client) == 0


async def test_a_409_in_use_says_when_to_retry(
        make_server: MakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Retry-After`` (whole seconds, as long as the wait the 409 came after) on both
    submitting routes; the message says the same figure."""
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 1.2)
    client = await make_server()
    store = client.app.state.backend.store  # type: ignore[attr-defined]
    execute = submission_body_of_execute()
    for route, body in (("/jobs", JOB), ("/crews/execute", EXECUTE)):
        claim = IdempotencyClaim(fingerprint=idempotency.fingerprint(
            route, JobCreate(**(JOB if route == "/jobs" else execute))), job_id="0" * 32)
        key = f"slow{route}"
        assert await store.claim_idempotency_key(idempotency.scoped(None, key), claim,
                                                 60) is None
        r = await client.post(route, json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 409, r.text
        assert r.headers["retry-after"] == "2"
        error = r.json()["error"]
        message = error if isinstance(error, str) else error["message"]
        assert message.endswith("retry in 2s"), message
    assert await job_count(client) == 0


def submission_body_of_execute() -> dict[str, Any]:
    """What ``POST /crews/execute`` with ``EXECUTE`` submits (its fingerprint's body)."""
    return {"crews": ["echo"], "project_id": "p1", "user_id": "u1",
            "inputs": EXECUTE["input_data"]}


async def test_a_repeat_racing_a_refused_first_request_is_checked_afresh(
        make_server: MakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first request claimed the key, then was refused (its webhook host did not
    resolve in time) and freed it: a repeat already waiting for the first's job takes the
    key and is checked itself, as the docs promise, rather than waiting out WAIT_SECONDS
    for a job that will never exist and answering 409."""
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 3.0)
    calls: list[str | None] = []

    async def slow_then_fine(url: str | None, settings: Any) -> None:
        calls.append(url)
        if len(calls) == 1:  # the first request: slow, then refused
            await asyncio.sleep(0.3)
            raise InvalidInput("webhook_url host did not resolve within 5s",
                               {"field": "webhook_url"})

    monkeypatch.setattr(submission, "check_webhook", slow_then_fine)
    client = await make_server()
    body = {**JOB, "webhook_url": "https://hooks.example.com/nc"}
    key = {"Idempotency-Key": "first-refused"}
    first = asyncio.create_task(client.post("/jobs", json=body, headers=key))
    while not calls:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    again = await client.post("/jobs", json=body, headers=key)
    assert (await first).status_code == 422
    assert again.status_code == 202, again.text
    assert "idempotent-replayed" not in again.headers
    assert time.monotonic() - started < 2.0
    assert await job_count(client) == 1


async def test_the_header_is_in_the_openapi_document(make_server: MakeServer) -> None:
    client = await make_server()
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/jobs", "/crews/execute"):
        params = paths[path]["post"]["parameters"]
        header = next(p for p in params if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and not header.get("required")
        assert "NOVELCREW_IDEMPOTENCY_TTL_SECONDS" in header["description"]


async def test_a_repeated_retry_call_makes_one_new_job(make_client: AppClient) -> None:
    """``POST /jobs/{id}/retry`` creates a job too: a repeat with the key gets that job."""
    client = await make_client()
    failed = (await client.post("/jobs", json={**JOB, "crews": ["boom"]})).json()["id"]
    await wait_job(client, failed, "failed")
    key = {"Idempotency-Key": "retry-once"}
    first = await client.post(f"/jobs/{failed}/retry", headers=key)
    assert first.status_code == 202, first.text
    again = await client.post(f"/jobs/{failed}/retry", headers=key)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"] != failed
    assert again.headers["idempotent-replayed"] == "true"
    assert await job_count(client) == 2


async def test_a_browser_on_an_allowed_origin_may_send_the_key_and_see_the_replay(
        make_client: AppClient) -> None:
    """CORS: the preflight lets `Idempotency-Key` through (a browser refuses to send a header
    the server did not allow) and `Idempotent-Replayed` is exposed to the page's script."""
    client = await make_client(cors_origins=["https://app.example"])
    origin = {"Origin": "https://app.example"}
    for path in ("/jobs", "/crews/execute", "/jobs/some-job/retry"):
        r = await client.options(path, headers={
            **origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, idempotency-key"})
        assert r.status_code == 200, (path, r.text)
        assert "idempotency-key" in r.headers["access-control-allow-headers"].lower()
    key = {**origin, "Idempotency-Key": "from-a-browser"}
    first = await client.post("/jobs", json=JOB, headers=key)
    again = await client.post("/jobs", json=JOB, headers=key)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    exposed = again.headers["access-control-expose-headers"].lower().replace(" ", "").split(",")
    assert "idempotent-replayed" in exposed
