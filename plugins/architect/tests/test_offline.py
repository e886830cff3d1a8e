"""The real ``offline`` model on the example stories: valid analyses, honestly labelled, and
never a placeholder or a piece of prompt scaffolding passed off as content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from architect_fixtures import EXAMPLES, RecordingGraph

from novelcrew_architect.models import StoryAnalysis
from novelcrew_sdk import make_plugins, make_settings, run_job

STORIES = sorted(EXAMPLES.glob("*.txt"))
#: prompt scaffolding and placeholders that must never become a field's value
SCAFFOLDING = ("Summary:", "Story:", "(none", "Relationships:", "STORY TEXT", "PREVIOUS CONTEXT",
               "<<<", ">>>", "JSON schema", "Arc:", "CHARACTERS", "SCENES IN ORDER")


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")


async def run_offline(tmp_path: Path, graph: RecordingGraph, story: str,
                      **settings: Any) -> StoryAnalysis:
    plugins = make_plugins(graph.plugin(), entry_points=["architect"])
    job, _ = await run_job(plugins, "architect", {"story_text": story},
                           settings=make_settings(tmp_path / "data", default_model="offline",
                                                  **settings),
                           project_id="proj-offline")
    assert job.status == "succeeded", job.error
    return StoryAnalysis.model_validate(job.result["architect"])


@pytest.mark.parametrize("path", STORIES, ids=[p.stem for p in STORIES])
@pytest.mark.parametrize("budget", [12_000, 3_000], ids=["one-chunk", "many-chunks"])
async def test_no_field_holds_prompt_scaffolding(tmp_path: Path, graph: RecordingGraph,
                                                 path: Path, budget: int) -> None:
    story = path.read_text("utf-8")
    analysis = await run_offline(tmp_path, graph, story, prompt_token_budget=budget)
    assert analysis.model.offline is True
    result = analysis.model_dump(exclude={"model"})
    for where, text in strings(result):
        for marker in SCAFFOLDING:
            assert marker not in text, (where, marker, text[:200])
    # every scene's text is the story's own, at its span
    normalised = "\n".join(line.rstrip() for line in story.replace("\r\n", "\n").split("\n"))
    for scene in analysis.scenes:
        assert scene.text and scene.text in normalised
        # plain-matching guesses, but always in the enums the director schedules by
        assert scene.int_ext in ("INT", "EXT")
        assert scene.day_night in ("DAY", "NIGHT", "DAWN", "DUSK")
    # the graph gets no scaffolding either (its own "Key: value" lines are its format)
    for where, text in strings(graph.merged()):
        for marker in set(SCAFFOLDING) - {"Arc:"}:
            assert marker not in text, (where, marker, text[:200])


async def test_offline_model_analyses_an_example_story(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    story = (EXAMPLES / "the-last-shift-at-vell-street.txt").read_text("utf-8")
    analysis = await run_offline(tmp_path, graph, story)
    assert analysis.title == "The Last Shift at Vell Street"
    assert analysis.model.ids == ["offline"]
    assert analysis.model.offline is True
    assert "not an understanding" in analysis.model.note
    names = " ".join([c.name for c in analysis.characters]
                     + [a for c in analysis.characters for a in c.aliases])
    for real in ("Rosa", "Theo", "Halvorsen"):
        assert real in names, (real, names)
    assert analysis.scenes, "the offline model finds at least one scene"
    assert [s.number for s in analysis.scenes] == list(range(1, len(analysis.scenes) + 1))
    assert analysis.statistics.words == len(story.split())
    assert graph.payloads, "the graph is written for offline runs too"
