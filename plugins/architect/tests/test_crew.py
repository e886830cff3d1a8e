"""The architect crew through the job runner: scripted replies, merging, progress, graph."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from architect_fixtures import (
    ANALYST,
    ARCHITECT,
    STORY,
    SYNTHESIS_REPLY,
    RecordingGraph,
    chapter_reply,
    story_text_of,
)

from novelcrew_architect.models import StoryAnalysis
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM


def scripted() -> ScriptedLLM:
    return ScriptedLLM(replies={ANALYST: chapter_reply, ARCHITECT: json.dumps(SYNTHESIS_REPLY)})


async def run_architect(tmp_path: Any, graph: RecordingGraph, llm: ScriptedLLM,
                        inputs: dict[str, Any], **kwargs: Any) -> tuple[Any, list[Any]]:
    plugins = make_plugins(graph.plugin(), entry_points=["architect"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted",
                             **kwargs.pop("settings", {}))
    return await run_job(plugins, "architect", inputs, settings=settings,
                         project_id=kwargs.pop("project_id", "proj-salt"), **kwargs)


def test_plugin_lists_its_crew_without_importing_crewai() -> None:
    plugins = make_plugins(entry_points=["architect"])
    info = plugins.infos["architect"]
    assert info.error is None
    assert info.crews == ["architect"]
    spec = plugins.registry.crews["architect"].spec
    assert spec.tools == ("kg_insert_custom_kg",)
    assert spec.optional_tools == ("payload_read_story",)
    assert spec.agents == ("Story Structure Analyst", "Knowledge Graph Architect")
    assert spec.input_model.__name__ == "ArchitectInput"
    assert spec.output_model is StoryAnalysis
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys, novelcrew_architect.plugin; print('crewai' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )
    assert probe.stdout.strip() == "False"


async def test_chapters_merge_into_one_entry_per_character_and_place(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    llm = scripted()
    job, events = await run_architect(tmp_path, graph, llm, {"story_text": STORY},
                                      config={"chunk_tokens": 150})
    assert job.status == "succeeded", job.error
    analysis = StoryAnalysis.model_validate(job.result["architect"])

    # three chapters -> three analysis prompts, each with one chapter's text
    analyst_calls = llm.calls_for(ANALYST)
    assert analysis.statistics.chunks == 3
    assert len(analyst_calls) == 3
    assert sorted(re.findall(r"^Chapter \d$", story_text_of(c.prompt), re.M)
                  for c in analyst_calls) == [["Chapter 1"], ["Chapter 2"], ["Chapter 3"]]

    names = {c.name: c for c in analysis.characters}
    # the fullest name any chunk used is the entry's name; every other one is an alias
    assert set(names) == {"Dr. Ines Calder", "Oskar Brandt", "Father Mellor"}
    ines = names["Dr. Ines Calder"]
    assert set(ines.aliases) == {"Ines", "Dr. Calder"}
    assert set(names["Oskar Brandt"].aliases) == {"Oskar", "the harbourmaster"}
    assert ines.role == "protagonist"
    assert "Chooses truth over comfort." in ines.arc
    assert names["Oskar Brandt"].role == "deuteragonist"
    assert [(r.to, r.kind) for r in ines.relationships] == [
        ("Oskar Brandt", "acquaintance"), ("Oskar Brandt", "adversary")]
    assert [(r.to, r.kind) for r in names["Oskar Brandt"].relationships] == [
        ("Dr. Ines Calder", "guide")]

    places = [loc.name for loc in analysis.locations]
    assert sorted(places) == ["Parish Church", "Saltmarsh Jetty", "Station House",
                              "the lighthouse"]
    assert [o.name for o in analysis.objects] == ["The Ledger"]

    # scenes renumbered across chunks, in story order, names resolved to merged entries
    assert [s.number for s in analysis.scenes] == [1, 2, 3, 4, 5, 6]
    assert [s.purpose for s in analysis.scenes] == [
        "setup", "inciting incident", "exposition", "reveal", "climax", "resolution"]
    assert analysis.scenes[4].characters == ["Dr. Ines Calder", "Oskar Brandt"]
    assert analysis.scenes[3].location == "the lighthouse"
    assert analysis.scenes[0].time_of_day == "EVENING"
    assert analysis.scenes[5].objects == ["The Ledger"]

    # the overview comes from the synthesis step, which never saw the story text
    assert analysis.logline == SYNTHESIS_REPLY["logline"]
    assert analysis.themes == SYNTHESIS_REPLY["themes"]
    synthesis = llm.calls_for(ARCHITECT)
    assert len(synthesis) == 1
    assert "Saltmarsh Station on the last ferry" not in synthesis[0].prompt
    assert "Oskar Brandt" in synthesis[0].prompt
    assert analysis.model.ids == ["scripted"]
    assert analysis.model.offline is False
    assert analysis.statistics.model_calls == 4
    assert analysis.statistics.words == len(STORY.split())

    # progress: announced up front, every task finished
    assert job.progress.total_tasks == 5
    assert job.progress.completed_tasks == 5
    started = [e.message for e in events if e.type == "task_started"]
    assert sum("Analyse part" in m for m in started) == 3
    assert "Write the knowledge graph" in started
    totals = [e.data["total_tasks"] for e in events if e.type == "progress"]
    assert totals and set(totals) == {5}
