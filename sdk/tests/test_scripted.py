"""ScriptedLLM drives real crewAI crews deterministically, and its calls reach the job record."""

from __future__ import annotations

import json
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import hookimpl
from novelcrew.crewai.env import prepare
from novelcrew.specs import Crew
from novelcrew_sdk.scripted import ScriptedLLM, scripted_models_plugin
from novelcrew_sdk.testing import make_plugins, make_settings, run_job


class Summary(BaseModel):
    title: str
    characters: list[str]


class StoryIn(BaseModel):
    story: str


def _crew(llm: Any, roles: tuple[str, ...] = ("Reader",)) -> Any:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    agents = [Agent(role=r, goal="read the story", backstory="a careful reader", llm=llm)
              for r in roles]
    tasks = [Task(description=f"{r}: summarise {{story}}", expected_output="a summary",
                  agent=a, output_pydantic=Summary) for r, a in zip(roles, agents, strict=True)]
    return CrewAICrew(agents=agents, tasks=tasks, tracing=False)


def test_scripted_llm_answers_a_real_crew_by_role(tmp_path: Path) -> None:
    prepare(tmp_path)
    llm = ScriptedLLM({
        "Reader": '{"title": "Lighthouse", "characters": ["Maya"]}',
        "Critic": ["Thought: first\nFinal Answer: {\"title\": \"A\", \"characters\": []}",
                   "never used"],
    })
    out = _crew(llm, ("Reader", "Critic")).kickoff(inputs={"story": "Maya climbed."})
    assert out.tasks_output[0].pydantic == Summary(title="Lighthouse", characters=["Maya"])
    assert out.tasks_output[1].pydantic == Summary(title="A", characters=[])
    assert [c.role for c in llm.calls] == ["Reader", "Critic"]
    assert "Maya climbed." in llm.calls[0].prompt
    assert llm.calls[0].messages[0]["role"] == "system"
    assert llm.calls[0].usage["prompt_tokens"] == len(llm.calls[0].prompt) // 4


def test_lists_are_consumed_in_order_and_the_last_entry_repeats() -> None:
    llm = ScriptedLLM({"Reader": ["one", "two"]}, default=lambda prompt: f"echo {len(prompt)}")
    agent = types.SimpleNamespace(role="Reader")
    replies = [llm.call("hi", from_agent=agent) for _ in range(3)]
    assert replies == ["one", "two", "two"]
    assert llm.call("hello") == "echo 5"
    # without an agent, the role is found in the system prompt
    assert llm.call([{"role": "system", "content": "You are Reader."},
                     {"role": "user", "content": "go"}]) == "two"
    assert [c.role for c in llm.calls] == ["Reader", "Reader", "Reader", None, "Reader"]


def test_latency_is_slept_outside_the_lock_so_calls_overlap() -> None:
    """Concurrency tests need a model that takes time and says how many calls it held at once."""
    llm = ScriptedLLM({"Reader": ["one", "two", "three", "four"]}, latency=0.3)
    agent = types.SimpleNamespace(role="Reader")
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: llm.call("hi", from_agent=agent), range(4)))
    elapsed = time.monotonic() - started
    assert sorted(replies) == ["four", "one", "three", "two"]
    assert llm.peak_in_flight == 4
    assert 0.3 <= elapsed < 1.2  # overlapped: four calls in a row would take 1.2 s
    one = ScriptedLLM(default="x", latency=0.05)
    assert [one.call("a"), one.call("b")] == ["x", "x"] and one.peak_in_flight == 1
    with pytest.raises(ValueError, match="latency"):
        ScriptedLLM(latency=-1)


def test_callable_replies_get_the_prompt() -> None:
    llm = ScriptedLLM({"Echo": lambda prompt: prompt.upper()})
    assert llm.call("abc", from_agent=types.SimpleNamespace(role="Echo")) == "ABC"
    assert llm.get_context_window_size() > 10_000
    assert llm.supports_function_calling() is False


async def test_plugin_routes_every_agent_to_the_script_and_usage_lands_on_the_job(
    tmp_path: Path,
) -> None:
    llm = ScriptedLLM({"Reader": json.dumps({"title": "T", "characters": ["Maya", "Tom"]})})

    async def run(ctx: Any, inputs: StoryIn) -> Summary:
        crew = _crew(ctx.llm("Reader"))
        out = await ctx.kickoff(crew, {"story": inputs.story})
        return out.pydantic

    class Crews:
        @hookimpl
        def register_crews(self, register: Any) -> None:
            register(Crew(name="reader", description="reads", input_model=StoryIn,
                          output_model=Summary, run=run))

    plugins = make_plugins(Crews(), scripted_models_plugin(llm))
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, events = await run_job(plugins, "reader", {"story": "Maya met Tom."},
                                settings=settings)
    assert job.status == "succeeded", job.error
    assert job.result["reader"] == {"title": "T", "characters": ["Maya", "Tom"]}
    usage = job.usage["scripted"]
    assert usage.calls == 1
    assert usage.prompt_tokens == llm.calls[0].usage["prompt_tokens"]
    assert usage.completion_tokens == llm.calls[0].usage["completion_tokens"]
    calls = [e for e in events if e.type == "llm_call"]
    assert [(e.data["model"], e.data["agent"], e.data["ok"]) for e in calls] == [
        ("scripted", "Reader", True)
    ]
