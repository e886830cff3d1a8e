"""``novelcrew.cli.render``: what a person reads in the terminal for each kind of result."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from novelcrew.jobs import Job, JobErrorInfo, JobStatus, ModelUsage
from novelcrew.cli.render import render_job, short


def text_of(job: Job | dict[str, Any]) -> str:
    console = Console(record=True, width=140, color_system=None)
    render_job(job, console)
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


def test_a_note_every_shot_shares_is_said_once() -> None:
    plan = {**PLAN, "scenes": [{**PLAN["scenes"][0], "shots": [
        {**shot, "notes": "offline extraction"} for shot in PLAN["scenes"][0]["shots"]]}]}
    out = text_of(Job(crews=["director"], status=JobStatus.succeeded,
                      result={"director": plan}))
    assert out.count("offline extraction") == 1
    assert "every shot: offline extraction" in out


def test_other_results_are_pretty_json_and_api_records_work_too() -> None:
    record = Job(crews=["logline"], status=JobStatus.succeeded,
                 result={"logline": {"logline": "A baker closes shop.", "words": 5}})
    as_api = record.model_dump(mode="json", exclude={"inputs"})
    out = text_of(as_api)
    assert '"logline": "A baker closes shop."' in out and '"words": 5' in out
    assert "succeeded" in out


def test_a_failure_shows_type_crew_message_and_field_errors() -> None:
    job = Job(crews=["architect"], status=JobStatus.failed, error=JobErrorInfo(
        type="invalid_input", message="invalid inputs for ArchitectInput: 1 error(s)",
        crew="architect",
        details={"errors": [{"loc": ["preferences", "tone"], "msg": "Input should be a "
                             "valid string"}], "hint": "see GET /crews/architect"}))
    out = text_of(job)
    assert "invalid_input in crew architect" in out
    assert "preferences.tone: Input should be a valid string" in out
    assert "see GET /crews/architect" in out


def test_short_cuts_at_a_word() -> None:
    assert short("one two three", 9) == "one two…"
    assert short("  spaced \n out  ") == "spaced out"
    assert short(None) == ""
