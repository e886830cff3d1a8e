"""The prompts the architect really sends, recorded by a local OpenAI-compatible server.

crewAI adds "Preserve the original content exactly as-is" to tasks with structured output;
the architect's tasks name every field themselves and validate answers in Python, so no
prompt carries that text. A real model's prompt does not repeat the fields as a JSON schema
(only the offline stand-in, which fills schemas, gets one): every field the answer can hold is
named in the task's own text. Temperature and max tokens are set per task, and a job's ``config``
overrides them (for every task, or for one, which wins: the most specific setting).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from architect_fixtures import STORY, SYNTHESIS_REPLY, RecordingGraph, chapter_reply

from novelcrew_architect.crew import schema_text
from novelcrew_architect.models import ChunkAnalysis, StoryAnalysis, StorySynthesis
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.openai_server import OpenAIServer

FORBIDDEN = ("Preserve the original content", "Do NOT rewrite, paraphrase")


def prompt_of(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages") or [])


def answer(body: dict[str, Any]) -> str:
    prompt = prompt_of(body)
    return chapter_reply(prompt) if "STORY TEXT:" in prompt else json.dumps(SYNTHESIS_REPLY)


@pytest.fixture
def server() -> Any:
    with OpenAIServer(default=answer) as running:
        yield running


def fields(schema: dict[str, Any]) -> set[str]:
    """Every property name of a JSON schema, nested definitions included."""
    names = set(schema.get("properties", {}))
    for sub in schema.get("$defs", {}).values():
        names |= set(sub.get("properties", {}))
    return names


async def run(tmp_path: Any, server: OpenAIServer, graph: RecordingGraph,
              config: dict[str, Any] | None = None) -> Any:
    plugins = make_plugins(graph.plugin(), entry_points=["architect"])
    settings = make_settings(tmp_path / "data", default_model="openai/story-model",
                             openai_base_url=server.url)
    job, _ = await run_job(plugins, "architect",
                           {"story_text": STORY, "language": "Français"},
                           settings=settings, project_id="proj-prompts", config=config or {})
    return job


async def test_no_prompt_asks_to_preserve_the_original_content(
    tmp_path: Any, server: OpenAIServer, graph: RecordingGraph
) -> None:
    job = await run(tmp_path, server, graph, {"chunk_tokens": 150})
    assert job.status == "succeeded", job.error
    calls = server.calls
    assert len(calls) == 4  # three chapters and the overview
    for call in calls:
        prompt = prompt_of(call.body)
        for text in FORBIDDEN:
            assert text not in prompt
        # no schema for a real model; the task's text names every field the answer holds
        assert "JSON schema" not in prompt
        output = ChunkAnalysis if "STORY TEXT:" in prompt else StorySynthesis
        for name in fields(json.loads(schema_text(output))):
            assert f'"{name}"' in prompt, (output.__name__, name)
    analysis = StoryAnalysis.model_validate(job.result["architect"])
    assert len(analysis.scenes) == 6 and analysis.scenes[0].text
    # the story's language goes into every prompt and on to the director, in the result
    assert all("Français" in prompt_of(c.body) for c in calls)
    assert analysis.language == "Français"


async def test_temperature_and_max_tokens_are_set_per_task_and_overridable(
    tmp_path: Any, server: OpenAIServer, graph: RecordingGraph
) -> None:
    job = await run(tmp_path, server, graph)
    assert job.status == "succeeded", job.error
    sent = {("STORY TEXT:" in prompt_of(c.body), c.body.get("temperature"),
             c.body.get("max_tokens")) for c in server.calls}
    assert sent == {(True, 0.2, 12_000), (False, 0.4, 2_000)}

    server.clear()
    # a job-wide setting, and a per-task one, which wins over it (the most specific wins)
    job = await run(tmp_path, server, graph, {
        "temperature": 0.0, "max_tokens": 5000,
        "tasks": {"synthesise_story": {"max_tokens": 900, "temperature": 0.9}}})
    assert job.status == "succeeded", job.error
    sent = {("STORY TEXT:" in prompt_of(c.body), c.body.get("temperature"),
             c.body.get("max_tokens")) for c in server.calls}
    assert sent == {(True, 0.0, 5000), (False, 0.9, 900)}

    server.clear()
    # a whole number written as a float (all a JSON client may have) counts, as core's does
    job = await run(tmp_path, server, graph, {"tasks": {"synthesise_story": {
        "max_tokens": 900.0}}})
    assert job.status == "succeeded", job.error
    sent = {("STORY TEXT:" in prompt_of(c.body), c.body.get("max_tokens"))
            for c in server.calls}
    assert sent == {(True, 12_000), (False, 900)}

    server.clear()
    job = await run(tmp_path, server, graph, {"tasks": {"analyse_chunk": {"temperature": 0.7}}})
    assert job.status == "succeeded", job.error
    sent = {("STORY TEXT:" in prompt_of(c.body), c.body.get("temperature"))
            for c in server.calls}
    assert sent == {(True, 0.7), (False, 0.4)}


async def test_an_impossible_setting_is_a_clear_input_error(
    tmp_path: Any, server: OpenAIServer, graph: RecordingGraph
) -> None:
    job = await run(tmp_path, server, graph, {"temperature": 7})
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "invalid_input"
    assert "config.temperature" in job.error.message
    assert job.error.details["errors"][0]["loc"] == ["config", "temperature"]
    assert server.calls == []  # refused before any model was asked


async def test_without_a_language_the_story_s_own_is_used_and_carried_on(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    def french(body: dict[str, Any]) -> str:
        prompt = prompt_of(body)
        if "STORY TEXT:" not in prompt:
            return json.dumps(SYNTHESIS_REPLY)
        return json.dumps({**json.loads(chapter_reply(prompt)), "story_language": "french"})

    with OpenAIServer(default=french) as server:
        plugins = make_plugins(graph.plugin(), entry_points=["architect"])
        settings = make_settings(tmp_path / "data", default_model="openai/story-model",
                                 openai_base_url=server.url)
        job, _ = await run_job(plugins, "architect", {"story_text": STORY}, settings=settings,
                               project_id="proj-lang", config={"chunk_tokens": 150})
        prompts = [prompt_of(c.body) for c in server.calls]
    assert job.status == "succeeded", job.error
    analysis = StoryAnalysis.model_validate(job.result["architect"])
    assert (analysis.language, analysis.story_language) == ("French", "French")
    readers = [p for p in prompts if "STORY TEXT:" in p]
    assert all("in the language the story is written in" in p for p in readers)
    overview = next(p for p in prompts if "STORY TEXT:" not in p)
    assert "Write in French." in overview
