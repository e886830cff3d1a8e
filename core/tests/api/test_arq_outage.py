"""With the arq backend, a real Redis going away makes /health 503 and job calls 503, not 500."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import structlog
from nc_api import make_settings
from nc_redis_server import start_redis

from novelcrew.api.app import create_app
from novelcrew_sdk.testing import stop_process


async def test_redis_outage_is_503(tmp_path: Path, plugins: Any) -> None:
    proc, url = start_redis(tmp_path)
    try:
        settings = make_settings(tmp_path, job_backend="arq", redis_url=url,
                                 queue_name="novelcrew:api-test")
        app = create_app(settings, plugins)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://t") as client:
                health = (await client.get("/health")).json()
                assert "novelcrew_backend_up 1.0" in (await client.get("/metrics")).text
                assert health["dependencies"]["backend"]["data"]["redis"] == "ok"
                job = await client.post("/jobs", json={"crews": ["echo"],
                                                       "inputs": {"story_text": "x"}})
                assert job.status_code == 202
                job_id = job.json()["id"]
                assert (await client.get(f"/jobs/{job_id}")).json()["status"] == "queued"

                proc.terminate()
                proc.wait(10)
                r = await client.get("/health")
                assert r.status_code == 503
                assert r.json()["dependencies"]["backend"]["status"] == "down"
                for method, path, body in [
                    ("POST", "/jobs", {"crews": ["echo"], "inputs": {"story_text": "x"}}),
                    ("GET", f"/jobs/{job_id}", None),
                    ("GET", "/jobs", None),
                    ("GET", f"/crews/status/{job_id}", None),
                    ("GET", "/stats", None),
                ]:
                    r = await client.request(method, path, json=body)
                    assert r.status_code == 503, (method, path, r.text)
                    body = r.json()
                    if path.startswith("/crews/"):  # Novel Movie's error shape
                        assert body["success"] is False and isinstance(body["error"], str)
                        assert body["error_type"] == "backend_unavailable"
                    else:
                        assert body["error"]["type"] == "backend_unavailable"
                scrape = await client.get("/metrics")
                assert scrape.status_code == 200
                # the queue depth it still shows is stale, and the scrape says so
                assert "novelcrew_backend_up 0.0" in scrape.text
                # each outage line is an event name with the cause as a field
                with structlog.testing.capture_logs() as logs:
                    await client.get(f"/jobs/{job_id}")
                    await client.get("/stats")
                    await client.get("/metrics")
                events = [(line["event"], line["log_level"]) for line in logs]
                assert ("backend_unavailable", "warning") in events, logs
                assert ("metrics_backend_stats_failed", "warning") in events, logs
                for line in logs:
                    assert " " not in line["event"], line
                    if line["event"] != "request":
                        assert "Connect" in line["error"], line
        finally:
            with contextlib.suppress(Exception):  # closing a link to a Redis that is gone
                await lifespan.__aexit__(None, None, None)
    finally:
        stop_process(proc, 10)
