"""crewAI's YAML idiom ``role: >`` gives a role ending in a newline; the scripted LLM and
per-agent model routing still find it (whitespace stripped, case ignored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewai import Agent, Task
from crewai import Crew as CrewAICrew

from novelcrew.settings import Settings
from novelcrew_sdk import ScriptedLLM

YAML_ROLE = "Story Analyst\n"  # what `role: >\n  Story Analyst` loads as


def test_agent_model_routing_ignores_yaml_newline_and_case(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, agent_models={"story analyst": "openai/gpt-4o-mini"})
    assert settings.model_for("c", YAML_ROLE) == "openai/gpt-4o-mini"
    assert settings.model_for("c", "Other") != "openai/gpt-4o-mini"


def test_scripted_llm_answers_a_yaml_role() -> None:
    llm = ScriptedLLM(replies={"Story Analyst": "Thought: done\nFinal Answer: scripted!"})
    agent: Any = Agent(role=YAML_ROLE, goal="g", backstory="b", llm=llm, allow_delegation=False)
    task = Task(description="Say it.", expected_output="text", agent=agent)
    result = CrewAICrew(agents=[agent], tasks=[task]).kickoff()
    assert "scripted!" in result.raw
