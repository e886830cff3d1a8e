"""Test data and helpers: a three-chapter story, realistic analyst replies, a recording tool.

The analyst replies are what a strong model answers for each chapter: the same people under
the names that chapter uses ("Dr. Ines Calder", "Ines", "Dr. Calder"), so merging is tested
the way real answers stress it. ``RecordingGraph`` registers ``kg_insert_custom_kg`` and keeps
every payload, for tests that check exactly what the crew writes (the real pathrag plugin is
used where the graph's contents are checked through its own tools).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from novelcrew import Tool, hookimpl

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "stories"

STORY = """The Salt Ledger

Chapter 1

Dr. Ines Calder arrived at Saltmarsh Station on the last ferry of the season. The harbourmaster,
Oskar Brandt, carried her trunk up the jetty without a word. "You're the new doctor," he said at
last. "The last one kept a ledger. Nobody has found it."

That night, in the station house, Ines found the ledger wedged behind the stove, its pages
swollen with salt.

Chapter 2

In the morning Ines walked to the lighthouse with Oskar. He told her about the drowned
fishermen of 1952 and the doctor who had counted them. "He wrote down more names than there
were boats," Oskar said.

Ines read the ledger at the top of the tower while the gulls wheeled below. The names did not
match the parish record.

Chapter 3

Dr. Calder confronted Oskar in the station house at dusk. "Your father is in this ledger," she
said. "Twice." Oskar burned a match and held it to the pages, then stopped.

