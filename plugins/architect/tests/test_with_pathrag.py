"""With the real pathrag plugin: the story graph lands in the project's graph, readable back."""

from __future__ import annotations

from typing import Any

from architect_fixtures import EXAMPLES

from novelcrew.context import ToolContext
from novelcrew_architect.models import StoryAnalysis
from novelcrew_sdk import make_plugins, make_settings, run_job


async def test_long_example_story_offline_into_the_embedded_graph(tmp_path: Any) -> None:
    story = (EXAMPLES / "the-orchard-at-kestrel-hill.txt").read_text("utf-8")
    plugins = make_plugins(entry_points=["architect", "pathrag"])
    # a small budget so the 6,000-word story is split and merged like a novel would be
    settings = make_settings(tmp_path / "data", default_model="offline",
                             prompt_token_budget=6000)
    job, _ = await run_job(plugins, "architect", {"story_text": story},
                           settings=settings, project_id="kestrel")
    assert job.status == "succeeded", job.error
    analysis = StoryAnalysis.model_validate(job.result["architect"])
    assert analysis.statistics.chunks >= 3
    assert analysis.model.offline
    names = {c.name for c in analysis.characters}
    assert {"Nell Ashby", "Agnes Pike", "Luca Moretti"} <= names, names
    # one entry for Nell however many chunks named her
    assert sum("Nell" in n for n in names) == 1, names
    assert job.progress.completed_tasks == job.progress.total_tasks == \
        analysis.statistics.chunks + 2

    def tool(name: str, project: str) -> Any:
        return plugins.registry.tools[name].spec.factory(
            ToolContext(settings=settings, project_id=project))

    found = await tool("kg_query", "kestrel").acall(query="Nell Ashby",
                                                      entity_types=["character"])
    assert "Nell Ashby" in [e.name for e in found.entities]
    scenes = await tool("kg_query", "kestrel").acall(query="Scene 1", entity_types=["scene"])
    scene1 = next(e for e in scenes.entities if e.name == "Scene 1")
    assert scene1.description.startswith("Scene 1: ")
    assert "\nCharacters: " in scene1.description
    # scoped to the project: another project sees nothing of it
    other = await tool("kg_query", "elsewhere").acall(query="Nell Ashby")
    assert other.entities == []
