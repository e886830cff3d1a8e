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


async def test_caps_keep_the_most_linked_entities(tools: Any) -> None:
    await tools("kg_insert_custom_kg", "p").acall(custom_kg=analysis(8, "x"))
    graph = await tools("kg_graph", "p").acall(max_entities=3, max_links=1)
    assert graph.entities[0].name == "Mara"  # linked to every scene
    assert len(graph.entities) == 3 and len(graph.relationships) == 1
    assert graph.truncated is True


async def test_upstream_pathrag_cannot_list(plain_server_url: str, registry: Any,
                                            tmp_path: Any) -> None:
    ctx = ToolContext(settings=make_settings(tmp_path, plain_server_url), project_id="up")
    with pytest.raises(NotImplementedError, match="cannot list"):
        await registry.tool("kg_graph").factory(ctx).acall()
