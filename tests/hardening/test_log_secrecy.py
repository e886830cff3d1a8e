"""Logs never hold story text or results: a real server is driven down every failure path that
logs (a webhook that cannot be delivered, plugin code raising with the story in its frames or
returning an output that quotes it, a model provider failing, the job store unable to write,
Payload and the PathRAG service unreachable), with a story carrying a unique marker, and the
marker is in none of the server's output (JSON log lines on stderr, and stdout).

Each path is checked to have really been taken (its log line is there), so a path that
stopped logging cannot make the test pass by silence.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from hardening_helpers import fill, free_port, start_server, stop, wait_for

from novelcrew_sdk.openai_server import Fault, OpenAIServer


def submit(url: str, crews: list[str], inputs: dict[str, Any], **extra: Any) -> str:
    response = httpx.post(f"{url}/jobs", timeout=30,
                          json={"crews": crews, "inputs": inputs, **extra})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def job(url: str, job_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/jobs/{job_id}", timeout=30).json())


def ended(url: str, job_id: str) -> bool:
    return job(url, job_id)["status"] in ("succeeded", "failed", "cancelled")


def test_no_failure_path_logs_the_story_or_a_result(tmp_path: Path, tmpfs: Path) -> None:
    # short enough that pydantic would quote it whole in a validation error
    marker = f"MK{uuid.uuid4().hex[:12]}"
    story = (f"{marker} Maya Lindqvist walked home through the rain. {marker}\n\n"
             f"\"I saw it,\" said Maya. The lighthouse was dark. {marker}")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    log = tmp_path / "server.log"
    with OpenAIServer() as provider:
        provider.queue(*[Fault.server_error() for _ in range(200)])
        proc, url = start_server(
            tmpfs / "data", log,
            NOVELCREW_PLUGINS="architect,pathrag,payload",
            NOVELCREW_LOG_FORMAT="json",
            NOVELCREW_JOB_MAX_ATTEMPTS="1",
            NOVELCREW_OPENAI_BASE_URL=f"{provider.url}/v1", NOVELCREW_OPENAI_API_KEY="sk-test",
            NOVELCREW_MODEL_MAX_RETRIES="1", NOVELCREW_MODEL_BACKOFF_SECONDS="0.05",
            NOVELCREW_WEBHOOK_ALLOW="127.0.0.1", NOVELCREW_WEBHOOK_RETRIES="1",
            NOVELCREW_WEBHOOK_BACKOFF_SECONDS="0.05",
            NOVELCREW_PAYLOAD_URL=closed, NOVELCREW_PAYLOAD_API_KEY="payload-key-123",
            NOVELCREW_PAYLOAD_RETRIES="0", NOVELCREW_PAYLOAD_UPDATE_BUDGET_SECONDS="2",
            NOVELCREW_PATHRAG_URL=closed, NOVELCREW_PATHRAG_RETRIES="0",
            NOVELCREW_PATHRAG_TIMEOUT="2",
        )
        try:
            # plugin code raising, with the story in its frames; webhook and Payload failing
            broke = submit(url, ["explode"], {"story_text": story}, project_id="101",
                           webhook_url=f"{closed}/hook")
            # plugin code returning an output that quotes the story
            bad = submit(url, ["explode"], {"story_text": story, "bad_output": True},
                         project_id="102")
            # the graph unreachable (offline model, so the analysis gets that far)
            graph = submit(url, ["architect"], {"story_text": story}, project_id="103",
                           config={"model": "offline"})
            # the model provider failing every call
            model = submit(url, ["architect"], {"story_text": story}, project_id="104",
                           config={"model": "openai/fails"})
            for job_id in (broke, bad, graph, model):
                wait_for(lambda j=job_id: ended(url, j), 120, f"job {job_id} to end")
            assert job(url, broke)["status"] == "failed"
            assert job(url, bad)["status"] == "failed"
            assert "words: Input should be a valid integer" in job(url, bad)["error"]["message"]
            assert marker not in json.dumps(job(url, bad)["error"])  # logged as it is stored
            assert job(url, model)["status"] == "failed"
            assert job(url, graph)["status"] == "succeeded"  # the graph outage is a warning
            assert marker in json.dumps(job(url, graph)["result"])  # results are data, kept

            # the store unable to write while a job finishes, then space again
            gate = tmp_path / "gate"
            stuck = submit(url, ["gated"], {"story_text": story, "gate": str(gate)})
            wait_for(lambda: job(url, stuck)["status"] == "running", 30, "running")
            filler = fill(tmpfs)
            gate.touch()
            wait_for(lambda: "inline_job_waits_for_store" in log.read_text(), 60,
                     "the store error")
            refused = httpx.post(f"{url}/jobs", timeout=30, json={
                "crews": ["gated"], "inputs": {"story_text": story}})
            assert refused.status_code == 503, refused.text
            filler.unlink()
            wait_for(lambda: job(url, stuck)["status"] == "succeeded", 60, "recovery")
            wait_for(lambda: "webhook_failed" in log.read_text(), 30, "the webhook to fail")
        finally:
            stop(proc)

    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    events = [str(line.get("event", "")) for line in lines]

    def logged(fragment: str) -> bool:
        return any(fragment in event for event in events)

    # every path was taken and logged
    assert logged("webhook_failed")
    assert logged("observer_failed")  # Payload unreachable
    assert logged("pathrag")  # the graph service unreachable
    assert logged("model_call_failed")
    assert logged("inline_job_waits_for_store")
    assert any(line.get("exception") for line in lines), "no traceback was logged"
    # and the story is in none of it (nor in anything printed)
    leaks = [line for line in text.splitlines() if marker in line]
    assert not leaks, "\n".join(leak[:400] for leak in leaks[:5])
    assert "payload-key-123" not in text and "sk-test" not in text
