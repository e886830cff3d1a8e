"""A 1 MB story of repeated words with no punctuation (one endless "sentence") never freezes
the server: the architect's splitting, merging and graph building run in a worker thread with
linear-time algorithms, the offline model answers in crewAI's threads, and ``/health`` keeps
answering while the story is analysed. The story finishes in bounded time.

The latency bound is a behaviour a load balancer relies on (a probe that waits more than a
second marks the server down), so it is asserted here on the median of many probes, which
stays robust when the machine is shared.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
from hardening_helpers import start_server, stop, wait_for

STORY_BYTES = 1_000_000
#: generous: the story takes about 15 s on a quiet 2-core machine
JOB_BOUND_SECONDS = 300


def repeated_words(size: int) -> str:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
             "kappa"]
    out: list[str] = []
    total = i = 0
    while total < size:
        word = words[i % len(words)]
        out.append(word)
        total += len(word) + 1
        i += 1
    return " ".join(out)


def run_architect(url: str, story: str, project: str) -> str:
    response = httpx.post(f"{url}/jobs", timeout=60, json={
        "crews": ["architect"], "project_id": project, "inputs": {"story_text": story}})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def status_of(url: str, job_id: str) -> str:
    return str(httpx.get(f"{url}/jobs/{job_id}", timeout=60).json()["status"])


def test_health_answers_while_a_1mb_story_without_punctuation_is_analysed(
        tmp_path: Path) -> None:
    proc, url = start_server(tmp_path / "data", tmp_path / "server.log",
                             NOVELCREW_PLUGINS="architect,pathrag", NOVELCREW_PLUGIN_MODULES="",
                             NOVELCREW_DEFAULT_MODEL="offline")
    try:
        # warm: crewAI's import at the first job is a one-off, not the story's work
        warm = run_architect(url, "Maya walked home. She was tired.", "warm")
        wait_for(lambda: status_of(url, warm) == "succeeded", 180, "the warm-up job")

        story = repeated_words(STORY_BYTES)
        started = time.monotonic()
        job_id = run_architect(url, story, "big")
        latencies: list[float] = []
        status = "queued"
        while status not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() - started < JOB_BOUND_SECONDS, "the story did not finish"
            sent = time.monotonic()
            assert httpx.get(f"{url}/health", timeout=30).status_code == 200
            latencies.append(time.monotonic() - sent)
            if len(latencies) % 5 == 0:
                status = status_of(url, job_id)
            time.sleep(0.1)
        job = httpx.get(f"{url}/jobs/{job_id}", timeout=60).json()
        assert status == "succeeded", job["error"]
        stats = job["result"]["architect"]["statistics"]
        assert stats["characters_in_text"] == len(story)
        assert stats["chunks"] > 10  # it really was cut, at word boundaries
        assert len(latencies) >= 10, latencies
        assert statistics.median(latencies) < 1.0, sorted(latencies)[-10:]
    finally:
        stop(proc)
