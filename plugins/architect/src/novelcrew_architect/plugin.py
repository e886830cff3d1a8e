"""Entry point of the architect plugin: registers the ``architect`` crew and the terminal
renderer of its story analysis (``render.py``).

Kept light on purpose: no crewAI import here (the crew's module imports it when a job runs),
nor rich (imported with ``render.py`` when a result is printed), so listing plugins and
starting the API stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from novelcrew import Crew, Renderer, hookimpl
from novelcrew_architect.models import ArchitectConfig, ArchitectInput, StoryAnalysis
from novelcrew_architect.settings import ArchitectSettings  # noqa: F401 (known to the CLI)

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = ["EXAMPLE_INPUTS", "register_crews", "register_renderers", "run"]

#: A small but real run (docs, ``--help``, the SDK's contract checks).
EXAMPLE_INPUTS = {
    "title": "The Night Ferry",
    "story_text": (
        "The Night Ferry\n\n"
        "Chapter 1\n\n"
        "Ada Kerr bought the last ticket for the night ferry to Inchmore. On the dark deck she "
        "met Callum Reid, the ferryman's son, who told her the island had no doctor since "
        "spring. \"You'll be wanting the surgery key,\" he said, and gave it to her.\n\n"
        "Chapter 2\n\n"
        "At dawn Ada opened the surgery on Harbour Street. Callum brought his father, coughing, "
        "and Dr. Kerr listened to his chest while the gulls screamed over the slipway."
    ),
    "preferences": {"genre": "drama", "tone": "quiet, hopeful"},
}


async def run(ctx: Any, inputs: ArchitectInput) -> StoryAnalysis:
    """Analyse a story's structure and write its knowledge graph (see ``crew.py``)."""
    from novelcrew_architect.crew import run as run_crew

    return await run_crew(ctx, inputs)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(
        name="architect",
        description="Story structure and knowledge graph: characters (with ids, aliases, "
        "roles, arcs and relationships), locations, key objects, and scenes in order, each "
        "with its source text, INT/EXT, DAY/NIGHT, story day and every line of dialogue with "
        "its speaker; themes and a logline, from a story of any length. Each analysis "
        "replaces the project's previous one in the knowledge graph (pathrag tools).",
        input_model=ArchitectInput,
        output_model=StoryAnalysis,
        run=run,
        version="0.1.0",
        tools=("kg_insert_custom_kg",),
        optional_tools=("payload_read_story", "kg_new_version"),
        agents=("Story Structure Analyst", "Knowledge Graph Architect"),
        estimated_seconds=120,
        example_inputs=EXAMPLE_INPUTS,
        config_model=ArchitectConfig,
    ))


def _render(result: Mapping[str, Any]) -> RenderableType:
    """The architect crew's result for a terminal (``render.py``: imported, with rich,
    only when a result is printed)."""
    from novelcrew_architect.render import analysis

    return analysis(result)


def _matches(result: Mapping[str, Any]) -> bool:
    from novelcrew_architect.render import is_analysis

    return is_analysis(result)


@hookimpl
def register_renderers(register: Any) -> None:
    register(Renderer(
        name="story-analysis",
        description="A story analysis: title, logline, themes, then characters, locations "
        "and scenes as tables.",
        crews=("architect",), render=_render, matches=_matches,
    ))
