"""Over real HTTP: a uvicorn server on a free port streams events live and resumes them;
``novelcrew serve`` honours its flags; the API process does not import crewAI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apicrews
import httpx
import pytest
from apihelpers import served
from nc_api import make_settings

from novelcrew.api.app import create_app
from novelcrew_sdk.testing import free_port, wait_for_http


@pytest.fixture
def live_url(tmp_path: Path, plugins: Any) -> Iterator[str]:
    app = create_app(make_settings(tmp_path), plugins)
    app.state.sse_keepalive = 0.1
    with served(app) as url:
        yield url


def sse_items(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Events (and ``{"comment": ...}`` lines) of a streaming SSE response as they arrive."""
    current: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif line:
            name, _, value = line.partition(": ")
            current[name] = value
        elif current:
            yield current
            current = {}


def read_events(response: httpx.Response, stop_after: str | None = None) -> list[dict[str, Any]]:
    """Everything until the server closes the stream, or until an event of type ``stop_after``."""
    out: list[dict[str, Any]] = []
    for item in sse_items(response):
        out.append(item)
        if stop_after is not None and item.get("event") == stop_after:
            break
    return out


def test_sse_streams_live_and_resumes_from_last_event_id(live_url: str) -> None:
    with httpx.Client(base_url=live_url, timeout=10) as client:
        job_id = client.post("/jobs", json={"crews": ["gated"],
                                            "inputs": {"gate": "live", "steps": 2}}).json()["id"]
        # first connection: read up to the first task, then drop the connection mid-job
        with client.stream("GET", f"/jobs/{job_id}/events") as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            first = [e for e in read_events(r, stop_after="task_started") if "id" in e]
        assert first[0]["event"] == "queued" and first[-1]["event"] == "task_started"
        last_seen = int(first[-1]["id"])

        # reconnect where we left off; the job is held, so the stream idles with keep-alives,
        # then the gate opens and the rest arrives live
        rest: list[dict[str, Any]] = []
        with client.stream("GET", f"/jobs/{job_id}/events",
                           headers={"Last-Event-ID": str(last_seen)}) as r:
            for item in sse_items(r):  # ends by itself: the server closes after the last event
                rest.append(item)
                if item == {"comment": "keep-alive"}:
                    apicrews.open_gate("live")
        assert {"comment": "keep-alive"} in rest
        events = [e for e in rest if "id" in e]
        seqs = [int(e["id"]) for e in events]
        assert seqs == list(range(last_seen + 1, last_seen + 1 + len(seqs)))
        assert events[-1]["event"] == "succeeded"
        assert json.loads(events[-1]["data"])["type"] == "succeeded"
        assert [e["event"] for e in events].count("task_finished") == 2

        # a finished job's stream replays everything and closes; ?after= works as well
        with client.stream("GET", f"/jobs/{job_id}/events", params={"after": seqs[-2]}) as r:
            tail = [e for e in read_events(r) if "id" in e]
        assert [int(e["id"]) for e in tail] == seqs[-1:]
        assert client.get(f"/jobs/{job_id}").json()["status"] == "succeeded"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    env.update(extra)
    return env


def test_novelcrew_serve_flags_override_settings(tmp_path: Path) -> None:
    port = free_port()
    exe = Path(sys.executable).parent / "novelcrew"
    env = _env(NOVELCREW_PLUGINS="", NOVELCREW_PORT="1", NOVELCREW_DATA_DIR=str(tmp_path / "no"))
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp_path / "data"), "--backend", "inline"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", proc, timeout=60)
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        assert r.status_code == 200
        assert r.json()["dependencies"]["backend"]["detail"] == "inline"
        assert (tmp_path / "data" / "jobs.sqlite3").exists()
        assert not (tmp_path / "no").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


CHECK_NO_CREWAI = """
import sys
from fastapi.testclient import TestClient
from novelcrew.api.app import create_app
from novelcrew.settings import Settings

app = create_app(Settings(_env_file=None, data_dir=sys.argv[1]))
with TestClient(app) as client:
    for path in ("/health", "/crews", "/plugins", "/tools", "/stats", "/openapi.json"):
        assert client.get(path).status_code == 200, path
loaded = sorted(m for m in sys.modules if m == "crewai" or m.startswith("crewai."))
print("crewai modules:", loaded[:5])
sys.exit(1 if loaded else 0)
"""


def test_serving_the_api_does_not_import_crewai(tmp_path: Path) -> None:
    """Every installed plugin loads, /health and the listings answer, and crewAI stays out."""
    done = subprocess.run([sys.executable, "-c", CHECK_NO_CREWAI, str(tmp_path / "data")],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
