"""Test helpers: an analysis and plan in the new result shapes, agent replies, a Payload stand-in.

``PayloadStandIn`` registers ``payload_read_project`` over a dict (this plugin must not import
the payload plugin); storing the storyboard in a real Payload is the payload plugin's observer's
work, tested there.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from novelcrew import Tool, hookimpl
from novelcrew_storyboard.example import EXAMPLE_PREVIOUS

ARTIST = "Visual Development Artist"
BOARDER = "Storyboard Artist"


def previous() -> dict[str, Any]:
    """The lighthouse story's analysis and plan (new shapes: ids, size, lens_mm, subjects)."""
    return copy.deepcopy(EXAMPLE_PREVIOUS)


def old_shape_previous() -> dict[str, Any]:
    """The same story in today's shapes: names not ids, shot_type, lens strings, time_of_day."""
    data = previous()
    for c in data["architect"]["characters"]:
        del c["id"]
    for loc in data["architect"]["locations"]:
        del loc["id"]
    for s in data["architect"]["scenes"]:
        for key in ("id", "int_ext", "story_day", "text", "location_id", "character_ids"):
            s.pop(key)
        s["time_of_day"] = s.pop("day_night")
        s["dialogue"] = [d["line"] for d in s["dialogue"]]
    for s in data["director"]["scenes"]:
        for key in ("id", "location_id", "int_ext", "day_night", "story_day", "breakdown"):
            s.pop(key)
        s["characters"] = ["Mara", "Tomas"][: len(s["characters"])]
        for shot in s["shots"]:
            shot["shot_type"] = {"WS": "wide", "CU": "close-up", "EWS": "establishing",
                                 "INSERT": "insert"}[shot.pop("size")]
            shot["lens"] = f"{shot.pop('lens_mm')}mm spherical prime"
            shot["angle"] = {"high": "high angle", "low": "low angle"}.get(shot["angle"],
                                                                          shot["angle"])
            for key in ("support", "subjects", "coverage"):
                shot.pop(key)
    return data


CHARACTER_REPLY = {"characters": [
    {"id": "mara-vell",
     "age_range": {"value": "in her forties", "stated": True, "evidence": "in her forties"},
     "build": {"value": "wiry build", "stated": True, "evidence": "wiry"},
     "skin": {"value": "wind-burned fair skin", "stated": False, "evidence": ""},
     "hair": {"value": "grey-streaked dark hair in a braid", "stated": True,
              "evidence": "grey-streaked dark hair"},
     "eyes": {"value": "pale grey eyes", "stated": True, "evidence": "her pale grey eyes"},
     "distinguishing_features": [{"value": "scar across her left palm", "stated": True,
                                  "evidence": "a scar across her left palm"}],
     "wardrobe": {"default": "navy wool jumper and oilskin trousers"},
     "voice": {"value": "low, dry, unhurried", "stated": False, "evidence": ""}},
    {"id": "tomas-vell",
     "age_range": {"value": "late thirties", "stated": False, "evidence": ""},
     "build": {"value": "broad-shouldered", "stated": True, "evidence": "broad-shouldered"},
     "hair": "red hair, close-cropped",
     "distinguishing_features": ["red beard"],
     "wardrobe": "fisherman's smock",
     "voice": "loud, warm baritone"},
    {"id": "someone-else", "hair": "not asked for"},
]}
LOCATION_REPLY = {"locations": [
    {"id": "keepers-kitchen", "look": "cramped whitewashed stone kitchen with a cast-iron range",
     "time_of_day": {"NIGHT": "lit by one oil lamp, the beam sweeping the window"},
     "set_pieces": ["scrubbed pine table", "cast-iron range"]},
    {"id": "gannet-point-rocks", "look": "jagged black basalt below a white lighthouse",
     "time_of_day": {"NIGHT": "storm dark, surf glowing white"}, "set_pieces": ["wrecked boat"]},
]}
STYLE_REPLY = {"era": "1970s Hebrides", "palette": ["slate", "amber"],
               "lighting_style": "hard practical light, deep shadow",
               "film_look": "35mm anamorphic, fine grain", "fragments": ["muted colours"]}


def final(obj: Any) -> str:
    return f"Thought: I can answer.\nFinal Answer: {json.dumps(obj)}"


def shots_reply(prompt: str) -> dict[str, Any]:
    """Action and composition for every shot number the scene's prompt lists."""
    scene = int(re.search(r"^SCENE (\d+)", prompt, re.M).group(1))  # type: ignore[union-attr]
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", prompt, re.M)]
    return {"shots": [{"number": n, "action": f"scene {scene} shot {n} action",
                       "composition": f"rule of thirds, subject left (shot {n})"}
                      for n in numbers]}


def artist_reply(prompt: str) -> str:
    if '{"characters"' in prompt:
        return final(CHARACTER_REPLY)
    if '{"locations"' in prompt:
        return final(LOCATION_REPLY)
    return final(STYLE_REPLY)


def replies() -> dict[str, Any]:
    return {ARTIST: artist_reply, BOARDER: lambda prompt: final(shots_reply(prompt))}


class PayloadStandIn:
    """``payload_read_project`` over one project dict."""

    def __init__(self, project: dict[str, Any], *, configured: bool = True) -> None:
        self.project = project
        #: what the real tools tell other plugins: is Payload configured at all
        self.configured = configured
        self.reads = 0

    @hookimpl
    def register_tools(self, register: Any) -> None:
        outer = self

        class _Read:
            configured = outer.configured

            async def acall(self, project_id: Any = None) -> dict[str, Any]:
                outer.reads += 1
                return copy.deepcopy(outer.project)

        register(Tool(name="payload_read_project", description="read (stand-in)",
                      factory=lambda ctx: _Read()))
