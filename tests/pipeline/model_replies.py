"""What the local OpenAI-compatible server answers for the architect's and the director's
agents, read from the prompt alone: the same prompt always gets the same reply, so a result is
reproducible and a re-asked call is visible at the server.

The analyst reports one scene per paragraph that names a walker (``<Name> walked to the
<Place> ...``), with its opening and closing words copied from the text; the synthesis is a
fixed overview; the director's two agents answer for the scene number in their prompt.
"""

from __future__ import annotations

import json
import re
from typing import Any

PLACES = ["Harbour", "Lighthouse", "Chapel", "Boatyard", "Orchard", "Quarry"]
OVERVIEW = {"title": "The Walkers", "logline": "People walk and wait.", "genre": "drama",
            "tone": "quiet", "themes": ["waiting"]}


def _system_and_prompt(body: dict[str, Any]) -> tuple[str, str]:
    messages = body.get("messages") or []
    system = " ".join(str(m.get("content")) for m in messages if m.get("role") == "system")
    return system, "\n".join(str(m.get("content")) for m in messages)


def analyst_reply(prompt: str) -> str:
    text = re.search(r"STORY TEXT:\s*<<<\n(.*?)\n>>>", prompt, re.S)
    paragraphs = [p for p in (text.group(1) if text else "").split("\n\n") if " walked " in p]
    names = sorted({p.split(" walked")[0] for p in paragraphs})
    return json.dumps({
        "characters": [{"name": n, "role": "protagonist"} for n in names],
        "locations": [{"name": p} for p in PLACES],
        "scenes": [{"number": i, "opening": " ".join(p.split()[:8]),
                    "closing": " ".join(p.split()[-6:]), "summary": f"{p.split()[0]} walks.",
                    "location": p.split()[4], "int_ext": "EXT", "day_night": "DAY",
                    "characters": [p.split(" walked")[0]]}
                   for i, p in enumerate(paragraphs, start=1)],
        "themes": ["waiting"]})


def director_reply(body: dict[str, Any]) -> str:
    """The director's two agents, answered for the scene number in the prompt."""
    system, prompt = _system_and_prompt(body)
    found = re.search(r"^SCENE (\d+)", prompt, re.M)
    n = int(found.group(1)) if found else 0
    if "Cinematography" in system:
        return json.dumps({"shots": [
            {"shot_type": "wide", "angle": "eye level", "movement": "static", "lens": "35mm",
             "lighting": "natural", "audio": "ambience", "estimated_duration_seconds": 4,
             "notes": f"scene {n} geography"},
            {"shot_type": "close-up", "angle": "low angle", "movement": "handheld",
             "lens": "85mm", "lighting": "motivated", "audio": "dialogue",
             "estimated_duration_seconds": 3, "notes": f"scene {n} decision"}]})
    return json.dumps({
        "heading": f"EXT. PLACE {n} - DAY", "summary": f"Scene {n} as planned.",
        "characters": [], "blocking": ["they cross the frame"], "emotional_beats": ["resolve"],
        "props": [], "pacing": "measured", "transition": "cut", "mood": "tense",
        "lighting": "overcast", "palette": ["slate", "moss"]})


def story_reply(body: dict[str, Any]) -> str:
    """Every agent of the architect -> director chain."""
    system, prompt = _system_and_prompt(body)
    if "Story Structure Analyst" in system:
        return analyst_reply(prompt)
    if "Knowledge Graph Architect" in system:
        return json.dumps(OVERVIEW)
    return director_reply(body)
