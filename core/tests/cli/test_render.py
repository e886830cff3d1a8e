"""``novelcrew.cli.render``: what a person reads in the terminal for each kind of result."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from novelcrew.cli.render import render_job, short
from novelcrew.jobs import Job, JobErrorInfo, JobStatus, ModelUsage


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
        "day_out_of_days": [{"cast_number": 1, "name": "Nora Quill", "codes": ["SWF"],
                             "work_days": 1, "hold_days": 0}],
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
                 "cast", "nora, tam", "coil of rope, thermos flask*", "nora: yellow oilskins*",
                 "vehicles", "old Bedford van", "props carried from scene 0: rope",
                 "static / sticks", "24mm", "master", "* suggested by the model",
                 "Stripboard", "Day 1", "1 (1/2)", "Kessel Slipway", "Day out of days",
                 "Nora Quill", "SWF", "1 days (2.5 h), 1 company move(s)", "WS 1",
                 "days: grouped by location"):
        assert text in out, f"{text!r} missing:\n{out}"


PHRASE = "Nora Quill, in her sixties, weathered fair skin, cropped white hair"
STYLE_END = "35mm anamorphic, fine grain"


def board_shot(number: int, seconds: float, clips: list[tuple[float, float]],
               negative: str = "text, watermark") -> dict[str, Any]:
    image = f"close-up of {PHRASE}. She coils the rope, shot {number}. {STYLE_END}."
    return {"id": f"s001-sh{number:02d}", "number": number, "size": "CU", "angle": "low",
            "movement": "push in", "support": "dolly", "lens_mm": 85, "subjects": ["nora"],
            "image_prompt": image, "motion_prompt": f"push in camera on dolly. shot {number}.",
            "negative_prompt": negative, "duration_seconds": seconds, "seed_hint": 4242,
            "clips": [{"index": i + 1, "start_seconds": start, "duration_seconds": length,
                       "image_prompt": image, "motion_prompt": "...", "seed_hint": 4242}
                      for i, (start, length) in enumerate(clips)]}


STORYBOARD = {
    "title": "The Ferry",
    "bible": {"characters": [{"id": "nora", "name": "Nora Quill", "phrase": PHRASE,
                              "voice": {"value": "low, salt-rough", "stated": False}}],
              "locations": [{"id": "kessel-slipway", "name": "Kessel Slipway",
                             "phrase": "Kessel Slipway, wet concrete ramp into black water"}],
              "style": {"aspect_ratio": "2.39:1", "palette": ["slate", "amber"],
                        "film_look": STYLE_END, "fragments": [STYLE_END]}},
    "scenes": [{"id": "s001", "number": 1, "heading": "EXT. KESSEL SLIPWAY - NIGHT",
                "story_day": "1",
                "shots": [board_shot(1, 12, [(0, 4), (4, 4), (8, 4)]),
                          board_shot(2, 3.5, [(0, 3.5)])]}],
    "clip_seconds": 4, "totals": {"scenes": 1, "shots": 2, "clips": 4, "seconds": 15.5},
    "offline": False, "ready_for_media_generation": True, "warnings": ["one look inferred"],
    "model": {"offline": False},
}


def test_a_storyboard_reads_as_bible_then_shots_with_prompts_and_clips() -> None:
    job = Job(crews=["director", "storyboard"], status=JobStatus.succeeded,
              result={"director": PLAN, "storyboard": STORYBOARD})
    out = text_of(job)
    board = out[out.index("─ storyboard ─"):]
    for text in ("Storyboard: The Ferry", "ready for media generation",
                 "nora", PHRASE, "low, salt-rough", "Kessel Slipway, wet concrete ramp",
                 "2.39:1", "slate, amber", "Scene 1. EXT. KESSEL SLIPWAY - NIGHT",
                 "s001-sh01", "CU · low · push in / dolly · 85mm", "12s", "in frame: nora",
                 "She coils the rope, shot 1.", "push in camera on dolly. shot 1.",
                 "3 clips: 0-4s, 4-8s, 8-12s, seed 4242", "s001-sh02", "3.5s",
                 "1 clip: 0-3.5s", "negative prompt of every shot: text, watermark",
                 "warning: one look inferred",
                 "1 scenes · 2 shots · 4 clips of at most 4s · 16s on screen"):
        assert text in board, f"{text!r} missing:\n{board}"
    # a storyboard is not shown as a scene plan (it has scenes, shots and totals too)
    assert "Production totals" not in board and "OFFLINE" not in board
    assert board.index("s001-sh01") < board.index("She coils the rope, shot 1.") < \
        board.index("s001-sh02") < board.index("She coils the rope, shot 2.")


def test_an_offline_storyboard_is_marked_at_its_top_and_end() -> None:
    offline = {**STORYBOARD, "offline": True, "ready_for_media_generation": False,
               "note": "Storyboard made by the offline stand-in model",
               "model": {"offline": True}}
    offline["scenes"] = [{**STORYBOARD["scenes"][0], "shots": [
        board_shot(1, 4, [(0, 4)], negative="text"), board_shot(2, 4, [(0, 4)])]}]
    out = text_of(Job(crews=["storyboard"], status=JobStatus.succeeded,
                      result={"storyboard": offline}))
    assert "OFFLINE STAND-IN: not a real storyboard, not ready for media generation" in out
    assert "Storyboard made by the offline stand-in model" in out
    assert "ready for media generation" not in out.replace("not ready for media generation", "")
    assert out.rstrip().endswith("offline stand-in storyboard: not for media generation")
    # shots with their own negative prompts show them each
    assert "negative prompt of every shot" not in out
    assert out.count("negative") == 2


def test_the_usage_line_says_what_reused_answers_saved() -> None:
    from novelcrew.cli.render import usage_line

    job = Job(crews=["director"], usage={"openai/m": ModelUsage(
        calls=2, prompt_tokens=10, completion_tokens=5, cost=0.002, cached_calls=7,
        saved_tokens=40, saved_cost=0.007)})
    assert usage_line(job) == "openai/m: 2 calls, 15 tokens, $0.0020 (+7 reused, $0.0070 saved)"


def test_the_live_view_counts_scenes_as_they_are_published() -> None:
    from novelcrew.cli.render import JobProgress

    console = Console(record=True, width=160, color_system=None, force_terminal=False)
    with JobProgress(console) as view:
        view.feed({"type": "crew_started", "crew": "director", "seq": 1})
        for n in (1, 2):
            view.feed({"type": "partial", "crew": "director", "seq": 1 + n,
                       "message": f"scene {n} planned",
                       "data": {"kind": "scene", "key": str(n), "done": n, "total": 40}})
        bar = view.progress.tasks[0]
        assert bar.fields["pieces"] == "scenes 2/40"
    out = console.export_text()
    assert "director scene 1 ready (scenes 1/40)" in out
    assert "director scene 2 ready (scenes 2/40)" in out


def test_an_error_about_the_whole_input_has_no_empty_field_name() -> None:
    job = Job(crews=["storyboard"], status=JobStatus.failed, error=JobErrorInfo(
        type="invalid_input", crew="storyboard", message="invalid inputs: 1 error(s)",
        details={"errors": [{"loc": [], "msg": "Value error, project_id is required"},
                            {"loc": ["clip_seconds"], "msg": "too long"}]}))
    out = text_of(job)
    assert "• Value error, project_id is required" in out
    assert "• clip_seconds: too long" in out
    assert "• :" not in out
