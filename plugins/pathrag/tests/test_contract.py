"""The same cases against both backends: embedded in-process, remote over the served contract."""

from __future__ import annotations

from typing import Any

from pathrag_helpers import CHARACTERS, SCENES, story_graph

from novelcrew_pathrag import QueryResult


async def _insert_story(tools: Any, project: str | None = "p") -> None:
    counts = await tools("kg_insert_custom_kg", project).acall(custom_kg=story_graph())
    assert counts.entities == len(story_graph()["entities"])


async def _query(tools: Any, project: str | None = "p", **kwargs: Any) -> QueryResult:
    return await tools("kg_query", project).acall(**kwargs)


async def test_expected_entities_come_back_ranked(tools: Any) -> None:
    await _insert_story(tools)
    result = await _query(tools, query="Who is Elias, the smuggler?", top_k=8)
    assert result.entities[0].name == "Elias"
    assert result.entities[0].type == "character"
    assert "contraband" in result.entities[0].description
    assert [e.score for e in result.entities] == sorted(
        (e.score for e in result.entities), reverse=True
    )
    # the scenes he appears in come with him, by relationship
    linked = {(r.src, r.tgt, r.keywords) for r in result.relationships}
    assert ("Elias", "Scene 3", "appears_in") in linked
    assert ("Elias", "Scene 4", "appears_in") in linked
    # and the source text of those items
    assert any("smugglers' ship" in c.content for c in result.chunks)
    assert "Elias" in result.context and "-----Entities-----" in result.context


async def test_path_between_characters_linked_only_through_others(tools: Any) -> None:
    await _insert_story(tools)
    result = await _query(tools, query="How is Maya connected to Elias?", top_k=10)
    names = [e.name for e in result.entities]
    assert names[:2] in (["Maya", "Elias"], ["Elias", "Maya"])
    between = [p for p in result.paths if {p[0], p[-1]} == {"Maya", "Elias"}]
    assert between, result.paths
    assert all(2 < len(p) <= 4 for p in between)  # 2-3 hops: they never meet directly
    ordered = [p if p[0] == "Maya" else p[::-1] for p in between]
    assert ["Maya", "Tom", "Iris", "Elias"] in ordered  # the strongest chain (bonds weigh 2)
    assert "Maya -> Tom -> Iris -> Elias" in result.context or (
        "Elias -> Iris -> Tom -> Maya" in result.context
    )
    # the people in between come back as entities too
    assert {"Tom", "Iris"} <= set(names)


async def test_scene_lookup_returns_its_facts(tools: Any) -> None:
    await _insert_story(tools)
    result = await _query(tools, query="Scene 2", top_k=20)
    scene = result.entities[0]
    assert scene.name == "Scene 2" and scene.type == "scene"
    assert scene.description.splitlines()[:2] == [
        f"Scene 2: {SCENES[1][1]}", "Location: The Harbour"
    ]
    rels = {(r.src, r.tgt, r.keywords) for r in result.relationships}
    assert {("Maya", "Scene 2", "appears_in"), ("Tom", "Scene 2", "appears_in"),
            ("Scene 2", "The Harbour", "located_in")} <= rels


async def test_entity_types_filter_and_listing(tools: Any) -> None:
    await _insert_story(tools)
    characters = await _query(tools, query="characters", top_k=50, entity_types=["character"])
    assert {e.name for e in characters.entities} == set(CHARACTERS)
    assert all(e.type == "character" for e in characters.entities)
    scenes = await _query(tools, query="Scene", top_k=50, entity_types=["scene"])
    assert [e.name for e in scenes.entities] == [f"Scene {s[0]}" for s in SCENES]


async def test_context_fits_the_token_budget(tools: Any) -> None:
    await _insert_story(tools)
    for budget in (60, 150, 400, 4000):
        result = await _query(tools, query="Maya Tom Iris Elias harbour lighthouse",
                              max_tokens=budget, top_k=50)
        assert len(result.context) <= budget * 4
        # what the structured fields hold is what the context shows
        for entity in result.entities:
            assert entity.name in result.context
    small = await _query(tools, query="Maya Tom Iris Elias", max_tokens=60)
    large = await _query(tools, query="Maya Tom Iris Elias", max_tokens=4000)
    assert 0 < len(small.entities) < len(large.entities)


async def test_projects_are_isolated(tools: Any) -> None:
    await _insert_story(tools, "a")
    other = {
        "chunks": [{"content": "Maya is a retired astronaut on Mars.", "source_id": "c1"}],
        "entities": [{"entity_name": "Maya", "entity_type": "character",
                      "description": "A retired astronaut living on Mars.", "source_id": "c1"},
                     {"entity_name": "Olympus Base", "entity_type": "location",
                      "description": "A dome at the foot of the volcano.", "source_id": "c1"}],
        "relationships": [{"src_id": "Maya", "tgt_id": "Olympus Base", "keywords": "lives_in",
                           "description": "Maya lives at Olympus Base.", "source_id": "c1"}],
    }
    await tools("kg_insert_custom_kg", "b").acall(custom_kg=other)

    in_a = await _query(tools, "a", query="Maya astronaut lighthouse", top_k=20)
    in_b = await _query(tools, "b", query="Maya astronaut lighthouse", top_k=20)
    maya_a = next(e for e in in_a.entities if e.name == "Maya")
    maya_b = next(e for e in in_b.entities if e.name == "Maya")
    assert "lighthouse" in maya_a.description and "astronaut" not in maya_a.description
    assert "astronaut" in maya_b.description and "lighthouse" not in maya_b.description
    assert "Mars" not in in_a.context and "Olympus" not in in_a.context
    assert "lighthouse" not in in_b.context.lower() and "Tom" not in in_b.context
    assert {e.name for e in in_b.entities} == {"Maya", "Olympus Base"}
    # the scope never shows in results
    assert "::" not in in_a.context and "::" not in in_b.context

    # deleting Maya in b leaves a's Maya alone
    assert (await tools("kg_delete_entity", "b").acall(entity_name="Maya")).deleted
    again_a = await _query(tools, "a", query="Maya", top_k=5)
    assert again_a.entities[0].name == "Maya"
    again_b = await _query(tools, "b", query="Maya", top_k=5)
    assert all(e.name != "Maya" for e in again_b.entities)
    # and a job without a project has its own default scope
    assert (await _query(tools, None, query="Maya")).entities == []


