"""Health, stats, metrics, the plugin listings and the OpenAPI document."""

from __future__ import annotations

from apihelpers import wait_job

from novelcrew.introspect import plugin_list


async def test_health_503_when_the_job_backend_is_down(client):
    backend = client.app.state.backend
    await backend.store.close()  # the SQLite store goes away under the running server
    r = await client.get("/health")
    assert r.status_code == 503
    assert r.json()["dependencies"]["backend"]["status"] == "down"
    r = await client.get("/stats")
    assert r.status_code == 503
    assert r.json()["error"]["type"] == "backend_unavailable"
    await backend.store.open()  # so the fixture can stop it cleanly


async def test_stats_counts_durations_and_uptime(client):
    ids = [(await client.post("/jobs", json={"crews": ["echo", "shout"],
                                             "inputs": {"story_text": f"s {i}"}})).json()["id"]
           for i in range(3)]
    for job_id in ids:
        await wait_job(client, job_id, "succeeded")
    stats = (await client.get("/stats")).json()
    assert stats["backend"] == "inline"
    assert stats["counts"]["succeeded"] == 3 and stats["counts"]["queued"] == 0
    assert stats["queue_depth"] == 0
    assert stats["crew_durations"]["echo"]["count"] == 3
    assert stats["crew_durations"]["shout"]["count"] == 3
    echo = stats["crew_durations"]["echo"]
    assert 0 <= echo["p50"] <= echo["p95"]
    assert stats["uptime_seconds"] > 0
    assert stats["usage"] == {} and stats["usage_jobs"] == 3  # these crews call no model


async def test_metrics_export_jobs_http_and_queue_depth(client):
    job_id = (await client.post("/jobs", json={"crews": ["echo"],
                                               "inputs": {"story_text": "x"}})).json()["id"]
    await wait_job(client, job_id, "succeeded")
    await client.get("/jobs/nosuch")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'novelcrew_jobs_submitted_total{crew="echo"}' in text
    assert 'novelcrew_jobs_finished_total{crew="echo",status="succeeded"}' in text
    assert 'novelcrew_job_duration_seconds_count{crew="echo"}' in text
    assert 'novelcrew_crew_duration_seconds_count{crew="echo"}' in text
    assert "novelcrew_queue_depth 0.0" in text
    assert 'novelcrew_jobs{status="succeeded"}' in text
    assert ('novelcrew_http_requests_total{method="GET",route="/jobs/{job_id}",status="404"}'
            in text)
    assert "# TYPE novelcrew_model_calls_total counter" in text  # the model layer's own


async def test_metrics_carry_the_webhook_counters_stats_shows(client):
    """Every counter ``/stats`` shows has its series in ``/metrics`` (the arq workers' are
    checked in core/tests/arq/test_worker.py)."""
    webhooks = (await client.get("/stats")).json()["backend_stats"]["webhooks"]
    assert set(webhooks) == {"delivered", "failed", "abandoned", "pending"}
    text = (await client.get("/metrics")).text
    for outcome, count in webhooks.items():
        line = (f"novelcrew_webhooks_pending {float(count)}" if outcome == "pending" else
                f'novelcrew_webhook_deliveries{{outcome="{outcome}"}} {float(count)}')
        assert line in text.splitlines(), line


async def test_listings_match_the_cli(client, plugins):
    assert (await client.get("/plugins")).json() == plugin_list(plugins)
    tools = (await client.get("/tools")).json()
    assert tools == [{"name": "probe", "description": "Does nothing; has a health check.",
                      "plugin": "apicrews", "has_health_check": True}]
    providers = {m["provider"] for m in (await client.get("/models")).json()}
    assert {"offline", "openai", "openrouter"} <= providers
    crews = {c["name"]: c for c in (await client.get("/crews")).json()}
    assert set(crews) == {"boom", "echo", "gated", "shout", "strict"}
    assert crews["echo"]["plugin"] == "apicrews"
    detail = (await client.get("/crews/strict")).json()
    assert detail["input_schema"]["required"] == ["story_text", "scenes"]
    assert detail["output_schema"]["properties"]["words"]["type"] == "integer"


async def test_openapi_describes_every_route_with_models_and_errors(make_client):
    client = await make_client(api_keys=["k"])
    doc = (await client.get("/openapi.json", headers={"X-API-Key": "k"})).json()
    paths = doc["paths"]
    expected = {
        ("/crews/execute", "post"), ("/crews/status/{job_id}", "get"), ("/crews/list", "get"),
        ("/crews", "get"),
        ("/crews/{name}", "get"), ("/jobs", "post"), ("/jobs", "get"), ("/jobs/{job_id}", "get"),
        ("/jobs/{job_id}/events", "get"), ("/jobs/{job_id}/cancel", "post"),
        ("/jobs/{job_id}/retry", "post"),
        ("/plugins", "get"), ("/tools", "get"), ("/models", "get"), ("/health", "get"),
        ("/stats", "get"), ("/metrics", "get"), ("/jobs/{job_id}/export/{fmt}", "get"),
        ("/exports", "get"), ("/projects/{project_id}/graph", "get"),
    }
    assert {(p, m) for p, ops in paths.items() for m in ops} == expected
    for path, method in expected:
        op = paths[path][method]
        assert "200" in op["responses"] or "202" in op["responses"], (path, method)
        # Novel Movie's routes answer their guard's 429 (and 401) in the original's shape
        shape = "CompatError" if path in ("/crews/execute", "/crews/status/{job_id}",
                                          "/crews/list") else "ErrorResponse"
        error_ref = {"$ref": f"#/components/schemas/{shape}"}
        assert op["responses"]["429"]["content"]["application/json"]["schema"] == error_ref
        if path == "/health":
            assert "security" not in op and "401" not in op["responses"]
        else:
            assert op["security"] == [{"ApiKeyHeader": []}, {"BearerAuth": []}]
            assert "401" in op["responses"]
    post_jobs = paths["/jobs"]["post"]["responses"]
    assert {"202", "400", "404", "413", "422", "503"} <= set(post_jobs)
    assert post_jobs["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobPublic"}
    assert paths["/jobs/{job_id}/cancel"]["post"]["responses"]["409"]
    assert "text/event-stream" in paths["/jobs/{job_id}/events"]["get"]["responses"]["200"][
        "content"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]


async def test_the_server_address_and_ui_lead_to_the_dashboard(client):
    """A browser at ``/`` or ``/ui`` is sent on to the page (relative, so a path prefix holds),
    which is served without a key and never cached stale."""
    for path in ("/", "/ui"):
        r = await client.get(path)
        assert (r.status_code, r.headers["location"]) == (307, "ui/"), path
    page = await client.get("/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
