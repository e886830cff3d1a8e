"""The real ``offline`` model on an example story: a valid analysis, honestly labelled."""

from __future__ import annotations

from typing import Any

from architect_fixtures import EXAMPLES, RecordingGraph

from novelcrew_architect.models import StoryAnalysis
from novelcrew_sdk import make_plugins, make_settings, run_job


async def test_offline_model_analyses_an_example_story(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    story = (EXAMPLES / "the-last-shift-at-vell-street.txt").read_text("utf-8")
    plugins = make_plugins(graph.plugin(), entry_points=["architect"])
    settings = make_settings(tmp_path / "data", default_model="offline")
    job, _ = await run_job(plugins, "architect", {"story_text": story}, settings=settings,
                           project_id="proj-vell")
    assert job.status == "succeeded", job.error
    analysis = StoryAnalysis.model_validate(job.result["architect"])

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