async def test_reinsert_merges_instead_of_duplicating(tools: Any) -> None:
    await _insert_story(tools)
    await _insert_story(tools)  # a retried job writes the same graph again
    update = {
        "chunks": [],
        "entities": [
            {"entity_name": "MAYA", "entity_type": "unknown",
             "description": "The lighthouse keeper's daughter, stubborn and watchful. "
                            "She secretly reads her mother's letters.", "source_id": "chunk-9"},
            {"entity_name": "Scene 2", "entity_type": "scene",
             "description": "Characters: Maya, Tom, Iris\nEmotional beat: rising unease",
             "source_id": "chunk-2"},
        ],
        "relationships": [
            {"src_id": "Maya", "tgt_id": "Tom", "keywords": "relationship, rivalry",
             "description": "They quarrel about the lights.", "weight": 3.0,
             "source_id": "chunk-9"},
        ],
    }
    await tools("kg_insert_custom_kg", "p").acall(custom_kg=update)
    result = await _query(tools, query="Maya", top_k=20)
    mayas = [e for e in result.entities if e.name.lower() == "maya"]
    assert len(mayas) == 1
    maya = mayas[0]
    assert maya.name == "Maya" and maya.type == "character"  # first name, stronger type
    assert maya.description == (
        "The lighthouse keeper's daughter, stubborn and watchful. "
        "She secretly reads her mother's letters."
    )
    bond = [r for r in result.relationships if {r.src, r.tgt} == {"Maya", "Tom"}]
    assert len(bond) == 1
    assert bond[0].weight == 3.0  # the max, so re-running a job never inflates weights
    assert bond[0].keywords == "relationship, rivalry"
    assert bond[0].description == (
        "childhood friends who trust each other. They quarrel about the lights."
    )
    scene = (await _query(tools, query="Scene 2", top_k=3)).entities[0]
    lines = scene.description.splitlines()
    assert "Characters: Maya, Tom, Iris" in lines  # list field: union
    assert "Emotional beat: rising unease" in lines  # scalar field: the newer value
    assert sum(line.startswith("Emotional beat:") for line in lines) == 1


async def test_delete_entity_removes_it_and_its_relationships(tools: Any) -> None:
    await _insert_story(tools)
    assert (await tools("kg_delete_entity", "p").acall(entity_name="Tom")).deleted is True
    assert (await tools("kg_delete_entity", "p").acall(entity_name="Tom")).deleted is False
    result = await _query(tools, query="Tom Maya Iris", top_k=20)
    assert "Tom" not in {e.name for e in result.entities}
    assert all("Tom" not in (r.src, r.tgt) for r in result.relationships)
    assert all("Tom" not in p for p in result.paths)


async def test_documents_are_searchable(tools: Any) -> None:
    text = ("The tide came in over the causeway.\n\nOld Fenwick counted the gulls while the "
            "ferry waited.")
    counts = await tools("kg_insert_documents", "docs").acall(documents=[text, "Second note."])
    assert counts.documents == 2 and counts.chunks >= 2
    result = await _query(tools, "docs", query="Fenwick gulls", top_k=5)
    assert any("Fenwick counted the gulls" in c.content for c in result.chunks)
    assert "Fenwick" in result.context
    elsewhere = await _query(tools, "other", query="Fenwick gulls")
    assert elsewhere.chunks == [] and elsewhere.context == ""


async def test_a_listing_returns_every_entity_of_the_type_in_order(tools: Any) -> None:
    """How the director reads a story: ``"Scene"`` with ``entity_types=["scene"]``."""
    scenes = [
        {"entity_name": f"Scene {n}", "entity_type": "scene", "source_id": f"chunk-{n}",
         "description": f"Scene {n}: Something happens.\nLocation: Harbour\nCharacters: Maya"}
        for n in range(1, 121)
    ]
    links = [{"src_id": "Maya", "tgt_id": f"Scene {n}", "keywords": "appears_in"}
             for n in range(1, 121)]
    await tools("kg_insert_custom_kg", "long").acall(
        custom_kg={"chunks": [], "entities": scenes, "relationships": links})
    result = await _query(tools, "long", query="Scene", top_k=200, max_tokens=8000,
                          entity_types=["scene"])
    assert [e.name for e in result.entities] == [f"Scene {n}" for n in range(1, 121)]
    assert result.relationships == [] and result.paths == []
    assert len(result.context) <= 8000 * 4
