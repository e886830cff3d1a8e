"""Graph writes survive a PathRAG outage (#24): while the real service (``novelcrew-pathrag
serve``) is down or hangs, writes answer ``queued`` within their deadline and wait in the outbox
under the data directory, in order; once the service answers again the outbox drains by itself
and the graph holds what was written. A new process finds and replays what an earlier one left.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pathrag_helpers import free_port, story_graph, wait_http

from novelcrew.context import ToolContext
from novelcrew.settings import Settings
from novelcrew_pathrag.backends.base import backend_for, reset_backends

#: seconds one request may take in these tests (a hanging service is cut off after it)
TIMEOUT = 1.0
#: a generous bound on a write to a dead or hanging service (a behaviour, not a benchmark:
#: without a deadline the write would wait forever)
WRITE_BOUND = 30.0


def serve_on(port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("novelcrew-pathrag")
    process = subprocess.Popen(
        [str(script), "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/health", process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGCONT)
    process.terminate()
    process.wait(10)


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, _env_file=None, plugin_config={"pathrag": {
        "url": url, "timeout": TIMEOUT, "retries": 0, "outbox_retry_max_seconds": 0.5}})


def tool(registry: Any, settings: Settings, name: str, project: str) -> Any:
    return registry.tool(name).factory(ToolContext(settings=settings, project_id=project))


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def names(registry: Any, settings: Settings, project: str) -> set[str]:
    result = asyncio.run(tool(registry, settings, "kg_query", project).acall(
        query="Maya lighthouse Tom", top_k=50))
    return {e.name for e in result.entities}


def test_writes_queue_while_the_service_is_down_and_drain_when_it_is_back(
        tmp_path: Path, registry: Any) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = serve_on(port, tmp_path / "graph")
    settings = settings_for(url, tmp_path / "data")
    project = f"down-{os.getpid()}"
    try:
        stop(service)
        new_version = tool(registry, settings, "kg_new_version", project)
        insert = tool(registry, settings, "kg_insert_custom_kg", project)
        started = time.monotonic()
        version = asyncio.run(new_version.acall(keep_previous=1))
        counts = asyncio.run(insert.acall(custom_kg=story_graph()))
        assert time.monotonic() - started < WRITE_BOUND
        assert version.queued and counts.queued
        assert counts.entities == len(story_graph()["entities"])
        backend = backend_for(settings)
        assert backend.pending_writes() == 2  # type: ignore[attr-defined]
        health = asyncio.run(backend.health())
        assert health.status == "down" and health.data["queued_writes"] == 2

        service = serve_on(port, tmp_path / "graph")
        wait_until(lambda: backend.pending_writes() == 0, 30,  # type: ignore[attr-defined]
                   "the outbox to drain")
        assert {"Maya", "Tom", "The Lighthouse"} <= names(registry, settings, project)
    finally:
        stop(service)
        reset_backends()


def test_a_hanging_service_is_cut_off_and_written_once_it_answers(
        tmp_path: Path, registry: Any) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = serve_on(port, tmp_path / "graph")
    settings = settings_for(url, tmp_path / "data")
    project = f"hang-{os.getpid()}"
    try:
        insert = tool(registry, settings, "kg_insert_custom_kg", project)
        service.send_signal(signal.SIGSTOP)  # accepts connections, never answers
        started = time.monotonic()
        counts = asyncio.run(insert.acall(custom_kg=story_graph()))
        assert time.monotonic() - started < WRITE_BOUND
        assert counts.queued
        backend = backend_for(settings)
        assert backend.pending_writes() == 1  # type: ignore[attr-defined]
        service.send_signal(signal.SIGCONT)
        wait_until(lambda: backend.pending_writes() == 0, 30,  # type: ignore[attr-defined]
                   "the outbox to drain")
        assert {"Maya", "Tom"} <= names(registry, settings, project)
    finally:
        stop(service)
        reset_backends()


def test_a_new_process_replays_what_an_earlier_one_left(tmp_path: Path, registry: Any) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = serve_on(port, tmp_path / "graph")
    settings = settings_for(url, tmp_path / "data")
    project = f"restart-{os.getpid()}"
    try:
        stop(service)
        counts = asyncio.run(tool(registry, settings, "kg_insert_custom_kg", project)
                             .acall(custom_kg=story_graph()))
        assert counts.queued
        reset_backends()  # as if the process ended: the queue stays on disk

        service = serve_on(port, tmp_path / "graph")
        backend = backend_for(settings)  # a new process's first use of the graph
        wait_until(lambda: backend.pending_writes() == 0, 30,  # type: ignore[attr-defined]
                   "the outbox to drain")
        assert {"Maya", "Tom"} <= names(registry, settings, project)
    finally:
        stop(service)
        reset_backends()
