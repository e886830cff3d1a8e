"""A short story, what strong models answer about it, and an SSE reader.

The replies follow the crews' documented JSON shapes: the architect's analyst answers with the
story's characters, locations and scenes; the director's agents answer for whichever scene the
prompt carries, reading its location, time and characters from the prompt itself, so the
replies only fit if the director really read the graph the architect wrote.
"""

from __future__ import annotations

import json
import re
from typing import Any

STORY = """The Night Ferry

Lena Orr ran the last ferry across the Kessel Sound. On the evening of the storm warning she
waited at Kessel Pier while her deckhand, Jonah Pike, argued that they should stay in port.
"Nobody crosses tonight," Jonah said. Lena looked at the one passenger on the pier, a boy with
a violin case, and untied the lines.

Out on the sound the wind rose. In the wheelhouse Lena held the course while Jonah fought the
door shut. The boy played a slow tune to keep himself from crying, and Jonah, despite himself,
began to hum along.

At dawn the ferry bumped against the far jetty at Marrow Point. The boy's grandmother was
waiting with a lantern. "You came anyway," she said to Lena. Lena only nodded, and Jonah
carried the violin case up the steps for the boy.
"""

TITLE = "The Night Ferry"

ANALYSIS = {
    "characters": [
        {"name": "Lena Orr", "aliases": ["Lena"], "role": "protagonist",
         "description": "Captain of the last ferry; stubborn, quiet, duty-bound.",
         "arc": "Chooses the crossing over safety and is vindicated.",
         "relationships": [{"to": "Jonah Pike", "kind": "employer",
                            "description": "She overrules his caution."}]},
        {"name": "Jonah Pike", "aliases": ["Jonah"], "role": "supporting",
         "description": "Her deckhand; cautious, warm underneath.",
         "arc": "From refusal to quiet solidarity.", "relationships": []},
        {"name": "The Boy", "aliases": [], "role": "minor",
         "description": "A child travelling alone with a violin case.", "arc": "",
         "relationships": []},
        {"name": "The Grandmother", "aliases": [], "role": "minor",
         "description": "Waits for the boy with a lantern.", "arc": "", "relationships": []},
    ],
    "locations": [
        {"name": "Kessel Pier", "description": "A concrete pier with a single lamp post.",
         "atmosphere": "wind-whipped, sodium light, storm coming"},
        {"name": "Ferry Wheelhouse", "description": "A cramped cabin of salt-fogged glass.",
         "atmosphere": "rattling, dim instrument glow"},
        {"name": "Marrow Point Jetty", "description": "Stone steps down to the water.",
         "atmosphere": "grey dawn, calm after the storm"},
    ],
    "objects": [{"name": "Violin Case", "description": "A battered black case.",
                 "significance": "The boy's comfort and the reason he must cross."}],
    "scenes": [
        {"number": 1, "summary": "Jonah argues against sailing; Lena sees the boy and casts "
         "off.", "location": "Kessel Pier", "time_of_day": "NIGHT",
         "characters": ["Lena Orr", "Jonah Pike", "The Boy"], "emotional_beat": "defiance",
         "purpose": "setup", "dialogue": ["Nobody crosses tonight."],
         "objects": ["Violin Case"]},
        {"number": 2, "summary": "In the storm the boy plays and Jonah hums along.",
         "location": "Ferry Wheelhouse", "time_of_day": "NIGHT",
         "characters": ["Lena Orr", "Jonah Pike", "The Boy"], "emotional_beat": "fear "
         "softening into solidarity", "purpose": "crisis", "dialogue": [], "objects": []},
        {"number": 3, "summary": "At dawn the grandmother greets them at Marrow Point.",
         "location": "Marrow Point Jetty", "time_of_day": "DAWN",
         "characters": ["Lena Orr", "Jonah Pike", "The Boy", "The Grandmother"],
         "emotional_beat": "quiet gratitude", "purpose": "resolution",
         "dialogue": ["You came anyway."], "objects": ["Violin Case"]},
    ],
    "themes": ["duty", "courage", "music as comfort"],
}

SYNTHESIS = {
    "title": TITLE,
    "logline": "A ferry captain crosses a storm-bound sound for one small passenger.",
    "genre": "drama",
    "tone": "tense, tender",
    "themes": ["duty", "courage", "music as comfort"],
}


def _line(prompt: str, key: str) -> str:
    match = re.search(rf"^{key}: (.+)$", prompt, re.M)
    return match.group(1).strip() if match else ""


def _scene_block(prompt: str) -> tuple[int, str]:
    match = re.search(r"^SCENE (\d+)\b(.*)", prompt, re.M | re.S)
    assert match, "a director prompt carries one SCENE block"
    return int(match.group(1)), match.group(2)


def _set(block: str) -> tuple[str, str]:
    """Location and time from the brief's ``Set: [INT /] <location> / <TIME>`` line."""
    parts = [p.strip() for p in _line(block, "Set").split(",")[0].split(" / ")]
    parts = [p for p in parts if p and p not in ("INT", "EXT", "INT/EXT")]
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "DAY")


def breakdown_reply(prompt: str) -> str:
    number, block = _scene_block(prompt)
    location, time = _set(block)
    characters = re.findall(r"^- \S+ = ([^:\n]+)", block, re.M)
    summary = _line(block, r"Summary(?: \(no source text stored\))?")
    prefix = "INT." if "Wheelhouse" in location else "EXT."
    return json.dumps({
        "heading": f"{prefix} {location.upper()} - {time.upper()}",
        "summary": summary or f"Scene {number}",
        "characters": characters,
        "blocking": [f"{characters[0]} holds centre frame", "the others enter from the left"],
        "emotional_beats": [f"{characters[0]}: {_line(block, 'Emotional beat')}"],
        "set_dressing": ["rain on glass"],
        "wardrobe": [{"character": characters[0], "item": "oilskins"}],
        "props": ["violin case", "mooring lines"],
        "pacing": "tight, builds",
        "transition": f"cut on the foghorn into scene {number + 1}",
        "mood": _line(block, "Emotional beat") or "tense",
        "lighting": "hard sodium key with cold fill" if time == "NIGHT" else "soft dawn light",
        "palette": ["sodium orange", "storm blue", "black"],
    })


def shots_reply(prompt: str) -> str:
    number, _ = _scene_block(prompt)
    shots = [
        {"shot_type": "establishing", "angle": "high angle", "movement": "drone",
         "lens": "24mm", "lighting": "available light", "audio": "ambience: wind",
         "estimated_duration_seconds": 5, "notes": f"scene {number} geography",
         "alternative": "wide from the shore", "equipment": []},
        {"shot_type": "close-up", "angle": "eye level", "movement": "handheld",
         "lens": "50mm", "lighting": "motivated practicals", "audio": "dialogue: Lena",
         "estimated_duration_seconds": 4, "notes": "the decision in her eyes",
         "alternative": "medium on sticks", "equipment": []},
    ]
    return json.dumps({"shots": shots[: 1 + number % 2]})


def replies() -> dict[str, Any]:
    """Scripted replies for every agent of the architect and director crews."""
    return {
        "Story Structure Analyst": json.dumps(ANALYSIS),
        "Knowledge Graph Architect": json.dumps(SYNTHESIS),
        "Scene Analysis Director": breakdown_reply,
        "Cinematography Specialist": shots_reply,
    }


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Server-Sent Events as dicts of their fields (``data`` decoded from JSON)."""
    events: list[dict[str, Any]] = []
    for block in re.split(r"\r?\n\r?\n", text):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value[1:] if value.startswith(" ") else value
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
            events.append(fields)
    return events