At dawn the two of them carried the ledger to the parish church and laid it on the altar
for Father Mellor to read aloud.
"""

CHAPTER_REPLIES: dict[str, dict[str, Any]] = {
    "Chapter 1": {
        "characters": [
            {"name": "Dr. Ines Calder", "aliases": ["Ines"], "role": "protagonist",
             "description": "A young doctor newly posted to a remote island station.",
             "arc": "Arrives guarded and curious.",
             "relationships": [{"to": "Oskar Brandt", "kind": "acquaintance",
                                "description": "He meets her at the ferry."}]},
            {"name": "Oskar Brandt", "aliases": ["the harbourmaster"], "role": "supporting",
             "description": "The taciturn harbourmaster.", "arc": "",
             "relationships": []},
        ],
        "locations": [
            {"name": "Saltmarsh Jetty", "description": "A long wooden jetty.",
             "atmosphere": "grey, end-of-season quiet"},
            {"name": "Station House", "description": "The doctor's stone house.",
             "atmosphere": "cold, smelling of salt"},
        ],
        "objects": [{"name": "The Ledger", "description": "A salt-swollen notebook.",
                     "significance": "The previous doctor's secret record."}],
        "scenes": [
            {"number": 1, "opening": "Dr. Ines Calder arrived at Saltmarsh Station",
             "closing": "Nobody has found it.",
             "summary": "Ines arrives by ferry; Oskar carries her trunk and "
             "mentions the lost ledger.", "location": "Saltmarsh Jetty", "time_of_day": "evening",
             "int_ext": "EXT", "characters": ["Ines", "Oskar Brandt"],
             "emotional_beat": "wary welcome", "purpose": "setup",
             "dialogue": [{"speaker": "Oskar", "line": "You're the new doctor,"}],
             "objects": []},
            {"number": 2, "opening": "That night, in the station house, Ines found",
             "closing": "its pages swollen with salt.",
             "summary": "Ines finds the ledger behind the stove.", "int_ext": "INT",
             "location": "Station House", "time_of_day": "NIGHT", "characters": ["Ines"],
             "emotional_beat": "curiosity", "purpose": "inciting incident", "dialogue": [],
             "objects": ["ledger"]},
        ],
        "themes": ["buried guilt", "outsiders"],
    },
    "Chapter 2": {
        "characters": [
            {"name": "Ines", "aliases": [], "role": "protagonist",
             "description": "Reads the ledger closely.", "arc": "Begins to suspect a cover-up.",
             "relationships": []},
            {"name": "Oskar", "aliases": [], "role": "supporting",
             "description": "Knows the island's drownings by heart.", "arc": "",
             "relationships": [{"to": "Ines", "kind": "guide",
                                "description": "Shows her the island."}]},
        ],
        "locations": [
            {"name": "the lighthouse", "description": "A white tower on the point.",
             "atmosphere": "windy, gulls wheeling"},
        ],
        "objects": [{"name": "ledger", "description": "The doctor's notebook of the drowned.",
                     "significance": "Lists more names than there were boats."}],
        "scenes": [
            {"number": 1, "opening": "In the morning Ines walked to the lighthouse",
             "closing": "than there were boats,\" Oskar said.", "new_day": True,
             "int_ext": "EXT",
             "summary": "Oskar tells Ines about the drownings of 1952 on the walk "
             "to the lighthouse.", "location": "The Lighthouse", "time_of_day": "MORNING",
             "characters": ["Ines", "Oskar"], "emotional_beat": "unease",
             "purpose": "exposition",
             "dialogue": [{"speaker": "Oskar",
                           "line": "He wrote down more names than there were boats,"}],
             "objects": []},
            {"number": 2, "opening": "Ines read the ledger at the top of the tower",
             "closing": "did not match the parish record.", "int_ext": "INT",
             "summary": "At the top of the tower Ines sees the names do not match "
             "the parish record.", "location": "the Lighthouse", "time_of_day": "DAY",
             "characters": ["Ines"], "emotional_beat": "dread", "purpose": "reveal",
             "dialogue": [], "objects": ["The Ledger"]},
        ],
        "themes": ["Buried guilt", "the weight of records"],
    },
    "Chapter 3": {
        "characters": [
            {"name": "Dr. Calder", "aliases": [], "role": "protagonist",
             "description": "Confronts Oskar.", "arc": "Chooses truth over comfort.",
             "relationships": [{"to": "Oskar", "kind": "adversary",
                                "description": "She accuses his father."}]},
            {"name": "Oskar Brandt", "aliases": ["Oskar"], "role": "deuteragonist",
             "description": "Son of a man named in the ledger.",
             "arc": "Nearly destroys the ledger, then relents.", "relationships": []},
            {"name": "Father Mellor", "aliases": [], "role": "minor",
             "description": "The parish priest.", "arc": "", "relationships": []},
        ],
        "locations": [
            {"name": "Station House", "description": "", "atmosphere": "dusk light"},
            {"name": "Parish Church", "description": "A small stone church.",
             "atmosphere": "hushed, candlelit"},
        ],
        "objects": [],
        "scenes": [
            {"number": 1, "opening": "Dr. Calder confronted Oskar in the station house",
             "closing": "held it to the pages, then stopped.", "int_ext": "INT",
             "summary": "Dr. Calder confronts Oskar; he almost burns the ledger.",
             "location": "Station House", "time_of_day": "DUSK",
             "characters": ["Dr. Calder", "Oskar"], "emotional_beat": "confrontation",
             "purpose": "climax",
             "dialogue": [{"speaker": "Dr. Calder", "line": "Your father is in this ledger,"},
                          {"speaker": "Dr. Calder", "line": "Twice."}],
             "objects": ["the ledger"]},
            {"number": 2, "opening": "At dawn the two of them carried the ledger",
             "closing": "for Father Mellor to read aloud.", "new_day": True, "int_ext": "INT",
             "summary": "They lay the ledger on the altar for Father Mellor.",
             "location": "Parish Church", "time_of_day": "DAWN",
             "characters": ["Ines", "Oskar", "Father Mellor"], "emotional_beat": "release",
             "purpose": "resolution", "dialogue": [], "objects": ["ledger"]},
        ],
        "themes": ["truth and atonement"],
    },
}

SYNTHESIS_REPLY = {
    "title": "The Salt Ledger",
    "logline": "A new island doctor finds her predecessor's ledger of the drowned and must "
               "make the harbourmaster face what his father did.",
    "genre": "literary mystery",
    "tone": "austere, haunted",
    "themes": ["buried guilt", "truth and atonement", "the weight of records"],
}

ANALYST = "Story Structure Analyst"
ARCHITECT = "Knowledge Graph Architect"


def story_text_of(prompt: str) -> str:
    """The STORY TEXT section of an analysis prompt."""
    match = re.search(r"STORY TEXT:\s*<<<\n(.*?)\n>>>", prompt, re.S)
    return match.group(1) if match else ""


def chapter_reply(prompt: str) -> str:
    """What a careful model answers for the chapter(s) in the prompt's story text."""
    text = story_text_of(prompt)
    merged: dict[str, list[Any]] = {k: [] for k in
                                    ("characters", "locations", "objects", "scenes", "themes")}
    for heading, reply in CHAPTER_REPLIES.items():
        if heading in text:
            offset = len(merged["scenes"])
            for key in merged:
                items = reply[key]
                if key == "scenes":
                    items = [{**s, "number": s["number"] + offset} for s in items]
                merged[key].extend(items)
    return json.dumps(merged)


class RecordingGraph:
    """A ``kg_insert_custom_kg`` tool that keeps every payload it receives."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.projects: list[str | None] = []
        self.versions: list[dict[str, Any]] = []  #: kg_new_version calls

    def merged(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {"chunks": [], "entities": [],
                                                "relationships": []}
        for payload in self.payloads:
            for key in out:
                out[key].extend(payload.get(key, []))
        return out

    def plugin(self) -> object:
        recorder = self

        class _Tool:
            def __init__(self, project_id: str | None) -> None:
                self.project_id = project_id

            async def acall(self, custom_kg: dict[str, Any]) -> dict[str, int]:
                recorder.payloads.append(custom_kg)
                recorder.projects.append(self.project_id)
                return {k: len(v) for k, v in custom_kg.items()}

        class _Version:
            async def acall(self, keep_previous: int) -> dict[str, Any]:
                recorder.versions.append({"keep_previous": keep_previous})
                return {"version": len(recorder.versions), "replaced": True}

        class _Plugin:
            __name__ = "recording-graph"

            @hookimpl
            def register_tools(self, register: Callable[[Tool], None]) -> None:
                register(Tool(name="kg_insert_custom_kg", description="records payloads",
                              factory=lambda ctx: _Tool(ctx.project_id)))
                register(Tool(name="kg_new_version", description="records versions",
                              factory=lambda ctx: _Version()))

        return _Plugin()
