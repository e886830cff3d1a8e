"""Entry point: registers the ``logline`` crew. crewAI is imported only when it runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from novelcrew import Crew, RunContext, hookimpl

ROLE = "Logline Writer"


class LoglineInput(BaseModel):
    story_text: str = Field(min_length=1, description="The story to pitch.")
    title: str | None = Field(None, description="The story's title, if it has one.")


class Logline(BaseModel):
    logline: str = Field(description="One sentence: protagonist, goal, obstacle, stakes.")
    tagline: str = Field(description="A short poster line, under 12 words.")


async def run(ctx: RunContext, inputs: LoglineInput) -> Logline:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    writer = Agent(
        role=ROLE,
        goal="Pitch a story in one logline and one tagline.",
        backstory="A development executive who has read ten thousand scripts.",
        llm=ctx.llm(ROLE),
        allow_delegation=False,
    )
    task = Task(
        name="write logline",
        description=(
            "Write a logline (one sentence: protagonist, goal, obstacle, stakes) and a tagline "
            "(under 12 words) for this story titled {title}.\n\nSTORY:\n{story_text}"
        ),
        expected_output='JSON: {"logline": "...", "tagline": "..."}',
        agent=writer,
        output_pydantic=Logline,
    )
    crew = CrewAICrew(agents=[writer], tasks=[task], tracing=False)
    result = await ctx.kickoff(
        crew, {"story_text": inputs.story_text, "title": inputs.title or "untitled"}
    )
    return Logline.model_validate(result.pydantic.model_dump())


@hookimpl
def register_crews(register: Any) -> None:
    register(
        Crew(
            name="logline",
            description="Writes a logline and a tagline for a story.",
            input_model=LoglineInput,
            output_model=Logline,
            run=run,
            agents=(ROLE,),
            estimated_seconds=20,
            example_inputs={
                "story_text": "Mara keeps the last lighthouse on Gannet Point.",
                "title": "The Keeper",
            },
        )
    )
