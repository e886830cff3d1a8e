"""A crewAI Flow can be a crew (issue #23): the crew's ``run`` builds a ``crewai.flow.Flow``
whose methods kick off crews on the job's models (``ctx.llm``), and hands the Flow to
``ctx.kickoff``; the Flow's tasks reach the job as events and progress, and cancelling the job
stops the Flow at its next model call. Written as a plugin author would, with the SDK's
fixtures (the pattern docs/plugin-author-guide.md shows)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl
from novelcrew_sdk import ScriptedLLM


class PitchInput(BaseModel):
    story_text: str


class Pitch(BaseModel):
    logline: str
    tagline: str


#: the running crew's context, so a scripted reply can cancel its job mid-flow
RUNNING: dict[str, RunContext] = {}


async def run(ctx: RunContext, inputs: PitchInput) -> Pitch:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew
    from crewai.flow import Flow, listen, start

    RUNNING["ctx"] = ctx

    def one_task(role: str, name: str, description: str) -> CrewAICrew:
        agent = Agent(role=role, goal=name, backstory="A story editor.", llm=ctx.llm(role),
                      allow_delegation=False)
        task = Task(name=name, description=description, expected_output="one line",
                    agent=agent)
        return CrewAICrew(agents=[agent], tasks=[task], tracing=False)

    class PitchFlow(Flow[dict[str, Any]]):
        @start()
        def logline(self) -> str:
            crew = one_task("Logline Writer", "write logline",
                            "Write a logline for this story: {story_text}")
            return crew.kickoff(inputs={"story_text": self.state["story_text"]}).raw

        @listen(logline)
        def tagline(self, logline: str) -> dict[str, str]:
            crew = one_task("Tagline Writer", "write tagline",
                            "Write a tagline for this logline: {logline}")
            return {"logline": logline,
                    "tagline": crew.kickoff(inputs={"logline": logline}).raw}

    result = await ctx.kickoff(PitchFlow(tracing=False, suppress_flow_events=True),
                               {"story_text": inputs.story_text})
    return Pitch.model_validate(result)


class PitchPlugin:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="pitch", description="A two-step Flow: logline, then tagline.",
                      input_model=PitchInput, output_model=Pitch, run=run,
                      agents=("Logline Writer", "Tagline Writer")))


STORY = {"story_text": "Mara keeps the Gannet Point light the winter it is to be automated."}


async def test_a_flow_runs_as_a_crew_on_the_jobs_models(novelcrew_plugins, novelcrew_run):
    llm = ScriptedLLM(replies={
        "Logline Writer": "Final Answer: A keeper fights to save her lighthouse.",
        "Tagline Writer": "Final Answer: The light stays on.",
    })
    job, events = await novelcrew_run(novelcrew_plugins(PitchPlugin(), llm=llm), "pitch",
                                      STORY)
    assert job.status == "succeeded", job.error
    assert job.result["pitch"] == {"logline": "A keeper fights to save her lighthouse.",
                                   "tagline": "The light stays on."}
    # both crews of the Flow ran on the job's (scripted) model, in the Flow's order
    assert [call.role for call in llm.calls] == ["Logline Writer", "Tagline Writer"]
    assert "Gannet Point" in llm.calls[0].prompt
    assert "save her lighthouse" in llm.calls[1].prompt
    tasks = [(e.type, e.message) for e in events if e.type in ("task_started", "task_finished")]
    assert tasks == [("task_started", "write logline"), ("task_finished", "write logline"),
                     ("task_started", "write tagline"), ("task_finished", "write tagline")]
    assert (job.progress.completed_tasks, job.progress.total_tasks) == (2, 2)
    assert job.usage["scripted"].calls == 2


async def test_cancelling_the_job_stops_the_flow_at_its_next_model_call(
    novelcrew_plugins, novelcrew_run
):
    def logline_then_cancel(prompt: str) -> str:
        RUNNING["ctx"].cancel_event.set()  # as POST /jobs/{id}/cancel does
        return "Final Answer: A keeper fights to save her lighthouse."

    llm = ScriptedLLM(replies={"Logline Writer": logline_then_cancel,
                               "Tagline Writer": "Final Answer: never asked"})
    job, _events = await novelcrew_run(novelcrew_plugins(PitchPlugin(), llm=llm), "pitch",
                                       STORY)
    assert job.status == "cancelled", (job.status, job.error)
    assert [call.role for call in llm.calls] == ["Logline Writer"]
