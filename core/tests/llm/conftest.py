"""Fixtures of the model-layer tests: a local OpenAI-compatible server and a one-agent crew."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import hookimpl
from novelcrew.specs import Crew
from novelcrew_sdk.openai_server import OpenAIServer
from novelcrew_sdk.testing import make_plugins, make_settings


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(default="The story is about Maya.") as srv:
        yield srv


@pytest.fixture
def settings_for(tmp_path: Path, server: OpenAIServer) -> Any:
    """Settings pointing ``openai/...`` at the local server, with tiny retry delays."""

    def make(**overrides: Any) -> Any:
        values: dict[str, Any] = {
            "default_model": "openai/main",
            "openai_base_url": server.url,
            "openai_api_key": "sk-test",
            "model_timeout_seconds": 2.0,
            "model_max_retries": 2,
            "model_backoff_seconds": 0.01,
            "model_max_backoff_seconds": 1.0,
        }
        values.update(overrides)
        return make_settings(tmp_path / "data", **values)

    return make


class StoryIn(BaseModel):
    story: str = "Maya climbed the lighthouse."
    role: str = "Reader"
    use_tool: bool = False
    structured: bool = False
    #: the task's own sampling temperature (what a crew sets per task)
    temperature: float | None = None
    #: the task's name, by which a job's ``config.tasks`` sets it
    task: str | None = None


class Answer(BaseModel):
    text: str


#: what the ``lookup`` tool was asked, across tests (cleared by the fixture)
TOOL_CALLS: list[str] = []


async def run_reader(ctx: Any, inputs: StoryIn) -> Answer:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew
    from crewai.tools import tool

    @tool("lookup")
    def lookup(query: str) -> str:
        """Look a name up in the story's notes."""
        TOOL_CALLS.append(query)
        return f"{query} is the lighthouse keeper's daughter"

    agent = Agent(role=inputs.role, goal="read the story", backstory="a careful reader",
                  llm=ctx.llm(inputs.role, task=inputs.task, temperature=inputs.temperature),
                  tools=[lookup] if inputs.use_tool else [], max_iter=4)
    task = Task(name=f"read as {inputs.role}", description="Read this story: {story}",
                expected_output="one sentence", agent=agent,
                output_pydantic=Answer if inputs.structured else None)
    out = await ctx.kickoff(CrewAICrew(agents=[agent], tasks=[task], tracing=False),
                            {"story": inputs.story})
    return out.pydantic if inputs.structured else Answer(text=out.raw)


class ReaderCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="reader", description="reads a story", input_model=StoryIn,
                      output_model=Answer, run=run_reader, agents=("Reader",)))


@pytest.fixture
def reader_plugins() -> Any:
    TOOL_CALLS.clear()
    return make_plugins(ReaderCrews())


@pytest.fixture
def tool_calls() -> list[str]:
    return TOOL_CALLS


@pytest.fixture
def reader_plugins_for() -> Any:
    """The reader crew plus a model registered as ``scripted`` (e.g. a ``ScriptedLLM``)."""
    TOOL_CALLS.clear()
    return lambda llm: make_plugins(ReaderCrews(), llm=llm)
