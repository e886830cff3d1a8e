"""The architect plugin's renderer (``render.py``, registered through ``register_renderers``):
how a story analysis reads in ``novelcrew run`` and the demo, for the architect crew and for
any crew whose result is an analysis."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from rich.console import Console

from novelcrew.cli.render import render_job
from novelcrew.jobs import Job, JobStatus
from novelcrew_sdk import make_plugins

ANALYSIS = {
    "title": "The Night Ferry", "genre": "drama", "tone": "quiet",
    "logline": "A doctor takes the last ferry to an island without one.",
    "themes": ["duty", "belonging"],
    "model": {"offline": True, "note": "made by the offline stand-in"},
    "characters": [
        {"name": "Ada Kerr", "role": "protagonist", "description": "a doctor",
         "arc": "from stranger to the island's doctor",
         "relationships": [{"kind": "ally", "to": "Callum Reid"}]},
        {"name": "Callum Reid", "role": "supporting", "description": "the ferryman's son"}],
    "locations": [{"name": "Harbour Street", "description": "the surgery's street",
                   "atmosphere": "gulls over the slipway"}],
    "scenes": [{"number": 1, "int_ext": "EXT", "location": "Ferry deck", "day_night": "NIGHT",
                "characters": ["Ada Kerr", "Callum Reid"], "summary": "They meet on deck.",
                "emotional_beat": "wary", "dialogue": [
                    {"speaker": "Callum Reid", "line": "You'll be wanting the surgery key."}]}],
    "statistics": {"words": 88, "chunks": 2, "model_calls": 5},
}


def text_of(job: Job | dict[str, Any], *entry_points: str, width: int = 140) -> str:
    console = Console(record=True, width=width, color_system=None)
    render_job(job, console, make_plugins(entry_points=["architect", *entry_points]))
    return console.export_text()


def test_an_analysis_reads_as_title_logline_and_tables_of_cast_places_and_scenes() -> None:
    plugins = make_plugins(entry_points=["architect"])
    assert plugins.infos["architect"].renderers == ["story-analysis"]
    out = text_of(Job(crews=["architect"], status=JobStatus.succeeded,
                      result={"architect": ANALYSIS}))
    for text in ("The Night Ferry   drama · quiet",
                 "A doctor takes the last ferry to an island without one.",
                 "Themes: duty, belonging", "made by the offline stand-in", "Characters (2)",
                 "Ada Kerr", "protagonist", "ally of Callum Reid", "Locations (1)",
                 "gulls over the slipway", "Scenes (1)", "EXT · Ferry deck ·",
                 "They meet on deck.", "Callum Reid: “You'll be wanting the surgery key.”",
                 "wary", "88 words in 2 chunk(s), 5 model calls"):
        assert text in out, f"{text!r} missing:\n{out}"
    assert '"logline"' not in out


def test_at_80_columns_each_character_and_scene_is_a_block_not_a_table() -> None:
    cast = [{**ANALYSIS["characters"][0],
             "description": "a locum doctor from Glasgow who has never lived on an island and "
                            "means to leave on the first ferry of the spring"},
            ANALYSIS["characters"][1]]
    job = Job(crews=["architect"], status=JobStatus.succeeded,
              result={"architect": {**ANALYSIS, "characters": cast}})
    out = text_of(job, width=80)
    lines = [line.rstrip() for line in out.splitlines()]
    start = lines.index("Characters (2)")
    assert lines[start + 1] == "Ada Kerr  protagonist"
    # who, arc and relationships below the name, whole words, not cut into narrow columns
    assert lines[start + 2] == ("  a locum doctor from Glasgow who has never lived on an island "
                                "and means to")
    assert lines[start + 3:start + 6] == ["  leave on the first ferry of the spring",
                                          "  arc: from stranger to the island's doctor",
                                          "  relationships: ally of Callum Reid"]
    assert lines[start + 6:start + 8] == ["Callum Reid  supporting", "  the ferryman's son"]
    # a scene: number, where and when, beat; then who, what happens and its first line, the
    # prose's comma before a tag a full stop
    scene = {**ANALYSIS["scenes"][0], "dialogue": [
        {"speaker": "Callum Reid", "line": "You'll be wanting the surgery key,"}]}
    out = text_of(Job(crews=["architect"], status=JobStatus.succeeded,
                      result={"architect": {**ANALYSIS, "scenes": [scene]}}), width=80)
    lines = [line.rstrip() for line in out.splitlines()]
    start = lines.index("Scenes (1)")
    assert lines[start + 1:start + 5] == [
        "1. EXT · Ferry deck · NIGHT  wary", "  Ada Kerr, Callum Reid", "  They meet on deck.",
        "  Callum Reid: \u201cYou'll be wanting the surgery key.\u201d"]
    # wide enough, the tables again
    wide = text_of(job, width=140)
    assert "┃ name" in wide and "┃ where / when" in wide


def test_an_analysis_of_another_crew_is_drawn_too_but_a_scene_plan_is_not() -> None:
    out = text_of(Job(crews=["my-reader"], status=JobStatus.succeeded,
                      result={"my-reader": ANALYSIS}))
    assert "Characters (2)" in out
    plan = {**ANALYSIS, "totals": {"scenes": 1}}  # the director's plugin draws plans
    out = text_of(Job(crews=["my-planner"], status=JobStatus.succeeded,
                      result={"my-planner": plan}))
    assert "Characters (2)" not in out and '"totals"' in out


def test_the_renderer_imports_no_crewai_and_the_entry_point_not_even_rich() -> None:
    code = ("import sys, novelcrew_architect.plugin; print('rich' in sys.modules); "
            "import novelcrew_architect.render; print('crewai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
