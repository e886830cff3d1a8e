"""The storyboard plugin's renderer (``render.py``, registered through ``register_renderers``):
how a storyboard reads in ``novelcrew run`` and the demo."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from rich.console import Console

from novelcrew.cli.render import render_job
from novelcrew.jobs import Job, JobStatus
from novelcrew_sdk import make_plugins


def text_of(job: Job | dict[str, Any], *entry_points: str) -> str:
    console = Console(record=True, width=140, color_system=None)
    render_job(job, console, make_plugins(entry_points=["storyboard", *entry_points]))
    return console.export_text()


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
    job = Job(crews=["storyboard"], status=JobStatus.succeeded, result={"storyboard": STORYBOARD})
    out = text_of(job)
    board = out[out.index("─ storyboard ─"):]
    for text in ("Storyboard: The Ferry", "ready for media generation",
                 "nora", PHRASE, "low, salt-rough", "Kessel Slipway, wet concrete ramp",
                 "2.39:1", "slate, amber", "Scene 1. EXT. KESSEL SLIPWAY - NIGHT",
                 "s001-sh01", "CU · low · push in / dolly · 85mm", "12s", "in frame: Nora Quill",
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


def test_a_shot_a_warning_concerns_says_so_on_its_line_and_the_warning_its_kind() -> None:
    """The media step skips or checks exactly the shots a warning concerns: the terminal shows
    them where a person reads the shot, and each warning with its kind."""
    message = ("scene 1: Tomas is named in shot 2 but not in frame, so no reference image "
               "goes with the prompt: check before generating")
    warned = {**STORYBOARD, "warnings": [message, "could not read the Payload project: 503"],
              "warning_details": [
                  {"kind": "not_in_frame", "scene": 1, "shots": [2],
                   "shot_ids": ["s001-sh02"], "characters": ["tomas"], "message": message},
                  {"kind": "payload_read_failed", "scene": None, "shots": [],
                   "message": "could not read the Payload project: 503"}]}
    second = {**board_shot(2, 3.5, [(0, 3.5)]), "warning_kinds": ["not_in_frame"]}
    warned["scenes"] = [{**STORYBOARD["scenes"][0],
                         "shots": [STORYBOARD["scenes"][0]["shots"][0], second]}]
    out = text_of(Job(crews=["storyboard"], status=JobStatus.succeeded,
                      result={"storyboard": warned}))
    lines = {line.split()[0]: line for line in out.splitlines()
             if line.strip().startswith("s001-sh")}
    assert "check: someone named is not in frame" in lines["s001-sh02"]
    assert "check" not in lines["s001-sh01"]
    flat = " ".join(out.split())
    assert f"warning (someone named is not in frame): {message}" in flat
    assert "warning (Payload not read): could not read the Payload project: 503" in flat
    assert "ready for media generation" in out  # advisory: still ready


def test_a_storyboard_of_any_crew_is_drawn_as_one_not_as_a_scene_plan() -> None:
    """By shape, with the director's renderer loaded too (whose plans have scenes, shots and
    totals as a storyboard does): the storyboard's renderer draws it."""
    plugins = make_plugins(entry_points=["storyboard"])
    assert plugins.infos["storyboard"].renderers == ["storyboard"]
    out = text_of(Job(crews=["boards"], status=JobStatus.succeeded,
                      result={"boards": STORYBOARD}), "director")
    assert "Storyboard: The Ferry" in out and "s001-sh02" in out
    assert "Production totals" not in out


def test_the_renderer_imports_no_crewai_and_the_entry_point_not_even_rich() -> None:
    code = ("import sys, novelcrew_storyboard.plugin; print('rich' in sys.modules); "
            "import novelcrew_storyboard.render; print('crewai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
