"""``kg_graph``: a project's whole graph for people to look at (the web UI draws it), on both
backends: only the latest analysis, only this project, capped with the most-linked first."""

from __future__ import annotations

from typing import Any

import pytest
from pathrag_helpers import make_settings
from test_versions import analysis

from novelcrew.context import ToolContext


async def test_lists_the_latest_analysis_of_one_project(tools: Any) -> None:
    await tools("kg_new_version", "p").acall(keep_previous=1)
    await tools("kg_insert_custom_kg", "p").acall(custom_kg=analysis(6, "old"))
    await tools("kg_new_version", "p").acall(keep_previous=1)
    await tools("kg_insert_custom_kg", "p").acall(custom_kg=analysis(3, "new"))
    await tools("kg_insert_custom_kg", "other").acall(custom_kg=analysis(5, "other"))

    graph = await tools("kg_graph", "p").acall()
    names = {e.name for e in graph.entities}
    assert names == {"Mara", "Scene 1", "Scene 2", "Scene 3"}
    assert {(r.source, r.target) for r in graph.relationships} == {
        ("Mara", f"Scene {n}") for n in (1, 2, 3)}
    mara = next(e for e in graph.entities if e.name == "Mara")
    assert mara.type == "character" and "new" in mara.description
    assert graph.truncated is False
    # the counts are of this project's latest analysis, not the archive or another project
    assert (graph.total_entities, graph.total_relationships) == (4, 3)


async def test_caps_keep_the_most_linked_entities(tools: Any) -> None:
    await tools("kg_insert_custom_kg", "p").acall(custom_kg=analysis(8, "x"))
    graph = await tools("kg_graph", "p").acall(max_entities=3, max_links=1)
    assert graph.entities[0].name == "Mara"  # linked to every scene
    assert len(graph.entities) == 3 and len(graph.relationships) == 1
    assert graph.truncated is True
    # the whole graph's size, so a reader can say "3 of 9 entities"
    assert (graph.total_entities, graph.total_relationships) == (9, 8)


async def test_upstream_pathrag_cannot_list(plain_server_url: str, registry: Any,
                                            tmp_path: Any) -> None:
    ctx = ToolContext(settings=make_settings(tmp_path, plain_server_url), project_id="up")
    with pytest.raises(NotImplementedError, match="cannot list"):
        await registry.tool("kg_graph").factory(ctx).acall()


async def test_the_graph_route_says_a_listing_was_cut_and_lets_ask_for_more(
        tmp_path: Any, registry: Any) -> None:
    """``GET /projects/{id}/graph`` on a graph bigger than the default cap of 300: the answer
    says it was cut and how big the whole graph is, and ``max_entities`` reaches the tool."""
    import httpx

    from novelcrew.api.app import create_app
    from novelcrew.plugins import load

    settings = make_settings(tmp_path, None)
    tool = registry.tool("kg_insert_custom_kg").factory(
        ToolContext(settings=settings, project_id="big"))
    await tool.acall(custom_kg=analysis(400, "x"))  # Mara and 400 scenes, 400 links
    app = create_app(settings, load(["pathrag"]))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        graph = (await client.get("/projects/big/graph")).json()
        assert len(graph["entities"]) == 300 and graph["entities"][0]["name"] == "Mara"
        assert graph["truncated"] is True
        assert (graph["total_entities"], graph["total_relationships"]) == (401, 400)

        whole = (await client.get("/projects/big/graph", params={"max_entities": 1000})).json()
        assert len(whole["entities"]) == 401 and len(whole["relationships"]) == 400
        assert whole["truncated"] is False and whole["total_entities"] == 401

        # the tool's own bound on its cap, refused as the caller's mistake, not a 500
        over = await client.get("/projects/big/graph", params={"max_entities": 10_000})
        assert over.status_code == 422
        error = over.json()["error"]
        assert "query.max_entities: Input should be less than or equal to 5000" in \
            error["message"], error
        assert error["details"]["errors"][0]["loc"] == ["query", "max_entities"]
        assert (await client.get("/projects/big/graph",
                                 params={"max_entities": 0})).status_code == 422
        # a graph never written: empty, and nothing cut
        empty = (await client.get("/projects/none/graph")).json()
        assert empty["entities"] == [] and empty["truncated"] is False
        assert empty["total_entities"] == 0


SHOW_GRAPH_FIRST = """
import asyncio, json, os, sys
import httpx
from novelcrew.api.app import create_app
from novelcrew.plugins import load
from novelcrew.settings import Settings

async def main():
    app = create_app(Settings(data_dir=sys.argv[1]), load(["pathrag"]))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        status = (await client.get("/projects/p/graph")).status_code
    print(json.dumps({"status": status, "crewai": "crewai" in sys.modules,
                      "env": {k: v for k, v in os.environ.items() if k.startswith("CREWAI_")}}))

asyncio.run(main())
"""


def test_the_graph_route_prepares_crewai_before_the_tool_imports_it(tmp_path: Any) -> None:
    """The web UI's Graph page may be a fresh server's first request: building the graph tool
    imports crewAI, which reads its environment once, at import. Without ``prepare`` first,
    crewAI's telemetry stayed on, its tracing undeclined and its storage under ``$HOME`` for
    the life of the process."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREWAI_", "NOVELCREW_"))}
    out = subprocess.run([sys.executable, "-c", SHOW_GRAPH_FIRST, str(tmp_path / "data")],
                         env=env, capture_output=True, text=True, timeout=180, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["status"] == 200 and seen["crewai"] is True
    assert seen["env"].get("CREWAI_DISABLE_TELEMETRY") == "true"
    assert seen["env"].get("CREWAI_TRACING_ENABLED") == "false"
    assert seen["env"].get("CREWAI_STORAGE_DIR", "").startswith(str(tmp_path / "data"))
