"""A crewAI project as ``crewai create crew`` writes it (YAML agents and tasks, ``@CrewBase``),
installed with a plugin of a few lines that wraps it, runs as a novelcrew job."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_sdk.testing import make_plugins, make_settings, run_job

PROJECT = Path(__file__).parent / "crewai_project" / "story_pitch"

#: all the plugin author writes: an entry point, input and output models, and a run that
#: gives the project's agents novelcrew's routed models
WRAPPER = '''
"""novelcrew plugin: the crewAI project ``story_pitch``, unmodified, as crew ``story_pitch``."""

from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl


class PitchIn(BaseModel):
    topic: str
    current_year: str = "2026"


class PitchOut(BaseModel):
    report: str


async def run(ctx: RunContext, inputs: PitchIn) -> PitchOut:
    from story_pitch.crew import StoryPitch

    crew = StoryPitch().crew()
    for agent in crew.agents:
        agent.llm = ctx.llm(agent.role)
    output = await ctx.kickoff(crew, inputs.model_dump())
    return PitchOut(report=output.raw)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="story_pitch", description="A crewAI project run by novelcrew.",
                  input_model=PitchIn, output_model=PitchOut, run=run))
'''


def install(site: Path) -> None:
    """The project's package and the wrapper, with the wrapper's entry point, on ``site``."""
    shutil.copytree(PROJECT / "src" / "story_pitch", site / "story_pitch")
    (site / "novelcrew_story_pitch.py").write_text(textwrap.dedent(WRAPPER))
    dist = site / "novelcrew_story_pitch-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: novelcrew-story-pitch\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[novelcrew]\nstory_pitch = novelcrew_story_pitch\n")


async def test_a_crewai_create_crew_project_runs_as_a_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.chdir(tmp_path)  # the project's reporting task writes report.md here
    # the project's agents are built with crewAI's default model before the wrapper routes
    # them; crewAI 1.12 builds that model's OpenAI client at once and wants a key for it
    monkeypatch.setenv("OPENAI_API_KEY", "unused-the-agents-are-routed-by-novelcrew")
    def answer(prompt: str) -> str:
        if "ferries Reporting Analyst" in prompt:
            return "Thought: done\nFinal Answer: # Ferries\nThey run at dawn."
        return "Thought: done\nFinal Answer: - Ferries run at dawn."

    llm = ScriptedLLM(default=answer)
    plugins = make_plugins(entry_points=["story_pitch"], llm=llm)
    assert plugins.registry.crews["story_pitch"].plugin == "story_pitch"
    settings = make_settings(tmp_path / "data", default_model="scripted")

    job, events = await run_job(plugins, "story_pitch", {"topic": "ferries"}, settings=settings)

    assert job.status == "succeeded", job.error
    assert job.result["story_pitch"]["report"] == "# Ferries\nThey run at dawn."
    assert [(c.role or "").strip() for c in llm.calls] == [
        "ferries Senior Data Researcher", "ferries Reporting Analyst"]
    assert "ferries" in llm.calls[0].prompt and "2026" in llm.calls[0].prompt  # YAML filled
    assert (job.progress.completed_tasks, job.progress.total_tasks) == (2, 2)
    assert [e.message for e in events if e.type == "task_finished"] == [
        "research_task", "reporting_task"]
    assert job.usage["scripted"].calls == 2
    assert (tmp_path / "report.md").read_text().startswith("# Ferries")
