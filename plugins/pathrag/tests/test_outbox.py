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
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pathrag_helpers import free_port, serve, stop, story_graph

from novelcrew.context import ToolContext
from novelcrew.settings import Settings
from novelcrew_pathrag.backends.base import backend_for, reset_backends

#: seconds one request may take in these tests (a hanging service is cut off after it)
TIMEOUT = 1.0
#: a generous bound on a write to a dead or hanging service (a behaviour, not a benchmark:
#: without a deadline the write would wait forever)
WRITE_BOUND = 30.0


class GraphService:
    """A real ``novelcrew-pathrag serve`` on a port of its own, stopped and started again there
    (or hung with SIGSTOP), and settings whose graph writes go to it."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.graph_dir = tmp_path / "graph"
        self.settings = settings_for(f"http://127.0.0.1:{self.port}", tmp_path / "data")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        _, self.process = serve(self.graph_dir, port=self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a hung one ends too
            stop(self.process)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[GraphService]:
    """The graph service, up; stopped and the plugin's backends forgotten afterwards."""
    service = GraphService(tmp_path)
    service.start()
    try:
        yield service
    finally:
        service.stop()
        reset_backends()


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
        service: GraphService, registry: Any) -> None:
    settings = service.settings
    project = f"down-{os.getpid()}"
    service.stop()
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

    service.start()
    wait_until(lambda: backend.pending_writes() == 0, 30,  # type: ignore[attr-defined]
               "the outbox to drain")
    assert {"Maya", "Tom", "The Lighthouse"} <= names(registry, settings, project)


def test_a_hanging_service_is_cut_off_and_written_once_it_answers(
        service: GraphService, registry: Any) -> None:
    settings = service.settings
    project = f"hang-{os.getpid()}"
    insert = tool(registry, settings, "kg_insert_custom_kg", project)
    assert service.process is not None
    service.process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
    started = time.monotonic()
    counts = asyncio.run(insert.acall(custom_kg=story_graph()))
    assert time.monotonic() - started < WRITE_BOUND
    assert counts.queued
    backend = backend_for(settings)
    assert backend.pending_writes() == 1  # type: ignore[attr-defined]
    service.process.send_signal(signal.SIGCONT)
    wait_until(lambda: backend.pending_writes() == 0, 30,  # type: ignore[attr-defined]
               "the outbox to drain")
    assert {"Maya", "Tom"} <= names(registry, settings, project)


def test_a_new_process_replays_what_an_earlier_one_left(
        service: GraphService, registry: Any) -> None:
    settings = service.settings
    project = f"restart-{os.getpid()}"
    service.stop()
    counts = asyncio.run(tool(registry, settings, "kg_insert_custom_kg", project)
                         .acall(custom_kg=story_graph()))
    assert counts.queued
    reset_backends()  # as if the process ended: the queue stays on disk

    service.start()
    backend = backend_for(settings)  # a new process's first use of the graph
    wait_until(lambda: backend.pending_writes() == 0, 30,  # type: ignore[attr-defined]
               "the outbox to drain")
    assert {"Maya", "Tom"} <= names(registry, settings, project)
