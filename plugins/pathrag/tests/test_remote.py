"""The remote client against real HTTP servers: faults, timeouts, statuses, upstream's plain text.

Faults come from a small real server on a free loopback port whose behaviour each test sets:
fail N times with a status, hang, or answer like upstream.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pathrag_helpers import free_port, story_graph

from novelcrew_pathrag import CustomKG, GraphRequestError, GraphUnavailable, QueryRequest
from novelcrew_pathrag.backends.remote import RemoteBackend
from novelcrew_pathrag.errors import TransientError


@dataclass
class Script:
    """What the fault server does: ``fail`` first requests get ``status``; then ``reply``."""

    fail: int = 0
    status: int = 503
    hang: float = 0.0
    reply_status: int = 201
    reply: dict[str, Any] = field(default_factory=lambda: {"message": "ok"})
    seen: list[tuple[str, str, Any]] = field(default_factory=list)


@pytest.fixture
def fault_server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            script.seen.append((self.command, self.path, body))
            if script.hang:
                time.sleep(script.hang)
            if len(script.seen) <= script.fail:
                status, payload = script.status, {
                    "error": "boom", "message": "Failed to query PathRAG", "type": "Error"}
            else:
                status, payload = script.reply_status, script.reply
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def client(url: str, **kwargs: Any) -> RemoteBackend:
    options = {"retries": 3, "backoff": 0.01, "max_backoff": 0.05, "timeout": 5.0}
    return RemoteBackend(url, **{**options, **kwargs})


async def test_5xx_is_retried_then_succeeds(fault_server: tuple[str, Script]) -> None:
    url, script = fault_server
    script.fail, script.status = 2, 500
    script.reply = {"message": "Successfully inserted custom knowledge graph", "chunks_count": 4,
                    "entities_count": 13, "relationships_count": 18, "timestamp": "now"}
    counts = await client(url).insert_custom_kg("p1", CustomKG.model_validate(story_graph()))
    assert (counts.chunks, counts.entities, counts.relationships) == (4, 13, 18)
    assert len(script.seen) == 3
    # every attempt sent the whole graph, scoped to the project
    body = script.seen[-1][2]["custom_kg"]
    assert {e["entity_name"] for e in body["entities"]} >= {"p1::Maya", "p1::Scene 1"}
    assert all(r["src_id"].startswith("p1::") and r["source_id"].startswith("p1::")
               for r in body["relationships"])


async def test_persistent_5xx_is_a_transient_error(fault_server: tuple[str, Script]) -> None:
    url, script = fault_server
    script.fail, script.status = 100, 503
    with pytest.raises(GraphUnavailable) as info:
        await client(url, retries=2).query("p1", QueryRequest(query="Maya"))
    assert isinstance(info.value, TransientError)  # so the job can be retried
    assert "HTTP 503" in info.value.message and "3 attempts" in info.value.message
    assert len(script.seen) == 3


async def test_4xx_fails_at_once_with_the_service_message(
    fault_server: tuple[str, Script]
) -> None:
    url, script = fault_server
    script.fail, script.status = 100, 400
    with pytest.raises(GraphRequestError) as info:
        await client(url).insert_custom_kg("p1", CustomKG())
    assert not isinstance(info.value, TransientError)
    assert "HTTP 400" in info.value.message and "Failed to query PathRAG" in info.value.message
    assert len(script.seen) == 1


async def test_a_hanging_service_times_out(fault_server: tuple[str, Script]) -> None:
    url, script = fault_server
    script.hang = 3.0
    started = time.monotonic()
    with pytest.raises(GraphUnavailable) as info:
        await client(url, timeout=0.3, retries=1).query("p1", QueryRequest(query="Maya"))
    assert "timed out" in info.value.message
    assert time.monotonic() - started < 2.5
    assert len(script.seen) == 2


async def test_nothing_listening_is_a_transient_error() -> None:
    with pytest.raises(GraphUnavailable) as info:
        await client(f"http://127.0.0.1:{free_port()}", retries=1).delete_entity("p", "Maya")
    assert "cannot connect" in info.value.message


async def test_200_and_201_are_both_success(fault_server: tuple[str, Script]) -> None:
    url, script = fault_server
    for status in (200, 201):
        script.reply_status = status
        script.reply = {"message": "ok", "entity_name": "p1::Maya"}
        assert (await client(url).delete_entity("p1", "Maya")).deleted is True
    assert script.seen[-1][:2] == ("DELETE", "/delete_entity")
    assert script.seen[-1][2] == {"entity_name": "p1::Maya"}


async def test_upstream_text_answers_are_parsed_and_filtered(
    fault_server: tuple[str, Script]
) -> None:
    """Upstream returns only ``result`` text, upper-cases names and mixes projects."""
    url, script = fault_server
    script.reply_status = 200
    script.reply = {"query": "maya", "params": {}, "timestamp": "t", "result": (
        "-----high-level entity information-----\n```csv\n"
        "id,\tentity,\ttype,\tdescription,\trank\n"
        '0,\t"P1::MAYA",\t"CHARACTER",\tThe keeper\'s daughter.,\t3\n'
        '1,\t"P2::MAYA",\t"CHARACTER",\tAn astronaut on Mars.,\t2\n'
        "```\n-----Sources-----\n```csv\nid,\tsource_id,\tcontent\n"
        "0,\tp1::chunk-1,\tMaya trims the lantern.\n"
        "1,\tp2::chunk-1,\tMaya lands on Mars.\n```\n"
    )}
    result = await client(url).query("p1", QueryRequest(query="Maya"))
    sent = script.seen[-1][2]
    assert sent["params"]["mode"] == "hybrid" and sent["params"]["scope"] == "p1"
    assert [(e.name, e.type) for e in result.entities] == [("MAYA", "character")]
    assert [c.content for c in result.chunks] == ["Maya trims the lantern."]
    assert "Mars" not in result.context and "P1::" not in result.context.upper()


async def test_client_against_upstream_like_server(plain_server_url: str) -> None:
    """``serve --plain`` answers like upstream: text only, no scopes; isolation still holds."""
    remote = client(plain_server_url)
    assert await remote.capabilities() == set()
    await remote.insert_custom_kg("a", CustomKG.model_validate(story_graph()))
    other = CustomKG.model_validate({
        "chunks": [{"content": "Maya repairs the rover.", "source_id": "c1"}],
        "entities": [{"entity_name": "Maya", "entity_type": "character",
                      "description": "An astronaut on Mars.", "source_id": "c1"}],
        "relationships": [],
    })
    await remote.insert_custom_kg("b", other)
    in_a = await remote.query("a", QueryRequest(query="Maya Elias", top_k=10))
    names = [e.name for e in in_a.entities]
    assert "Maya" in names and "Elias" in names
    maya = next(e for e in in_a.entities if e.name == "Maya")
    assert "lighthouse" in maya.description
    assert "Mars" not in in_a.context and "astronaut" not in in_a.context
    assert any(p[0] in ("Maya", "Elias") for p in in_a.paths)
    # documents go in as scoped chunks (upstream would name extracted entities unscoped)
    await remote.insert_documents("b", ["The rover's battery failed near the crater."])
    in_b = await remote.query("b", QueryRequest(query="rover battery crater"))
    assert any("battery failed" in c.content for c in in_b.chunks)
    assert "lighthouse" not in in_b.context
