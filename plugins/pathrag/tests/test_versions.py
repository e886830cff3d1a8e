"""Re-analysis replaces, never mixes: a new version empties the project's live graph.

Against both backends (embedded in-process, remote over the served contract): after a
12-scene analysis and then a 3-scene one, queries see exactly the 3 scenes, the earlier
version is archived (or removed) as asked, and other projects are untouched.
"""

from __future__ import annotations

from typing import Any

import pytest
from pathrag_helpers import make_settings

from novelcrew.context import ToolContext
from novelcrew_pathrag import reset_backends


def analysis(scenes: int, tag: str) -> dict[str, Any]:
    """A story graph of ``scenes`` scenes, each with its text as its chunk."""
    entities = [{"entity_name": "Mara", "entity_type": "character",
                 "description": f"The pilot ({tag}).", "source_id": "scene-s001"}]
    chunks, rels = [], []
    for n in range(1, scenes + 1):
        sid = f"scene-s{n:03d}"
        chunks.append({"content": f"Scene {n} text of the {tag} draft: Mara at the harbour.",
                       "source_id": sid})
        entities.append({"entity_name": f"Scene {n}", "entity_type": "scene",
                         "description": f"Scene {n}: {tag} events.\nCharacters: Mara",
                         "source_id": sid})
        rels.append({"src_id": "Mara", "tgt_id": f"Scene {n}", "keywords": "appears_in",
                     "description": f"Mara appears in Scene {n}.", "weight": 1.0,
                     "source_id": sid})
    return {"chunks": chunks, "entities": entities, "relationships": rels}


async def scene_names(tools: Any, project: str) -> set[str]:
    found = await tools("kg_query", project).acall(query="Scene Mara harbour", top_k=200,
                                                   max_tokens=100_000,
                                                   entity_types=["scene"])
    return {e.name for e in found.entities}


async def test_a_3_scene_analysis_after_a_12_scene_one_leaves_exactly_3_scenes(
    tools: Any,
) -> None:
    first = await tools("kg_new_version", "p").acall(keep_previous=3)
    assert (first.version, first.replaced, first.archived) == (1, True, [])
    await tools("kg_insert_custom_kg", "p").acall(custom_kg=analysis(12, "first"))
    await tools("kg_insert_custom_kg", "other").acall(custom_kg=analysis(5, "other"))
    assert len(await scene_names(tools, "p")) == 12

    second = await tools("kg_new_version", "p").acall(keep_previous=3)
    assert (second.version, second.replaced, second.archived) == (2, True, [1])
    await tools("kg_insert_custom_kg", "p").acall(custom_kg=analysis(3, "second"))

    assert await scene_names(tools, "p") == {"Scene 1", "Scene 2", "Scene 3"}
    found = await tools("kg_query", "p").acall(query="Mara pilot", top_k=50)
    mara = next(e for e in found.entities if e.name == "Mara")
    assert "second" in mara.description and "first" not in mara.description
    assert all("first draft" not in c.content for c in found.chunks)
    # another project's graph is not touched
    assert len(await scene_names(tools, "other")) == 5


async def test_old_versions_are_removed_explicitly(tools: Any) -> None:
    for n in (4, 3, 2):
        await tools("kg_new_version", "p").acall(keep_previous=1)
        await tools("kg_insert_custom_kg", "p").acall(custom_kg=analysis(n, f"v{n}"))
    last = await tools("kg_new_version", "p").acall(keep_previous=0)
    # keep 0: the current version is deleted, and so is the one archive that was kept
    assert (last.version, last.archived, sorted(last.removed)) == (4, [], [2, 3])
    assert await scene_names(tools, "p") == set()


async def test_the_version_count_survives_a_restart(tmp_path: Any, registry: Any) -> None:
    settings = make_settings(tmp_path, None)

    def tool(name: str) -> Any:
        return registry.tool(name).factory(ToolContext(settings=settings, project_id="42"))

    assert (await tool("kg_new_version").acall(keep_previous=2)).version == 1
    await tool("kg_insert_custom_kg").acall(custom_kg=analysis(2, "a"))
    reset_backends()
    again = await tool("kg_new_version").acall(keep_previous=2)
    assert (again.version, again.archived) == (2, [1])


async def test_upstream_pathrag_says_it_cannot_replace(plain_server_url: str,
                                                       registry: Any, tmp_path: Any) -> None:
    settings = make_settings(tmp_path, plain_server_url)
    ctx = ToolContext(settings=settings, project_id="up")
    result = await registry.tool("kg_new_version").factory(ctx).acall(keep_previous=1)
    assert result.replaced is False
    assert "cannot replace" in result.note


@pytest.mark.parametrize("keep", [-1, 1001])
async def test_keep_previous_out_of_range_is_refused(tools: Any, keep: int) -> None:
    with pytest.raises(ValueError, match="keep_previous"):
        await tools("kg_new_version", "p").acall(keep_previous=keep)
