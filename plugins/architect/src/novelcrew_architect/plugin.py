"""Entry point of the architect plugin: registers the ``architect`` crew.

Kept light on purpose: no crewAI import here (the crew's module imports it when a job runs),
so listing plugins and starting the API stay fast.
"""

from __future__ import annotations

from typing import Any

from novelcrew import Crew, hookimpl
from novelcrew_architect.models import ArchitectInput, StoryAnalysis

__all__ = ["register_crews", "run"]


async def run(ctx: Any, inputs: ArchitectInput) -> StoryAnalysis:
    """Analyse a story's structure and write its knowledge graph (see ``crew.py``)."""
    from novelcrew_architect.crew import run as run_crew

    return await run_crew(ctx, inputs)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(
        name="architect",
        description="Story structure and knowledge graph: characters (with aliases, roles, "
        "arcs and relationships), locations, key objects, scenes in order, themes and a "
        "logline, from a story of any length; the story graph goes to the pathrag tools.",
        input_model=ArchitectInput,
        output_model=StoryAnalysis,
        run=run,
        version="0.1.0",
        tools=("kg_insert_custom_kg",),
        optional_tools=("payload_read_story",),
        agents=("Story Structure Analyst", "Knowledge Graph Architect"),
        estimated_seconds=120,
    ))
