"""Entry point of the storyboard plugin: registers the ``storyboard`` crew and the terminal
renderer of its storyboard (``render.py``).

Kept free of crewAI imports: the crew's run imports crewAI only when a job boards shots, and
rich is imported with ``render.py`` only when a result is printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from novelcrew import Crew, Renderer, RunContext, hookimpl
from novelcrew_storyboard.example import EXAMPLE_PREVIOUS
from novelcrew_storyboard.inputs import StoryboardInput
from novelcrew_storyboard.models import Storyboard

if TYPE_CHECKING:
    from rich.console import RenderableType

CREW = "storyboard"
AGENTS = ("Visual Development Artist", "Storyboard Artist")


async def run(ctx: RunContext, inputs: StoryboardInput) -> Storyboard:
    from novelcrew_storyboard.crew import run as run_crew

    return await run_crew(ctx, inputs)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(
        name=CREW,
        description="Turns the director's plan into generation-ready material: a visual bible "
        "(characters, locations, style guide, with stable ids) and per shot the subjects in "
        "frame, image, motion and negative prompts, and clips no longer than the generator's "
        "clip length.",
        input_model=StoryboardInput,
        output_model=Storyboard,
        run=run,
        optional_tools=("kg_query", "kg_insert_custom_kg", "kg_delete_entity",
                        "payload_read_project"),
        agents=AGENTS,
        estimated_seconds=120,
        example_inputs={"previous": EXAMPLE_PREVIOUS, "clip_seconds": 5, "write_back": False},
    ))


def _render(result: Mapping[str, Any]) -> RenderableType:
    """The storyboard crew's result for a terminal (``render.py``: imported, with rich,
    only when a result is printed)."""
    from novelcrew_storyboard.render import storyboard

    return storyboard(result)


def _matches(result: Mapping[str, Any]) -> bool:
    from novelcrew_storyboard.render import is_storyboard

    return is_storyboard(result)


@hookimpl
def register_renderers(register: Any) -> None:
    register(Renderer(
        name="storyboard",
        description="A storyboard: readiness, the visual bible, then every shot with its "
        "prompts and clips.",
        crews=(CREW,), render=_render, matches=_matches,
    ))
