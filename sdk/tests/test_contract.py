"""check_plugin: passes a sound plugin, and names what is wrong with a broken one."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import Crew, hookimpl
from novelcrew_sdk import ContractError, ScriptedLLM, check_plugin


class In(BaseModel):
    story_text: str


class Out(BaseModel):
    words: int


async def count(ctx: Any, inputs: In) -> Out:
    return Out(words=len(inputs.story_text.split()))


def crew_plugin(run: Any = count, output: Any = Out, name: str = "count") -> Any:
    class Plugin:
        @hookimpl
        def register_crews(self, register: Any) -> None:
            register(Crew(name=name, description="x", input_model=In, output_model=output,
                          run=run, example_inputs={"story_text": "a b c"}))

    return Plugin()


def test_a_sound_plugin_passes() -> None:
    report = check_plugin(crew_plugin(), entry_points_for_tools=())
    assert report.crews == {"count": "succeeded"}
    assert report.hooks == ["register_crews"]


def test_a_hook_with_wrong_arguments_is_named() -> None:
    class Plugin:
        @hookimpl
        def register_crews(self, register: Any, extra: Any) -> None:
            pass

    with pytest.raises(ContractError, match=r"invalid hook.*register_crews"):
        check_plugin(Plugin(), entry_points_for_tools=())


def test_an_unknown_hook_is_named() -> None:
    class Plugin:
        @hookimpl
        def register_stories(self, register: Any) -> None:
            pass

    with pytest.raises(ContractError, match="register_stories"):
        check_plugin(Plugin(), entry_points_for_tools=())


def test_a_plugin_without_hooks_fails() -> None:
    with pytest.raises(ContractError, match="implements no novelcrew hook"):
        check_plugin(object(), entry_points_for_tools=())


def test_a_crew_clashing_with_a_builtin_name_fails() -> None:
    class Plugin:
        @hookimpl
        def register_job_backends(self, register: Any) -> None:
            from novelcrew import JobBackendSpec

            register(JobBackendSpec(name="inline", description="mine", factory=lambda s, p: None))

    with pytest.raises(ContractError, match=r"failed to register.*'inline'"):
        check_plugin(Plugin(), entry_points_for_tools=())


def test_a_crew_that_fails_to_run_fails_the_check() -> None:
    async def broken(ctx: Any, inputs: In) -> Out:
        raise RuntimeError("forgot to write the crew")

    with pytest.raises(ContractError, match=r"did not run end to end.*forgot to write the crew"):
        check_plugin(crew_plugin(run=broken), entry_points_for_tools=())


def test_a_crew_returning_the_wrong_shape_fails_the_check() -> None:
    async def wrong(ctx: Any, inputs: In) -> Any:
        return {"pages": 3}

    with pytest.raises(ContractError, match="did not run end to end"):
        check_plugin(crew_plugin(run=wrong), entry_points_for_tools=())


def test_an_output_model_without_a_json_schema_fails() -> None:
    class Opaque:
        pass

    class Weird(BaseModel):
        model_config = {"arbitrary_types_allowed": True}
        thing: Opaque

    with pytest.raises(ContractError, match="output model has no JSON schema"):
        check_plugin(crew_plugin(output=Weird), entry_points_for_tools=())


def test_crews_run_on_the_given_scripted_llm() -> None:
    async def ask(ctx: Any, inputs: In) -> Out:
        from crewai import Agent, Task
        from crewai import Crew as CrewAICrew

        agent = Agent(role="Counter", goal="count", backstory="b", llm=ctx.llm("Counter"))
        task = Task(description="count: {story_text}", expected_output="JSON", agent=agent,
                    output_pydantic=Out)
        result = await ctx.kickoff(CrewAICrew(agents=[agent], tasks=[task]),
                                   {"story_text": inputs.story_text})
        return result.pydantic

    llm = ScriptedLLM(replies={"Counter": '{"words": 99}'})
    report = check_plugin(crew_plugin(run=ask), llm=llm, entry_points_for_tools=())
    assert report.crews == {"count": "succeeded"}
    assert len(llm.calls) == 1 and "a b c" in llm.calls[0].prompt


def test_a_renderer_that_fails_on_the_crews_output_fails_the_check() -> None:
    from rich.text import Text

    from novelcrew import Renderer

    def plugin(field: str) -> Any:
        class Plugin:
            @hookimpl
            def register_crews(self, register: Any) -> None:
                register(Crew(name="count", description="x", input_model=In, output_model=Out,
                              run=count, example_inputs={"story_text": "a b c"}))

            @hookimpl
            def register_renderers(self, register: Any) -> None:
                register(Renderer(name="words", description="x", crews=("count",),
                                  render=lambda result: Text(f"{result[field]} words")))

        return Plugin()

    with pytest.raises(ContractError, match=r"crew 'count': renderer 'words' of plugin "
                       r"'Plugin' failed on its output: KeyError: 'word_count'"):
        check_plugin(plugin("word_count"), entry_points_for_tools=())
    report = check_plugin(plugin("words"), entry_points_for_tools=())
    assert report.renderers == ["words"] and report.crews == {"count": "succeeded"}
