"""Hand-made results for the score tests: a perfect one built from gold, and its damaged copies."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from novelcrew_eval import Gold, LoadedGold, load_gold

GOLD_DIR = Path(__file__).resolve().parents[3] / "examples" / "gold"
VELL = GOLD_DIR / "the-last-shift-at-vell-street.yaml"


def vell() -> LoadedGold:
    return load_gold(VELL)


def perfect_architect(loaded: LoadedGold) -> dict[str, Any]:
    """The result a perfect architect would give, in the grounded shape (text, span, speakers)."""
    gold = loaded.gold
    text = loaded.text
    ends = [*loaded.scene_starts[1:], len(text)]
    scenes: list[dict[str, Any]] = []
    for number, (scene, start, end) in enumerate(
        zip(gold.scenes, loaded.scene_starts, ends, strict=True), 1
    ):
        lines = [
            {"speaker": gold.character(line.speaker).name,  # type: ignore[union-attr]
             "line": line.line}
            for line in gold.dialogue
            if start <= text.find(line.line, start) < end
        ]
        scenes.append({
            "number": number,
            "summary": f"Scene {number}.",
            "location": scene.location,
            "int_ext": scene.int_ext,
            "day_night": scene.day_night,
            "story_day": scene.story_day,
            "characters": [gold.character(c).name for c in scene.characters],  # type: ignore[union-attr]
            "dialogue": lines,
            "objects": [],
            "text": text[start:end],
            "span": {"start": start, "end": end},
        })
    return {
        "title": gold.title or loaded.name,
        "characters": [
            {"id": re.sub(r"[^a-z0-9]+", "-", c.name.lower()).strip("-"), "name": c.name,
             "aliases": list(c.aliases), "role": c.role}  # ids as the architect writes them
            for c in gold.characters
        ],
        "locations": [{"name": loc.name} for loc in gold.locations],
        "objects": [{"name": p.name} for p in gold.props],
        "vehicles": [v.name for v in gold.vehicles],
        "animals": [a.name for a in gold.animals],
        "scenes": scenes,
    }


_LIGHT = {"NIGHT": "bare bulbs over the ovens, deep shadow", "DAWN": "grey first light",
          "DAY": "soft window light", "DUSK": "fading light, a lamp in the window"}


def director_for(architect: dict[str, Any]) -> dict[str, Any]:
    """A scene plan in the director's shape whose scenes differ in their shots.

    Each scene has a master on its cast and, when it has anyone, a single on its first person:
    coverage that fits its subjects, subjects that are in the scene; its lighting keeps its
    time and its shots run about its half page."""
    sizes = ["WS", "MS", "CU", "MCU"]
    scenes = []
    for i, scene in enumerate(architect["scenes"]):
        cast = list(scene["characters"])
        shots = [{"number": 1, "size": sizes[i % 4], "angle": "eye level", "movement": "static",
                  "lens_mm": 35, "coverage": "master", "subjects": cast,
                  "estimated_duration_seconds": 20}]
        if cast:
            shots.append({"number": 2, "size": sizes[(i + 1) % 4], "angle": "low",
                          "movement": "dolly in", "lens_mm": 50, "coverage": "single",
                          "subjects": cast[:1], "estimated_duration_seconds": 10})
        scenes.append({
            "number": scene["number"],
            "heading": f"{scene['int_ext']}. {scene['location'].upper()} - {scene['day_night']}",
            "summary": scene["summary"],
            "characters": cast,
            "props": [],
            "lighting": _LIGHT[scene["day_night"]],
            "breakdown": {"page_eighths": 4},  # half a page: 20-30 s of shots fit it
            "shots": shots,
        })
    return {"scenes": scenes}


def storyboard_for(architect: dict[str, Any], director: dict[str, Any],
                   gold: Gold | None = None) -> dict[str, Any]:
    """A storyboard in the storyboard crew's shape: everyone on screen described and dressed.

    Everyone gets an inferred hair and age; with ``gold``, each person's gold looks are their
    stated features (evidence: the look itself), so the looks scores are perfect too."""
    ids = {c["name"]: c["id"] for c in architect["characters"]}
    stated = {c.name: c.looks for c in gold.characters} if gold else {}
    looks = [{"id": c["id"], "name": c["name"], "hair": {"value": "short grey hair"},
              "age_range": {"value": "in her sixties", "stated": False, "evidence": ""},
              "distinguishing_features": [{"value": look, "stated": True, "evidence": look}
                                          for look in stated.get(c["name"], [])],
              "wardrobe": {"default": "a flour-dusted apron over a blue dress"},
              "phrase": f"{c['name']}, short grey hair"} for c in architect["characters"]]
    scenes = []
    for scene, arch in zip(director["scenes"], architect["scenes"], strict=True):
        scenes.append({"id": f"s{scene['number']:03d}", "number": scene["number"],
                       "story_day": str(arch["story_day"]),
                       "shots": [{"id": f"s{scene['number']:03d}-sh{shot['number']:02d}",
                                  "number": shot["number"], "coverage": shot["coverage"],
                                  "subjects": [ids[name] for name in shot["subjects"]],
                                  "story_day": str(arch["story_day"]),
                                  "day_night": arch["day_night"],
                                  "image_prompt": "medium shot of a baker at dawn"}
                                 for shot in scene["shots"]]})
    return {"bible": {"characters": looks, "locations": []}, "scenes": scenes}


def clone(data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(data)
