"""The architect crew through the job runner: scripted replies, merging, progress, graph."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
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
    assert spec.optional_tools == ("payload_read_story", "kg_new_version")
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
    # each scene carries its exact text, located from the model's opening and closing words
    story = STORY.strip()
    for scene in analysis.scenes:
        assert scene.located
        assert scene.text == story[scene.span.start:scene.span.end]
    assert analysis.scenes[0].text.startswith("Dr. Ines Calder arrived")
    assert analysis.scenes[0].text.endswith("Nobody has found it.\"")
    assert analysis.scenes[1].text.endswith("swollen with salt.")
    assert analysis.scenes[4].text.startswith("Dr. Calder confronted Oskar")
    assert [s.id for s in analysis.scenes] == [f"s00{n}" for n in range(1, 7)]
    assert [s.day_night for s in analysis.scenes] == ["DUSK", "NIGHT", "DAY", "DAY", "DUSK",
                                                      "DAWN"]
    assert analysis.scenes[0].time_of_day == "DUSK"  # derived, for older readers
    assert [s.int_ext for s in analysis.scenes] == ["EXT", "INT", "EXT", "INT", "INT", "INT"]
    assert [s.story_day for s in analysis.scenes] == [1, 1, 2, 2, 2, 3]
    # every spoken line, verbatim from the text, with its speaker resolved to the character
    assert [(d.speaker, d.line) for d in analysis.scenes[0].dialogue] == [
        ("Oskar Brandt", "You're the new doctor,"),
        ("Oskar Brandt", "The last one kept a ledger. Nobody has found it."),
    ]
    assert [(d.speaker, d.line) for d in analysis.scenes[4].dialogue] == [
        ("Dr. Ines Calder", "Your father is in this ledger,"), ("Dr. Ines Calder", "Twice.")]
    ids = {c.name: c.id for c in analysis.characters}
    assert ids["Dr. Ines Calder"] == "dr-ines-calder"
    assert analysis.scenes[4].character_ids == ["dr-ines-calder", "oskar-brandt"]
    assert {loc.id for loc in analysis.locations} >= {"station-house", "parish-church"}
    assert analysis.scenes[1].location_id == "station-house"
    assert analysis.language == "English"
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


async def test_graph_written_matches_the_analysis(tmp_path: Any, graph: RecordingGraph) -> None:
    job, _ = await run_architect(tmp_path, graph, scripted(), {"story_text": STORY},
                                 config={"chunk_tokens": 150})
    assert job.status == "succeeded", job.error
    analysis = StoryAnalysis.model_validate(job.result["architect"])
    kg = graph.merged()
    assert graph.projects == ["proj-salt"]

    entities = {(e["entity_name"], e["entity_type"]) for e in kg["entities"]}
    expected = (
        {(c.name, "character") for c in analysis.characters}
        | {(loc.name, "location") for loc in analysis.locations}
        | {(o.name, "object") for o in analysis.objects}
        | {(f"Scene {s.number}", "scene") for s in analysis.scenes}
        | {(t, "theme") for t in analysis.themes}
        | {("Story", "story")}
    )
    assert entities == expected
    # the title, for a crew that reads the graph alone (the storyboard of a project)
    story = next(e["description"] for e in kg["entities"] if e["entity_type"] == "story")
    assert story.startswith(f"Title: {analysis.title}\n") and "\nMade by: " in story
    assert len(kg["entities"]) == len(expected)

    by_kind: dict[str, set[tuple[str, str]]] = {}
    for rel in kg["relationships"]:
        by_kind.setdefault(rel["keywords"], set()).add((rel["src_id"], rel["tgt_id"]))
    assert by_kind["appears_in"] == {
        (who, f"Scene {s.number}") for s in analysis.scenes for who in s.characters}
    assert by_kind["located_in"] == {
        (f"Scene {s.number}", s.location) for s in analysis.scenes if s.location}
    assert by_kind["precedes"] == {(f"Scene {n}", f"Scene {n + 1}") for n in range(1, 6)}
    assert by_kind["features"] == {
        (f"Scene {s.number}", o) for s in analysis.scenes for o in s.objects}
    assert by_kind["relationship"] == {
        (c.name, r.to) for c in analysis.characters for r in c.relationships}
    # chunk-level themes tie the overview's themes to the scenes they were found in
    assert ("buried guilt", "Scene 1") in by_kind["theme_of"]
    assert ("truth and atonement", "Scene 6") in by_kind["theme_of"]
    assert ("truth and atonement", "Scene 1") not in by_kind["theme_of"]
    names = {name for name, _ in entities}
    for rel in kg["relationships"]:
        assert rel["src_id"] in names and rel["tgt_id"] in names, rel
    assert analysis.graph == {"chunks": 6, "entities": len(expected),
                              "relationships": len(kg["relationships"])}

    # each scene's own text is its chunk; every entity cites a chunk that exists
    chunk_ids = [c["source_id"] for c in kg["chunks"]]
    assert chunk_ids == [f"scene-s00{n}" for n in range(1, 7)]
    assert [c["content"] for c in kg["chunks"]] == [s.text for s in analysis.scenes]
    assert "".join(c["content"] for c in kg["chunks"]).count("Father Mellor") == 1
    assert {e["source_id"] for e in kg["entities"]} <= set(chunk_ids)
    assert {r["source_id"] for r in kg["relationships"]} <= set(chunk_ids)

    scene5 = next(e for e in kg["entities"] if e["entity_name"] == "Scene 5")
    assert scene5["source_id"] == "scene-s005"
    span = analysis.scenes[4].span
    assert scene5["description"].split("\n") == [
        "Scene 5: Dr. Calder confronts Oskar; he almost burns the ledger.",
        "Id: s005",
        "Location: Station House",
        "Location id: station-house",
        "Int/Ext: INT",
        "Day/Night: DUSK",
        "Time: DUSK",
        "Story day: 2",
        "Characters: Dr. Ines Calder, Oskar Brandt",
        "Character ids: dr-ines-calder, oskar-brandt",
        "Emotional beat: confrontation",
        "Purpose: climax",
        'Dialogue: Dr. Ines Calder: "Your father is in this ledger," | '
        'Dr. Ines Calder: "Twice."',
        "Objects: The Ledger",
        f"Span: {span.start}-{span.end}",
        "Text chunk: scene-s005",
    ]


async def test_malformed_answer_is_retried_with_the_error_fed_back(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    bad = json.dumps({"characters": [{"name": "Ines", "relationships": "many"}], "scenes": [
        {"summary": "no number"}]})
    seen: list[str] = []

    def flaky(prompt: str) -> str:
        seen.append(prompt)
        return bad if len(seen) == 1 else chapter_reply(prompt)

    llm = ScriptedLLM(replies={ANALYST: flaky, ARCHITECT: json.dumps(SYNTHESIS_REPLY)})
    job, events = await run_architect(tmp_path, graph, llm, {"story_text": STORY})
    assert job.status == "succeeded", job.error
    analysis = StoryAnalysis.model_validate(job.result["architect"])
    assert analysis.statistics.retries == 1
    assert len(analysis.scenes) == 6
    assert "YOUR PREVIOUS ANSWER TO THIS TASK WAS REJECTED" in seen[1]
    assert "characters.0.relationships" in seen[1] and "scenes.0.number" in seen[1]
    warnings = [e for e in events if e.type == "warning"]
    assert len(warnings) == 1 and "malformed answer" in warnings[0].message
    # the rejected attempt ran as a task of its own (the answer is checked after it)
    assert job.progress.completed_tasks == job.progress.total_tasks == 4


async def test_a_chunk_that_stays_malformed_fails_the_job_clearly(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    def broken_chapter_two(prompt: str) -> str:
        text = story_text_of(prompt)
        if "Chapter 1" in text or "Chapter 3" in text:
            return chapter_reply(prompt)
        # chapter 2, and crewAI's own attempts to convert the answer into JSON
        return "I am sorry, I cannot produce JSON for this chapter."

    llm = ScriptedLLM(replies={ANALYST: broken_chapter_two,
                               ARCHITECT: json.dumps(SYNTHESIS_REPLY)},
                      default="still not JSON")
    job, events = await run_architect(tmp_path, graph, llm, {"story_text": STORY},
                                      config={"chunk_tokens": 150})
    assert job.status == "failed"
    assert job.error is not None
    assert job.error.type == "malformed_model_answer"
    assert job.error.crew == "architect"
    assert job.error.message.startswith("chunk chunk-002 (part 2 of 3, Chapter 2): ")
    assert "after 3 attempts" in job.error.message
    assert "the answer was not a JSON object" in job.error.message
    assert job.error.details["attempts"] == 3
    chapter_two = [c for c in llm.calls_for(ANALYST) if "Chapter 2" in story_text_of(c.prompt)]
    assert len(chapter_two) == 3
    assert [e.type for e in events][-1] == "failed"
    assert graph.payloads == []  # nothing half-done reaches the graph


@pytest.mark.parametrize("limit", [3, 16])
async def test_chunks_are_analysed_all_at_once_within_the_model_limit(
    tmp_path: Any, graph: RecordingGraph, limit: int
) -> None:
    import threading
    import time

    lock, now, most, last = threading.Lock(), [0], [0], [0.0]

    def slow(prompt: str) -> str:
        """Answer once no new call has come for a while: every call that could start has."""
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
            last[0] = time.monotonic()
        deadline = time.monotonic() + 20
        while time.monotonic() - last[0] < 1.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        with lock:
            now[0] -= 1
        return chapter_reply(prompt)

    story = STORY + "".join(
        f"\nChapter {n}\n\nIn chapter {n} the tide came in and went out again.\n"
        for n in range(4, 11))
    llm = ScriptedLLM(replies={ANALYST: slow, ARCHITECT: json.dumps(SYNTHESIS_REPLY)})
    job, events = await run_architect(tmp_path, graph, llm, {"story_text": story},
                                      config={"chunk_tokens": 120},
                                      settings={"model_concurrency": limit})
    assert job.status == "succeeded", job.error
    chunks = job.result["architect"]["statistics"]["chunks"]
    assert chunks >= 6
    # every chunk's call goes out at once, as far as the model's limit lets it
    assert most[0] == min(limit, chunks)
    # each analysed chunk is published as it finishes, readable before the crew ends
    pieces = [e for e in events if e.type == "partial"]
    assert sorted(int(e.data["key"]) for e in pieces) == list(range(1, chunks + 1))
    assert {e.data["total"] for e in pieces} == {chunks}
    assert pieces[-1].seq < next(e.seq for e in events if e.type == "crew_finished")
    assert job.partial["architect"]["chunk"].done == chunks
