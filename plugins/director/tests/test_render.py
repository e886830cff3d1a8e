"""The director plugin's renderer (``render.py``, registered through ``register_renderers``):
how a scene plan reads in ``novelcrew run`` and the demo, for the director crew and for any
crew whose result is a plan."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from typing import Any

from rich.console import Console

from novelcrew.cli.render import render_job
from novelcrew.jobs import Job, JobStatus, ModelUsage
from novelcrew_sdk import make_plugins


def text_of(job: Job | dict[str, Any]) -> str:
    console = Console(record=True, width=140, color_system=None)
    render_job(job, console, make_plugins(entry_points=["director"]))
    return console.export_text()


PLAN = {
    "title": "Vell Street",
    "model": {"offline": True, "note": "made by the offline stand-in"},
    "scenes": [{
        "number": 1, "heading": "INT. BAKERY - NIGHT", "summary": "Rosa lights the ovens.",
        "mood": "hushed", "lighting": "tungsten", "palette": ["amber", "flour white"],
        "characters": ["Rosa"], "transition": "CUT TO",
        "shots": [
            {"number": 1, "shot_type": "wide", "angle": "eye level", "movement": "static",
             "lens": "24mm", "estimated_duration_seconds": 8, "notes": "the dark kitchen"},
            {"number": 2, "shot_type": "close-up", "angle": "low", "movement": "push-in",
             "lens": "85mm", "estimated_duration_seconds": 120, "notes": "her hands"},
        ],
    }],
    "failed_scenes": [{"number": 2, "error": "no valid shot list after 3 attempts"}],
    "warnings": ["scene 4 has no location"],
    "totals": {"scenes": 1, "shots": 2, "estimated_screen_time_seconds": 128,
               "estimated_shooting_days": 0.5, "estimated_shooting_hours": 4,
               "shooting_days_available": 1, "fits_schedule": True,
               "shot_types": {"wide": 1, "close-up": 1}, "equipment": ["dolly"]},
}


def test_a_scene_plan_reads_as_headings_shot_tables_and_totals() -> None:
    job = Job(crews=["director"], status=JobStatus.succeeded, result={"director": PLAN},
              usage={"offline": ModelUsage(calls=3, prompt_tokens=10, completion_tokens=5)})
    out = text_of(job)
    for text in ("1. INT. BAKERY - NIGHT", "Rosa lights the ovens.", "hushed · tungsten",
                 "cast: Rosa", "close-up", "85mm", "8s", "2.0 min", "her hands", "→ CUT TO",
                 "scene 2 could not be planned", "warning: scene 4 has no location",
                 "Production totals", "1 / 2", "0.5 days (4 h); fits 1 available",
                 "made by the offline stand-in", "offline: 3 calls, 15 tokens"):
        assert text in out, f"{text!r} missing:\n{out}"
    assert "nora" not in out and "tam," not in out  # people by name, never by id


def test_a_note_every_shot_shares_is_said_once() -> None:
    plan = {**PLAN, "scenes": [{**PLAN["scenes"][0], "shots": [
        {**shot, "notes": "offline extraction"} for shot in PLAN["scenes"][0]["shots"]]}]}
    out = text_of(Job(crews=["director"], status=JobStatus.succeeded,
                      result={"director": plan}))
    assert out.count("offline extraction") == 1
    assert "every shot: offline extraction" in out


def test_a_scene_a_warning_concerns_says_what_to_check_and_the_warning_its_kind() -> None:
    """A first AD reading the plan in a terminal sees, under the scene's heading, what to
    check and on which shots; each warning at the end names its kind. A plan made before the
    warnings were data reads as it did."""
    plan = copy.deepcopy(PLAN)
    scene = plan["scenes"][0]
    scene["warning_kinds"] = ["framing", "screen_time_off_pages"]
    scene["shots"][1]["warning_kinds"] = ["framing"]
    plan["warnings"] = ["scene 1: shot 2 is a single that names nobody in frame",
                        "scene 1: its shots run 128 s, over twice its 1/8 page (about 8 s at a "
                        "minute a page)"]
    plan["warning_details"] = [
        {"kind": "framing", "scene": 1, "scenes": [1], "shots": [2],
         "message": plan["warnings"][0]},
        {"kind": "screen_time_off_pages", "scene": 1, "scenes": [1], "shots": [],
         "message": plan["warnings"][1]}]
    out = text_of(Job(crews=["director"], status=JobStatus.succeeded,
                      result={"director": plan}))
    lines = out.splitlines()
    title = next(i for i, line in enumerate(lines) if "1. INT. BAKERY - NIGHT" in line)
    assert lines[title + 1].strip() == \
        "check: framing (shot 2), screen time against the pages"
    assert "warning (framing): scene 1: shot 2 is a single that names nobody in frame" in out
    assert "warning (screen time against the pages): scene 1: its shots run 128 s" in out
    older = text_of(Job(crews=["director"], status=JobStatus.succeeded,
                        result={"director": PLAN}))
    assert "check:" not in older and "warning: scene 4 has no location" in older


GROUNDED_PLAN = {
    "title": "The Ferry", "model": {"offline": False},
    "scenes": [{
        "number": 1, "heading": "EXT. KESSEL SLIPWAY - NIGHT", "summary": "They load the van.",
        "story_day": 1,
        "breakdown": {"cast": ["nora", "tam"], "page_eighths": 11, "pages": "1 3/8",
                      "props": [{"item": "coil of rope", "suggested": False},
                                {"item": "thermos flask", "suggested": True}],
                      "wardrobe": [{"item": "yellow oilskins", "character": "nora",
                                    "suggested": True}],
                      "vehicles": [{"item": "old Bedford van"}],
                      "continuity": ["props carried from scene 0: rope"]},
        "shots": [{"number": 1, "size": "WS", "angle": "high", "movement": "static",
                   "support": "sticks", "lens_mm": 24, "coverage": "master",
                   "subjects": ["nora", "tam"], "estimated_duration_seconds": 6,
                   "notes": "geography"}],
    }],
    "schedule": {
        "days": [{"day": 1, "work": "night", "pages": "1 3/8", "hours": 2.5,
                  "company_moves": 1, "strips": [
                      {"scene": 1, "int_ext": "EXT", "day_night": "NIGHT",
                       "location": "Kessel Slipway", "pages": "1 3/8", "hours": 2.5,
                       "cast": ["nora", "tam"], "part": "1/2"}]}],
        "day_out_of_days": [{"cast_number": 1, "character_id": "nora", "name": "Nora Quill",
                             "codes": ["SWF"], "work_days": 1, "hold_days": 0},
                            {"cast_number": 2, "character_id": "tam", "name": "Tam Rowe",
                             "codes": ["SWF"], "work_days": 1, "hold_days": 0}],
    },
    "totals": {"scenes": 1, "shots": 1, "estimated_screen_time_seconds": 6,
               "estimated_shooting_hours": 2.5, "shooting_days": 1, "company_moves": 1,
               "pages": "1 3/8", "shot_sizes": {"WS": 1},
               "method": "days: grouped by location"},
}


def test_a_grounded_plan_shows_the_breakdown_stripboard_and_day_out_of_days() -> None:
    out = text_of(Job(crews=["director"], status=JobStatus.succeeded,
                      result={"director": GROUNDED_PLAN}))
    for text in ("1. EXT. KESSEL SLIPWAY - NIGHT   1 3/8 pg · story day 1",
                 "cast", "Nora Quill, Tam Rowe", "coil of rope, thermos flask*",
                 "Nora Quill: yellow oilskins*", "cast #", "1, 2",
                 "vehicles", "old Bedford van", "props carried from scene 0: rope",
                 "static / sticks", "24mm", "master", "* suggested by the model",
                 "Stripboard", "1 (1/2)", "Kessel Slipway", "Day out of days",
                 "Nora Quill", "SWF", "1 day (2.5 h), 1 company move", "WS 1",
                 "days: grouped by location"):
        assert text in out, f"{text!r} missing:\n{out}"
    # the day-break strip closes the day with its totals, on one line as a board shows it
    (end,) = [line for line in out.splitlines() if "end of day 1" in line]
    assert re.search(r"end of day 1\s.*1 3/8 .*2\.5 .*1 company move", end), end




def test_a_frame_of_the_whole_cast_and_a_strip_read_as_a_first_ad_writes_them() -> None:
    plan = copy.deepcopy(GROUNDED_PLAN)
    people = ["nora", "tam", "ewan"]
    plan["scenes"][0]["breakdown"]["cast"] = people
    plan["scenes"][0]["shots"] = [
        {**plan["scenes"][0]["shots"][0], "subjects": people},
        {**plan["scenes"][0]["shots"][0], "number": 2, "size": "CU", "movement": "handheld",
         "support": "handheld", "coverage": "single", "subjects": ["ewan"]}]
    plan["schedule"]["days"][0]["strips"][0]["cast"] = ["ewan", "tam", "nora"]
    plan["schedule"]["day_out_of_days"].append(
        {"cast_number": 3, "character_id": "ewan", "name": "Ewan Bell", "codes": ["SWF"],
         "work_days": 1, "hold_days": 0})
    out = text_of(Job(crews=["director"], status=JobStatus.succeeded,
                      result={"director": plan}))
    assert "everyone (3)" in out and "Ewan Bell" in out
    assert "handheld / handheld" not in out and "handheld" in out
    assert "1, 2, 3" in out  # the strip's cast numbers in order


def test_the_plugin_registers_its_renderer_for_its_crew_and_plans_of_any_crew() -> None:
    plugins = make_plugins(entry_points=["director"])
    assert plugins.infos["director"].renderers == ["scene-plan"]
    entry = plugins.registry.renderers["scene-plan"]
    assert entry.plugin == "director" and entry.spec.crews == ("director",)
    out = text_of(Job(crews=["my-planner"], status=JobStatus.succeeded,
                      result={"my-planner": PLAN}))
    assert "1. INT. BAKERY - NIGHT" in out and "Production totals" in out
    # a storyboard has scenes with shots and totals too, but it is not a plan
    board = {**PLAN, "bible": {"characters": []}}
    out = text_of(Job(crews=["boards"], status=JobStatus.succeeded, result={"boards": board}))
    assert "Production totals" not in out and '"bible"' in out


def test_the_renderer_imports_no_crewai_and_the_entry_point_not_even_rich() -> None:
    code = ("import sys, novelcrew_director.plugin; print('rich' in sys.modules); "
            "import novelcrew_director.render; print('crewai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
