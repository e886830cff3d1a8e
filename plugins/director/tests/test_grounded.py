"""The director on grounded scenes (text, INT/EXT, DAY/NIGHT, story day, dialogue with
speakers, ids), through a real OpenAI-compatible HTTP server that records every prompt."""

from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from director_fixtures import (
    GROUNDED,
    GROUNDED_TEXTS,
    FixedArchitect,
    MemoryGraph,
    graph_plugin,
    grounded_breakdown,
    grounded_shots,
)

from novelcrew_director import ScenePlan
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.openai_server import OpenAIServer

PRESERVE = "Preserve the original content"


def _answer(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    text = "\n".join(str(m.get("content") or "") for m in messages)
    number = int(re.search(r"^SCENE (\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    reply = grounded_shots(number) if "Cinematography Specialist" in text \
        else grounded_breakdown(number)
    return f"Thought: done.\nFinal Answer: {json.dumps(reply)}"


async def run_grounded(tmp_path: Path, server: OpenAIServer, result: dict[str, Any],
                       inputs: dict[str, Any] | None = None,
                       config: dict[str, Any] | None = None,
                       events: list[Any] | None = None) -> Any:
    plugins = make_plugins(graph_plugin(MemoryGraph()), FixedArchitect(result),
                           entry_points=["director"])
    settings = make_settings(tmp_path / "data", default_model="openai/director-test",
                             openai_base_url=server.url, openai_api_key="sk-test")
    job, log = await run_job(plugins, "architect,director", inputs or {}, settings=settings,
                             project_id="ferry", config=config)
    if events is not None:
        events.extend(log)
    assert job.status == "succeeded", job.error
    return ScenePlan.model_validate(job.result["director"])


def prompts(server: OpenAIServer) -> list[tuple[str, str]]:
    """(agent, whole prompt) of every chat request the server received."""
    out = []
    for request in server.calls:
        text = "\n".join(str(m.get("content") or "") for m in request.messages)
        agent = "camera" if "Cinematography Specialist" in text else "director"
        out.append((agent, text))
    return out


async def test_the_brief_carries_the_text_and_the_sheets_mark_suggestions(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="novelcrew_director")
    with OpenAIServer(default=_answer) as server:
        events: list[Any] = []
        plan = await run_grounded(tmp_path, server, GROUNDED,
                                  {"constraints": {"pages_per_day": 0.25}}, events=events)
        sent = prompts(server)
    assert len(sent) == 6
    for _agent, text in sent:
        assert PRESERVE not in text  # crewAI's structured-output instruction is never sent
        assert "Language of the story: English" in text and "in English" in text
        assert "JSON schema:" not in text  # a real model reads the keys; the offline one fills
        # a schema
    breakdowns = [text for agent, text in sent if agent == "director"]
    shot_prompts = [text for agent, text in sent if agent == "camera"]
    # the breakdown prompt carries the scene's own text and the full character entries
    for number, text in enumerate(GROUNDED_TEXTS, start=1):
        own = next(p for p in breakdowns if f"SCENE {number} (id s00{number})" in p)
        assert text.split("\n")[0] in own
        assert all(other.split("\n")[0] not in own for other in GROUNDED_TEXTS if other != text)
    first = next(p for p in breakdowns if "SCENE 1 " in p)
    assert "trusting Tam with the crossing" in first  # the arc, whole
    assert "cousin of Thomas Reid (they bicker like siblings)" in first
    assert "- nora = Nora Quill" in first and "- tam = Thomas Reid" in first
    assert "Set: EXT / Kessel Slipway / NIGHT, story day 1" in first
    # the shot-list prompt has the dialogue with speakers, not the prose again
    shots1 = next(p for p in shot_prompts if "SCENE 1 " in p)
    assert "- nora: Tam, get the rope," in shots1 and "Rain hammered" not in shots1

    one, two, three = plan.scenes
    assert (one.id, one.heading) == ("s001", "EXT. KESSEL SLIPWAY - NIGHT")
    assert three.heading == "INT. HARBOUR OFFICE - NIGHT" and one.story_day == 1
    sheet = one.breakdown
    assert sheet.cast == ["nora", "tam"] and two.breakdown.cast == ["nora", "tam"]
    props = {i.item: i.suggested for i in sheet.props}
    assert props == {"coil of rope": False, "thermos flask": True, "rope": False}
    assert [(i.character, i.item, i.suggested) for i in sheet.wardrobe] == [
        ("nora", "yellow oilskins", True), ("tam", "soaked wool jumper", True)]
    assert [(i.item, i.suggested) for i in sheet.vehicles] == [("old Bedford van", False)]
    assert [(i.item, i.suggested) for i in sheet.animals] == [("Biscuit the terrier", False)]
    assert [(i.item, i.suggested) for i in sheet.sound_music] == [("gulls", False),
                                                                  ("foghorn", True)]
    assert sheet.page_eighths >= 2 and sheet.pages
    # continuity is computed against the previous scene; the model's notes follow
    assert sheet.continuity == ["the rope is wet"]  # the first scene has no previous one
    notes = " | ".join(two.breakdown.continuity)
    # people by name: the notes are read by the crew
    assert "from scene 1: Nora Quill, Thomas Reid in the same wardrobe" in notes
    assert "Nora Quill: yellow oilskins" in notes and "props carried from scene 1" in notes
    assert "weather and light continue from scene 1" in notes
    # shots speak the vocabulary, subjects by character id (unknown names dropped)
    wide, close = one.shots
    assert (wide.size, wide.support, wide.coverage, wide.lens_mm) == ("WS", "sticks",
                                                                       "master", 24)
    assert wide.subjects == ["nora", "tam"]
    assert (close.size, close.movement, close.support, close.coverage) == (
        "CU", "handheld", "handheld", "single")
    assert close.lens_mm == 50 and close.subjects == ["nora"]
    # the schedule: one page a day, night exteriors before the interior, by location
    schedule = plan.schedule
    # a quarter page a day: 3/8 scenes split over two days, the office joins the last day
    assert [[(s.scene, s.eighths, s.part) for s in d.strips] for d in schedule.days] == [
        [(1, 2, "1/2")], [(1, 1, "2/2")], [(2, 2, "1/2")], [(2, 1, "2/2"), (3, 1, None)]]
    assert schedule.days[3].company_moves == 1 == plan.totals.company_moves
    assert plan.totals.shooting_days == 4
    rows = {r.character_id: r.codes for r in schedule.day_out_of_days}
    assert rows == {"nora": ["SW", "W", "W", "WF"], "tam": ["SW", "W", "W", "WF"],
                    "harbourmaster": ["", "", "", "SWF"]}
    assert schedule.day_out_of_days[0].name == "Nora Quill"
    assert plan.language == "English"
    # three short scenes cannot fit 1.5x: nothing is cut, and the operator's log says why; a
    # note on cost, not on the plan, so neither the plan nor the job's events warn of it
    assert "too short for the prompt budget" in caplog.text
    assert not any("prompt budget" in w for w in plan.warnings)
    assert not any("prompt budget" in e.message for e in events)


async def test_a_long_scene_is_trimmed_with_a_note(tmp_path: Path) -> None:
    result = copy.deepcopy(GROUNDED)
    long_text = " ".join(f"Wave {i} broke over the bow." for i in range(2000))
    result["scenes"] = [dict(result["scenes"][0], text=long_text + " THE LAST LINE.")]
    with OpenAIServer(default=_answer) as server:
        plan = await run_grounded(tmp_path, server, result, {"scene_text_chars": 3000})
        breakdown = next(text for agent, text in prompts(server) if agent == "director")
    assert "Wave 0 broke" in breakdown and "THE LAST LINE." in breakdown
    assert "Wave 1000 broke" not in breakdown
    assert re.search(r"\[\.\.\. \d+ words of the middle of this scene are left out", breakdown)
    assert any("trimmed to fit the prompt budget" in w and "at most 3000 characters" in w
               for w in plan.warnings)
    assert plan.scenes[0].breakdown.page_eighths > 40  # pages count the whole text


async def test_without_grounded_fields_the_earlier_shape_still_plans(tmp_path: Path) -> None:
    earlier = {"title": "Two Rooms",
               "characters": [{"name": "Ada", "role": "protagonist"}],
               "locations": [{"name": "Ward Six"}],
               "scenes": [{"number": 1, "summary": "Ada finds the ward empty.",
                           "location": "Ward Six", "time_of_day": "NIGHT",
                           "characters": ["Ada"], "dialogue": ["Hello?"]}]}

    def answer(body: dict[str, Any]) -> str:
        text = "\n".join(str(m.get("content") or "") for m in body.get("messages") or [])
        if "Cinematography Specialist" in text:
            return 'Final Answer: {"shots": [{"shot_type": "wide", "duration": "5s"}]}'
        return 'Final Answer: {"heading": "INT. WARD SIX - NIGHT", "summary": "Empty ward."}'

    with OpenAIServer(default=answer) as server:
        plan = await run_grounded(tmp_path, server, earlier)
    scene = plan.scenes[0]
    assert scene.heading == "INT. WARD SIX - NIGHT" and scene.breakdown.cast == ["ada"]
    assert scene.int_ext == "INT" and scene.day_night == "NIGHT"
    assert scene.breakdown.page_eighths == 1  # no text: a minute of screen time a page
    assert plan.schedule.shooting_days == 1


async def test_sampling_is_set_per_task_and_the_most_specific_wins(tmp_path: Path) -> None:
    def sampling(server: OpenAIServer) -> set[tuple[str, Any, Any]]:
        out = set()
        for request in server.calls:
            text = "\n".join(str(m.get("content") or "") for m in request.messages)
            agent = "camera" if "Cinematography Specialist" in text else "director"
            tokens = request.body.get("max_tokens", request.body.get("max_completion_tokens"))
            out.add((agent, request.body.get("temperature"), tokens))
        return out

    with OpenAIServer(default=_answer) as server:
        await run_grounded(tmp_path / "a", server, GROUNDED, {"scenes": "1"})
        assert sampling(server) == {("director", 0.3, 4000), ("camera", 0.5, 4000)}
        server.clear()
        await run_grounded(tmp_path / "b", server, GROUNDED, {"scenes": "1"}, config={
            "max_tokens": 3000, "tasks": {"shot_list": {"temperature": 0.9}}})
        assert sampling(server) == {("director", 0.3, 3000), ("camera", 0.9, 3000)}
        server.clear()
        # one task's setting wins over the job-wide one (the most specific wins)
        await run_grounded(tmp_path / "c", server, GROUNDED, {"scenes": "1"}, config={
            "temperature": 0.2, "max_tokens": 3000,
            "tasks": {"shot_list": {"temperature": 0.9, "max_tokens": 5000}}})
        assert sampling(server) == {("director", 0.2, 3000), ("camera", 0.9, 5000)}


async def test_alone_the_director_reads_the_scene_text_from_the_graph(tmp_path: Path) -> None:
    """The architect's graph format: ``Key: value`` scene lines and the text as a chunk."""
    graph = MemoryGraph()
    description = "\n".join([
        "Scene 1: Nora and Tam load the van in the rain.", "Id: s001",
        "Location: Kessel Slipway", "Location id: slipway", "Int/Ext: EXT",
        "Day/Night: NIGHT", "Story day: 1", "Characters: Nora Quill, Thomas Reid",
        "Character ids: nora, tam",
        'Dialogue: nora: "Tam, get the rope," | tam: "It\'s soaked through,"',
        "Objects: rope", "Span: 0-100", "Text chunk: scene-s001"])
    graph.insert("ferry", {
        "chunks": [{"content": GROUNDED_TEXTS[0], "source_id": "scene-s001"}],
        "entities": [{"entity_name": "Scene 1", "entity_type": "scene",
                      "description": description, "source_id": "scene-s001"},
                     {"entity_name": "Nora Quill", "entity_type": "character",
                      "description": "A ferry mechanic.", "source_id": "scene-s001"}],
        "relationships": []})
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"])
    with OpenAIServer(default=_answer) as server:
        settings = make_settings(tmp_path / "data", default_model="openai/director-test",
                                 openai_base_url=server.url, openai_api_key="sk-test")
        job, _ = await run_job(plugins, "director", {}, settings=settings, project_id="ferry")
        breakdown = next(text for agent, text in prompts(server) if agent == "director")
        shots = next(text for agent, text in prompts(server) if agent == "camera")
    assert job.status == "succeeded", job.error
    assert GROUNDED_TEXTS[0].split("\n")[0] in breakdown  # the text, from its chunk
    assert "Text chunk" not in breakdown and "Span" not in breakdown
    assert "- nora = Nora Quill: A ferry mechanic" in breakdown
    assert "- nora: Tam, get the rope," in shots
    scene = ScenePlan.model_validate(job.result["director"]).scenes[0]
    assert (scene.id, scene.heading, scene.story_day) == (
        "s001", "EXT. KESSEL SLIPWAY - NIGHT", 1)
    assert scene.breakdown.cast == ["nora", "tam"] and scene.breakdown.page_eighths >= 2
    # the scene written back keeps the architect's lines (the graph merges by key)
    written = next(e for kg in graph.inserts[1:] for e in kg["entities"]
                   if e["entity_name"] == "Scene 1")
    assert "Text chunk: scene-s001" in written["description"]
    assert "Heading: EXT. KESSEL SLIPWAY - NIGHT" in written["description"]


async def test_shots_that_cannot_fill_their_scene_s_pages_are_flagged(tmp_path: Path) -> None:
    """Novel Movie films each shot for its duration: two shots of 10 s in all for a scene of
    several eighths leave most of it unfilmed. The model's durations are kept, and the plan
    says which scenes run under half (or over twice) a minute a page."""
    with OpenAIServer(default=_answer) as server:
        plan = await run_grounded(tmp_path, server, copy.deepcopy(GROUNDED))
    flagged = [w for w in plan.warnings if "at a minute a page" in w]
    expected = []
    for scene in plan.scenes:
        page_seconds = scene.breakdown.page_eighths * 7.5
        assert scene.screen_seconds == 10  # as the model gave them
        if scene.screen_seconds < page_seconds / 2:
            expected.append(f"scene {scene.number}: its shots run 10 s, under half its "
                            f"{scene.breakdown.pages} page"
                            f"{'s' if scene.breakdown.page_eighths > 8 else ''} "
                            f"(about {page_seconds:.0f} s at a minute a page)")
    assert expected and flagged == expected
