"""API keys, the per-key rate limit and CORS."""

from __future__ import annotations

import structlog

KEY = "k-secret-0123456789"
OTHER = "k-other-abcdef"


async def test_without_keys_every_route_is_open(client):
    assert (await client.get("/jobs")).status_code == 200
    assert (await client.get("/crews")).status_code == 200


async def test_with_keys_every_route_but_health_needs_one(make_client):
    client = await make_client(api_keys=[KEY, OTHER])
    for method, path in [("GET", "/jobs"), ("GET", "/crews"), ("GET", "/plugins"),
                         ("GET", "/metrics"), ("GET", "/stats"), ("GET", "/models"),
                         ("GET", "/tools"), ("POST", "/crews/execute"),
                         ("GET", "/crews/status/x"), ("GET", "/jobs/x/events"),
                         ("POST", "/jobs/x/cancel")]:
        r = await client.request(method, path)
        assert r.status_code == 401, (method, path)
        body = r.json()  # Novel Movie's routes keep the original server's error shape
        kind = body["error_type"] if path.startswith("/crews/") else body["error"]["type"]
        assert kind == "unauthorized", (method, path)
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/health/")).status_code in (200, 307)  # never 401
    # the API's description and its docs page hold no data, and a browser sends no key
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200
    # a route that does not exist is 404 with or without a key (FastAPI matches the route
    # before it runs the route's dependencies, the key check among them)
    assert (await client.get("/no-such-route")).status_code == 404

    assert (await client.get("/jobs", headers={"X-API-Key": KEY})).status_code == 200
    assert (await client.get("/jobs", headers={"Authorization": f"Bearer {OTHER}"})).status_code \
        == 200
    assert (await client.get("/jobs", headers={"authorization": f"bearer {KEY}"})).status_code \
        == 200
    for headers in ({"X-API-Key": KEY + "x"}, {"X-API-Key": ""}, {"Authorization": KEY},
                    {"Authorization": f"Basic {KEY}"}, {"Authorization": "Bearer "}):
        r = await client.get("/jobs", headers=headers)
        assert r.status_code == 401, headers
        assert KEY not in r.text
    # a right key in the wrong scheme is told what to send, not that the key is wrong
    for value in (KEY, f"Basic {KEY}", f"users API-Key {KEY}"):
        r = await client.get("/jobs", headers={"Authorization": value})
        assert r.status_code == 401
        assert r.json()["error"]["message"] == ("the Authorization header must be 'Bearer "
                                                "<key>' (or send X-API-Key: <key>)")
    r = await client.get("/jobs", headers={"Authorization": "Bearer nope"})
    assert r.json()["error"]["message"] == "wrong API key"


async def test_keys_are_never_logged_nor_echoed(make_client):
    client = await make_client(api_keys=[KEY])
    with structlog.testing.capture_logs() as logs:
        ok = await client.post("/jobs", headers={"X-API-Key": KEY},
                               json={"crews": ["echo"], "inputs": {"story_text": "x"}})
        bad = await client.get("/jobs", headers={"Authorization": f"Bearer {KEY}-wrong"})
    assert ok.status_code == 202 and bad.status_code == 401
    requests = [entry for entry in logs if entry["event"] == "request"]
    assert [entry["key"] for entry in requests] == ["key-1", None]
    assert KEY not in repr(logs)
    assert KEY not in ok.text and KEY not in bad.text


async def test_rate_limit_per_key_with_retry_after(make_client):
    client = await make_client(api_keys=[KEY, OTHER], rate_limit_per_minute=3)
    mine = {"X-API-Key": KEY}
    for _ in range(3):
        assert (await client.get("/crews", headers=mine)).status_code == 200
    r = await client.get("/crews", headers=mine)
    assert r.status_code == 429
    assert r.json()["error"]["type"] == "rate_limited"
    # at most 3 in any 60 s: the first of the three is spent a minute after it was made
    assert 55 <= int(r.headers["retry-after"]) <= 60
    # another key has its own bucket
    assert (await client.get("/crews", headers={"X-API-Key": OTHER})).status_code == 200


async def test_rate_limit_by_client_ip_without_keys(make_client):
    client = await make_client(rate_limit_per_minute=2)
    assert (await client.get("/crews")).status_code == 200
    assert (await client.get("/jobs")).status_code == 200
    r = await client.post("/jobs", json={"crews": ["echo"]})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1


async def test_cors_preflight_and_headers(make_client):
    client = await make_client(api_keys=[KEY], cors_origins=["https://app.example"])
    r = await client.options("/crews/execute", headers={
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, content-type",
    })
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "x-api-key" in r.headers["access-control-allow-headers"].lower()

    denied = await client.get("/jobs", headers={"Origin": "https://app.example"})
    assert denied.status_code == 401  # the browser can read the error
    assert denied.headers["access-control-allow-origin"] == "https://app.example"

    r = await client.options("/crews/execute", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers
