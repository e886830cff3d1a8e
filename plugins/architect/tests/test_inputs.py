"""Where the story comes from, and the inputs that fail at once with a clear message."""

from __future__ import annotations

import json
from typing import Any

from architect_fixtures import (
    ANALYST,
    ARCHITECT,
    STORY,
    SYNTHESIS_REPLY,
    RecordingGraph,
    chapter_reply,
)

from novelcrew import Tool, hookimpl
from novelcrew_architect.models import StoryAnalysis
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM


class StoryTool:
    """``payload_read_story`` as the payload plugin offers it: the project's story or None."""

    def __init__(self, stories: dict[str, dict[str, Any]]) -> None:
        self.stories = stories
        self.asked: list[str] = []

    def plugin(self) -> object:
        outer = self

        class _Tool:
            async def acall(self, project_id: str) -> dict[str, Any] | None:
                outer.asked.append(project_id)
                return outer.stories.get(project_id)

        class _Plugin:
            __name__ = "story-tool"

            @hookimpl
            def register_tools(self, register: Any) -> None:
                register(Tool(name="payload_read_story", description="reads a story",
                              factory=lambda ctx: _Tool()))

        return _Plugin()


async def run(tmp_path: Any, inputs: dict[str, Any], *extra: Any, **settings: Any) -> Any:
    llm = ScriptedLLM(replies={ANALYST: chapter_reply, ARCHITECT: json.dumps(SYNTHESIS_REPLY)})
    plugins = make_plugins(RecordingGraph().plugin(), *extra, entry_points=["architect"],
                           llm=llm)
    job, _ = await run_job(plugins, "architect", inputs,
                           settings=make_settings(tmp_path / "d", default_model="scripted",
                                                  **settings),
                           project_id="proj-7")
    return job


async def test_story_comes_from_payload_when_the_job_has_no_text(tmp_path: Any) -> None:
    lexical = {"root": {"type": "root", "children": [
        {"type": "paragraph", "children": [{"type": "text", "text": para}]}
        for para in STORY.split("\n\n")
    ]}}
    tool = StoryTool({"proj-7": {"id": 3, "project": "proj-7", "currentContent": lexical}})
    job = await run(tmp_path, {"preferences": {"genre": "mystery"}}, tool.plugin())
    assert job.status == "succeeded", job.error
    assert tool.asked == ["proj-7"]
    analysis = StoryAnalysis.model_validate(job.result["architect"])
    assert analysis.title == "The Salt Ledger"
    assert analysis.statistics.words == len(STORY.split())
    assert {c.name for c in analysis.characters} >= {"Dr. Ines Calder", "Oskar Brandt"}


async def test_no_text_and_no_story_in_payload_is_invalid_input(tmp_path: Any) -> None:
    job = await run(tmp_path, {"title": "Nothing"}, StoryTool({}).plugin())
    assert job.status == "failed"
    assert job.error.type == "invalid_input"
    assert job.error.message == "no story_text and no story in Payload"


async def test_no_text_without_the_payload_plugin_says_so(tmp_path: Any) -> None:
    job = await run(tmp_path, {})
    assert job.status == "failed"
    assert job.error.type == "invalid_input"
    assert job.error.message.startswith("no story_text and no story in Payload")
    assert "payload plugin" in job.error.message


async def test_blank_story_is_invalid_input(tmp_path: Any) -> None:
    job = await run(tmp_path, {"story_text": " \n\n\t  \n"})
    assert job.status == "failed"
    assert job.error.type == "invalid_input"
    [error] = job.error.details["errors"]
    assert list(error["loc"]) == ["story_text"] and error["type"] == "story_empty"
    assert "empty" in error["msg"]


async def test_story_over_the_size_limit_is_refused(tmp_path: Any) -> None:
    job = await run(tmp_path, {"story_text": STORY}, max_story_chars=200)
    assert job.status == "failed"
    assert job.error.type == "story_too_large"
    assert job.error.details == {"chars": len(STORY), "limit": 200}


async def test_preferences_reach_the_prompts(tmp_path: Any) -> None:
    llm = ScriptedLLM(replies={ANALYST: chapter_reply, ARCHITECT: json.dumps(SYNTHESIS_REPLY)})
    plugins = make_plugins(RecordingGraph().plugin(), entry_points=["architect"], llm=llm)
    job, _ = await run_job(
        plugins, "architect",
        {"story_text": STORY, "title": "Ledger", "language": "French",
         "preferences": {"genre": "gothic", "tone": "cold", "palette": "slate"}},
        settings=make_settings(tmp_path / "d", default_model="scripted"))
    assert job.status == "succeeded", job.error
    assert StoryAnalysis.model_validate(job.result["architect"]).title == "Ledger"
    for call in llm.calls:
        assert "genre: gothic; tone: cold; palette: slate" in call.prompt
        assert "French" in call.prompt
