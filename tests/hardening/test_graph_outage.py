"""Outages degrade, never destroy (#24), with a real ``novelcrew serve`` and a real PathRAG
service (``novelcrew-pathrag serve``) frozen with SIGSTOP (it accepts connections and never
answers, the worst kind of outage):

- the graph hangs: an ``architect,director`` job still succeeds, with a warning event; the
  architect's analysis is stored and the director plans from it; the graph writes wait in the
  outbox and reach the service once it answers again;
- every dependency hangs (the graph, Payload, the director's model): the job ends within
  ``NOVELCREW_JOB_TIMEOUT_SECONDS`` as failed with a clear error, the architect's finished work
  kept.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hardening_helpers import free_port, start_server, stop, wait_for

from novelcrew_sdk.openai_server import Fault, OpenAIServer
from novelcrew_sdk.testing import stop_process, wait_for_http


def a_story() -> str:
    return """# The Night Call

Maya Lindqvist climbed the lighthouse stairs at dusk. "The light never sleeps," she said.

Tom waited at the harbour with his lantern. "They signal at midnight," Tom said.

## Two

At midnight Maya saw the smugglers' ship beyond the reef. She ran down to the harbour.

Tom and Maya rowed out into the fog. "Hold the light steady," Maya said.
"""


@pytest.fixture
def pathrag(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real PathRAG service (our server of the upstream contract) on a free port."""
    port = free_port()
    script = Path(sys.executable).with_name("novelcrew-pathrag")
    log = tmp_path / "pathrag.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(script), "serve", "--port", str(port), "--data-dir", str(tmp_path / "graph"),
             "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", proc, timeout=60, log=log)
        yield url, proc
    finally:
        proc.send_signal(signal.SIGCONT)  # the tests hang it with SIGSTOP
        stop_process(proc, 10)


@pytest.fixture
def hanging_payload() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def graph_env(url: str) -> dict[str, str]:
    return {"NOVELCREW_PLUGINS": "architect,director,pathrag,payload",
            "NOVELCREW_PLUGIN_MODULES": "", "NOVELCREW_DEFAULT_MODEL": "offline",
            "NOVELCREW_PATHRAG_URL": url, "NOVELCREW_PATHRAG_TIMEOUT": "2",
            "NOVELCREW_PATHRAG_RETRIES": "1", "NOVELCREW_PATHRAG_OUTBOX_RETRY_MAX_SECONDS": "1"}


def submit(url: str, project: str) -> str:
    response = httpx.post(f"{url}/jobs", timeout=30, json={
        "crews": ["architect", "director"], "project_id": project,
        "inputs": {"story_text": a_story()}})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def job(url: str, job_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/jobs/{job_id}", timeout=30).json())


def events(url: str, job_id: str) -> list[dict[str, Any]]:
    """A finished job's event log (its stream ends after the terminal event)."""
    text = httpx.get(f"{url}/jobs/{job_id}/events", timeout=30).text
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


def queued_writes(url: str) -> int:
    health = httpx.get(f"{url}/health", timeout=30).json()
    return int(health["dependencies"]["tool:kg_query"]["data"].get("queued_writes", 0))


def test_a_hanging_graph_delays_the_graph_not_the_job(
        tmp_path: Path, pathrag: tuple[str, subprocess.Popen[bytes]]) -> None:
    graph_url, graph = pathrag
    proc, url = start_server(tmp_path / "data", tmp_path / "server.log", **graph_env(graph_url))
    try:
        graph.send_signal(signal.SIGSTOP)
        job_id = submit(url, "1")
        wait_for(lambda: job(url, job_id)["status"] in ("succeeded", "failed"), 240, "the job")
        done = job(url, job_id)
        assert done["status"] == "succeeded", done["error"]
        analysis, plan = done["result"]["architect"], done["result"]["director"]
        assert analysis["graph"]["queued_writes"] >= 1
        assert plan["scenes"] and len(plan["scenes"]) == len(analysis["scenes"])
        warnings = [e["message"] for e in events(url, job_id) if e["type"] == "warning"]
        assert any("queued" in w for w in warnings), warnings
        assert queued_writes(url) >= 1

        graph.send_signal(signal.SIGCONT)
        wait_for(lambda: queued_writes(url) == 0, 60, "the outbox to drain")
        listing = httpx.get(f"{url}/projects/1/graph", timeout=30).json()
        names = {e["name"] for e in listing["entities"]}
        assert "Maya Lindqvist" in names or "Maya" in names, sorted(names)[:20]
        assert sum(e["type"] == "scene" for e in listing["entities"]) == len(analysis["scenes"])
    finally:
        stop(proc)


def test_with_every_dependency_hanging_the_job_ends_within_its_bound(
        tmp_path: Path, pathrag: tuple[str, subprocess.Popen[bytes]],
        hanging_payload: str) -> None:
    graph_url, graph = pathrag
    bound = 30.0
    with OpenAIServer() as provider:
        provider.queue(*[Fault.hang(600) for _ in range(50)])
        env = {**graph_env(graph_url),
               "NOVELCREW_JOB_TIMEOUT_SECONDS": str(bound),
               "NOVELCREW_CREW_MODELS": "director=openai/hangs",
               "NOVELCREW_OPENAI_BASE_URL": f"{provider.url}/v1",
               "NOVELCREW_OPENAI_API_KEY": "sk-test",
               "NOVELCREW_MODEL_TIMEOUT_SECONDS": "3", "NOVELCREW_MODEL_MAX_RETRIES": "20",
               "NOVELCREW_MODEL_BACKOFF_SECONDS": "0.1",
               "NOVELCREW_PAYLOAD_URL": hanging_payload,
               "NOVELCREW_PAYLOAD_API_KEY": "payload-key",
               "NOVELCREW_PAYLOAD_TIMEOUT_SECONDS": "1",
               "NOVELCREW_PAYLOAD_UPDATE_BUDGET_SECONDS": "4"}
        proc, url = start_server(tmp_path / "data", tmp_path / "server.log", **env)
        try:
            graph.send_signal(signal.SIGSTOP)
            job_id = submit(url, "2")
            wait_for(lambda: job(url, job_id)["status"] == "running", 60, "the job to start")
            started = time.monotonic()
            wait_for(lambda: job(url, job_id)["status"] in ("succeeded", "failed"),
                     bound + 60, "the job to end")
            took = time.monotonic() - started
            done = job(url, job_id)
            assert done["status"] == "failed"
            assert done["error"]["type"] == "timeout"
            assert f"{bound:g}s" in done["error"]["message"]
            assert done["error"]["crew"] == "director"
            assert done["result"]["architect"]["scenes"]  # finished work kept
            assert "director" not in done["result"]
            assert took < bound + 30, took  # the bound holds, give or take the stop
            assert provider.calls  # the director really was waiting on its model
        finally:
            stop(proc)
