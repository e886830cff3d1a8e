"""Entry point of the director plugin: registers the ``director`` crew and the terminal
renderer of its scene plan (``render.py``).

Kept free of crewAI imports: the crew's run imports crewAI only when a job plans scenes, and
rich is imported with ``render.py`` only when a result is printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from novelcrew import Crew, Renderer, RunContext, hookimpl
from novelcrew_director.inputs import DirectorInput, DirectorOptions
from novelcrew_director.models import ScenePlan
from novelcrew_director.settings import DirectorSettings  # noqa: F401 (known to the CLI)

if TYPE_CHECKING:
    from rich.console import RenderableType

CREW = "director"
AGENTS = ("Scene Analysis Director", "Cinematography Specialist")


async def run(ctx: RunContext, inputs: DirectorInput) -> ScenePlan:
    from novelcrew_director.crew import run as run_crew

    return await run_crew(ctx, inputs)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(
        name=CREW,
        description="Turns a story's scenes (from its knowledge graph) into a shootable plan: "
        "per scene a heading, breakdown and shot list, plus production totals; writes the "
        "shots back to the graph.",
        input_model=DirectorInput,
        output_model=ScenePlan,
        run=run,
        tools=("kg_query", "kg_insert_custom_kg"),
        optional_tools=("payload_read_project", "kg_delete_entity"),
        agents=AGENTS,
        estimated_seconds=180,
        runs_after=("architect",),
        config_model=DirectorOptions,
        example_inputs={"scenes": "1-2", "preferences": {"style": "naturalistic"},
                        "constraints": {"budget_level": "medium", "shooting_days": 2}},
    ))


def _render(result: Mapping[str, Any]) -> RenderableType:
    """The director crew's result for a terminal (``render.py``: imported, with rich,
    only when a result is printed)."""
    from novelcrew_director.render import scene_plan

    return scene_plan(result)


def _matches(result: Mapping[str, Any]) -> bool:
    from novelcrew_director.render import is_scene_plan

    return is_scene_plan(result)


@hookimpl
def register_renderers(register: Any) -> None:
    register(Renderer(
        name="scene-plan",
        description="A scene plan: per scene its heading, breakdown sheet and shot list, "
        "then the stripboard, day out of days and production totals.",
        crews=(CREW,), render=_render, matches=_matches,
    ))
