"""A crew of sequential model calls (one one-task crewAI crew per step), for the tests of kept
model answers on workers; its model is whatever the worker's settings route to."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, hookimpl


class StepsIn(BaseModel):
    steps: int = 3
    topic: str = "the lighthouse"


class StepsOut(BaseModel):
    answers: list[str]


async def run_steps(ctx: Any, inputs: StepsIn) -> StepsOut:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    answers = []
    for n in range(inputs.steps):
        agent = Agent(role="Planner", goal="plan", backstory="plans", llm=ctx.llm("Planner"))
        task = Task(description=f"Plan step {n + 1} about {inputs.topic}.",
                    expected_output="a line", agent=agent)
        out = await ctx.kickoff(CrewAICrew(agents=[agent], tasks=[task], tracing=False), {})
        answers.append(out.raw)
    return StepsOut(answers=answers)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="steps", description="One model call per step.", input_model=StepsIn,
                  output_model=StepsOut, run=run_steps, agents=("Planner",)))
