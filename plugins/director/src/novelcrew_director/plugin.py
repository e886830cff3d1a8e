"""Entry point of the director plugin: registers the ``director`` crew.

Kept free of crewAI imports: the crew's run imports crewAI only when a job plans scenes.
"""

from __future__ import annotations

from typing import Any

from novelcrew import Crew, RunContext, hookimpl
from novelcrew_director.inputs import DirectorInput
from novelcrew_director.models import ScenePlan
from novelcrew_director.settings import DirectorSettings  # noqa: F401 (known to the CLI)

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
        example_inputs={"scenes": "1-2", "preferences": {"style": "naturalistic"},
                        "constraints": {"budget_level": "medium", "shooting_days": 2}},
    ))
