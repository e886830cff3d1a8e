"""Re-analysis replaces, never mixes: with the real pathrag plugin, a 3-scene analysis after a
12-scene one leaves the project's graph (what the director reads) with exactly 3 scenes."""

from __future__ import annotations

import json
from typing import Any

from architect_fixtures import ANALYST, ARCHITECT, SYNTHESIS_REPLY, story_text_of

from novelcrew.context import ToolContext
from novelcrew_architect.models import StoryAnalysis
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM

PLACES = ["Harbour", "Lighthouse", "Chapel", "Boatyard"]


def draft(scenes: int, who: str) -> str:
    paragraphs = [f"Scene story {scenes}", ""]
    for n in range(1, scenes + 1):
        paragraphs += [f"{who} walked to the {PLACES[n % 4]} in part {n} of the draft and "
                       f"waited there until the light changed over the water.", ""]
    return "\n".join(paragraphs)


def analyst(prompt: str) -> str:
    """One scene per paragraph, its opening and closing words copied from the text."""
    paragraphs = [p for p in story_text_of(prompt).split("\n\n") if " walked " in p]
    scenes = []
    for n, para in enumerate(paragraphs, start=1):
        words = para.split()
        who = para.split(" walked")[0]
        scenes.append({"number": n, "opening": " ".join(words[:8]),
                       "closing": " ".join(words[-6:]), "summary": f"{who}, part {n}.",
                       "location": words[4].strip(","), "int_ext": "EXT", "day_night": "DAY",
                       "characters": [who]})
    who = paragraphs[0].split(" walked")[0] if paragraphs else "Nobody"
    return json.dumps({"characters": [{"name": who, "role": "protagonist"}],
                       "locations": [{"name": p} for p in PLACES], "scenes": scenes,
                       "themes": ["waiting"]})


async def test_a_3_scene_reanalysis_after_12_scenes_leaves_3_in_the_graph(tmp_path: Any) -> None:
    llm = ScriptedLLM(replies={ANALYST: analyst, ARCHITECT: json.dumps(SYNTHESIS_REPLY)})
    plugins = make_plugins(entry_points=["architect", "pathrag"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")

    async def analyse(scenes: int, who: str) -> StoryAnalysis:
        job, _ = await run_job(plugins, "architect", {"story_text": draft(scenes, who)},
                               settings=settings, project_id="reanalysed")
        assert job.status == "succeeded", job.error
        return StoryAnalysis.model_validate(job.result["architect"])

    first = await analyse(12, "Mara Quell")
    assert (first.version, len(first.scenes)) == (1, 12)
    second = await analyse(3, "Ivo Brand")
    assert (second.version, len(second.scenes)) == (2, 3)

    def tool(name: str) -> Any:
        return plugins.registry.tools[name].spec.factory(
            ToolContext(settings=settings, project_id="reanalysed"))

    # what the director reads: every scene entity of the project's graph
    found = await tool("kg_query").acall(query="Scene", top_k=200, max_tokens=100_000,
                                         entity_types=["scene"])
    assert sorted(e.name for e in found.entities) == ["Scene 1", "Scene 2", "Scene 3"]
    assert all("Ivo Brand" in e.description for e in found.entities)
    people = await tool("kg_query").acall(query="Mara Quell Ivo Brand", top_k=50,
                                          entity_types=["character"])
    assert [e.name for e in people.entities] == ["Ivo Brand"]
    # each scene's chunk is its own text, of the latest draft only
    texts = await tool("kg_query").acall(query="walked waited light water", top_k=50,
                                         max_tokens=100_000)
    assert texts.chunks and all("Ivo Brand" in c.content for c in texts.chunks)
    assert {c.content for c in texts.chunks} <= {s.text for s in second.scenes}
