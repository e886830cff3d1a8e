"""Test helpers: a story graph in memory behind the real tool names, and realistic agent replies.

``MemoryGraph`` stands in for the pathrag plugin (which this plugin must not depend on): it
answers ``kg_query`` and ``kg_insert_custom_kg`` with the contract of docs/architecture.md,
matching query words against names and descriptions like a full-text index would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from novelcrew import Tool, hookimpl

PROJECT = "proj-lighthouse"

SCENES = {
    1: ("Mara reads the letter announcing the light's automation at the kitchen table.",
        "Keeper's Kitchen", "NIGHT", ["Mara"], "quiet dread",
        "Sets up the threat to Mara's way of life",
        ['"They are automating the light."']),
    2: ("Tomas rows out and laughs off the news while Mara stays silent.",
        "Gannet Point Jetty", "DAY", ["Mara", "Tomas"], "brittle humour",
        "Shows the siblings' opposite instincts", ['"The sea will not notice."']),
    3: ("A storm drives a fishing boat onto the rocks; Mara climbs down with a rope.",
        "Gannet Point Rocks", "NIGHT", ["Mara", "Tomas"], "terror turning to resolve",
        "The climax: the keeper is needed", ['"Hold the lantern higher!"']),
    4: ("At dawn the rescued crew dries out in the kitchen as Mara writes to the board.",
        "Keeper's Kitchen", "DAWN", ["Mara", "Tomas"], "exhausted pride",
        "Resolution: Mara keeps the light", ['"The light will need a keeper."']),
}
CHARACTERS = {
    "Mara": "Role: protagonist. Mara Vell, keeper of the Gannet Point light for eleven years; "
            "weathered, precise, speaks little.",
    "Tomas": "Role: supporting. Mara's younger brother, a fisherman who jokes to hide worry.",
}
LOCATIONS = {
    "Keeper's Kitchen": "A cramped stone kitchen at the foot of the tower. Atmosphere: warm "
                        "lamplight against the dark, the lamp's beam sweeping the window.",
    "Gannet Point Jetty": "A weathered wooden jetty below the headland. Atmosphere: bright, "
                          "windy, gulls.",
    "Gannet Point Rocks": "Black rocks under the lighthouse, surf breaking white. Atmosphere: "
                          "violent, wet, roaring.",
}


def scene_description(number: int) -> str:
    summary, location, time, chars, beat, purpose, dialogue = SCENES[number]
    return "\n".join([
        f"Scene {number}: {summary}", f"Location: {location}", f"Time: {time}",
        f"Characters: {', '.join(chars)}", f"Emotional beat: {beat}", f"Purpose: {purpose}",
        f"Dialogue: {' | '.join(dialogue)}",
    ])


TITLE = "The Last Light at Gannet Point"


def story_kg() -> dict[str, list[dict[str, Any]]]:
    """The graph the architect would write for the lighthouse story."""
    entities = [{"entity_name": "Story", "entity_type": "story", "source_id": "chunk-001",
                 "description": f"Title: {TITLE}\nGenre: drama\n"
                                "Made by: openrouter/anthropic/claude-sonnet-4"}]
    entities += [{"entity_name": n, "entity_type": "character", "description": d,
                  "source_id": "chunk-001"} for n, d in CHARACTERS.items()]
    entities += [{"entity_name": n, "entity_type": "location", "description": d,
                  "source_id": "chunk-001"} for n, d in LOCATIONS.items()]
    rels: list[dict[str, Any]] = []
    for number, (_, location, _, chars, *_rest) in SCENES.items():
        name = f"Scene {number}"
        entities.append({"entity_name": name, "entity_type": "scene",
                         "description": scene_description(number), "source_id": "chunk-001"})
        rels += [{"src_id": c, "tgt_id": name, "keywords": "appears_in", "weight": 1.0,
                  "description": f"{c} appears in {name}.", "source_id": "chunk-001"}
                 for c in chars]
        rels.append({"src_id": name, "tgt_id": location, "keywords": "located_in",
                     "weight": 1.0, "description": f"{name} takes place at {location}.",
                     "source_id": "chunk-001"})
        if number + 1 in SCENES:
            rels.append({"src_id": name, "tgt_id": f"Scene {number + 1}", "keywords": "precedes",
                         "weight": 1.0, "description": "", "source_id": "chunk-001"})
    return {"chunks": [], "entities": entities, "relationships": rels}


class MemoryGraph:
    """Per-project entities and relationships, queried by words like a full-text index."""

    def __init__(self) -> None:
        self.entities: dict[str, dict[str, dict[str, Any]]] = {}
        self.relationships: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.chunks: dict[str, list[dict[str, Any]]] = {}
        self.queries: list[dict[str, Any]] = []
        self.inserts: list[dict[str, Any]] = []

    def insert(self, project: str, kg: dict[str, Any]) -> dict[str, int]:
        self.inserts.append(kg)
        ents = self.entities.setdefault(project, {})
        for e in kg.get("entities", []):
            ents[e["entity_name"].lower()] = {"name": e["entity_name"],
                                              "type": e["entity_type"].lower(),
                                              "description": e["description"],
                                              "source_id": e.get("source_id", "")}
        rels = self.relationships.setdefault(project, {})
        for r in kg.get("relationships", []):
            rels[(r["src_id"].lower(), r["tgt_id"].lower())] = {
                "src": r["src_id"], "tgt": r["tgt_id"], "description": r.get("description", ""),
                "keywords": r.get("keywords", ""), "weight": r.get("weight", 1.0)}
        self.chunks.setdefault(project, []).extend(kg.get("chunks", []))
        return {"chunks": len(kg.get("chunks", [])), "entities": len(kg.get("entities", [])),
                "relationships": len(kg.get("relationships", []))}

    def delete(self, project: str, name: str) -> bool:
        key = name.lower()
        found = self.entities.get(project, {}).pop(key, None) is not None
        rels = self.relationships.get(project, {})
        for pair in [p for p in rels if key in p]:
            del rels[pair]
        return found

    def query(self, project: str, query: str, top_k: int = 20, max_tokens: int = 4000,
              entity_types: list[str] | None = None) -> dict[str, Any]:
        self.queries.append({"query": query, "entity_types": entity_types, "top_k": top_k})
        if not 1 <= top_k <= 200:  # as the real kg_query's argument schema refuses it
            raise ValueError(f"kg_query accepts top_k 1..200, got {top_k}")
        words = {w.lower() for w in re.findall(r"\w+", query)}
        ents = self.entities.get(project, {})
        scored = []
        for key, e in ents.items():
            if entity_types and e["type"] not in entity_types:
                continue
            text = f"{e['name']} {e['description']}".lower()
            hits = sum(1 for w in words if re.search(rf"\b{re.escape(w)}\b", text))
            if key == query.lower():
                hits += 100
            if hits:
                scored.append((hits, e))
        scored.sort(key=lambda item: -item[0])
        seeds = [e for _, e in scored[:top_k]]
        names = {e["name"].lower() for e in seeds}
        rels = [r for (s, t), r in self.relationships.get(project, {}).items()
                if s in names or t in names]
        out = list(seeds)
        for r in rels:  # neighbours, as relational retrieval would bring them
            for end in (r["src"].lower(), r["tgt"].lower()):
                if end not in names and end in ents:
                    names.add(end)
                    out.append(ents[end])
        cited = {e.get("source_id") for e in out}
        chunks = [{"content": c["content"], "source_id": c["source_id"]}
                  for c in self.chunks.get(project, []) if c.get("source_id") in cited]
        return {"entities": [{k: v for k, v in e.items() if k != "source_id"} | {"score": 1.0}
                             for e in out], "relationships": rels,
                "paths": [], "chunks": chunks, "context": ""}


class _GraphTool:
    def __init__(self, graph: MemoryGraph, project: str, op: str) -> None:
        self.graph, self.project, self.op = graph, project, op

    async def acall(self, **kwargs: Any) -> Any:
        if self.op == "query":
            return self.graph.query(self.project, **kwargs)
        if self.op == "delete":
            return {"deleted": self.graph.delete(self.project, kwargs["entity_name"])}
        return self.graph.insert(self.project, kwargs["custom_kg"])


class GraphPlugin:
    """A plugin registering ``kg_query`` and ``kg_insert_custom_kg`` over a ``MemoryGraph``."""

    def __init__(self, graph: MemoryGraph) -> None:
        self.graph = graph

    @hookimpl
    def register_tools(self, register: Any) -> None:
        graph = self.graph
        register(Tool(name="kg_query", description="query (memory)",
                      factory=lambda ctx: _GraphTool(graph, ctx.project_id or "", "query")))
        register(Tool(name="kg_insert_custom_kg", description="insert (memory)",
                      factory=lambda ctx: _GraphTool(graph, ctx.project_id or "", "insert")))
        register(Tool(name="kg_delete_entity", description="delete (memory)",
                      factory=lambda ctx: _GraphTool(graph, ctx.project_id or "", "delete")))


def graph_plugin(graph: MemoryGraph) -> GraphPlugin:
    return GraphPlugin(graph)


# realistic agent replies --------------------------------------------------------------------
def prompt_scene(prompt: str) -> int:
    match = re.search(r"^SCENE (\d+)$", prompt, re.M)
    assert match, "every scene prompt carries its SCENE <n> header"
    return int(match.group(1))


def breakdown_reply(number: int) -> dict[str, Any]:
    summary, location, time, chars, beat, _purpose, _dialogue = SCENES[number]
    prefix = "EXT." if "Rocks" in location or "Jetty" in location else "INT."
    return {
        "heading": f"{prefix} {location.upper()} - {time}",
        "summary": summary,
        "characters": chars,
        "blocking": [f"{chars[0]} starts by the window", f"{chars[-1]} crosses to frame left"],
        "emotional_beats": [f"{chars[0]}: {beat}"],
        "visual_needs": ["lamp beam sweeping through the window", "salt-stained oilskins"],
        "props": ["the letter", "storm lantern"],
        "pacing": "slow burn that tightens at the end",
        "transition": "sound bridge of the foghorn into the next scene",
        "mood": beat,
        "lighting": "low-key practical lamplight, cold blue spill from the beam",
        "palette": ["slate blue", "amber", "bone white"],
    }


SHOT_PLANS = {
    1: [("establishing", "high angle", "drone", "24mm", 6, "ambience: wind"),
        ("medium close-up", "eye level", "static", "50mm", 5, "dialogue: Mara")],
    2: [("wide", "eye level", "pan", "35mm", 7, "ambience: gulls"),
        ("two-shot", "eye level", "dolly in", "40mm", 9, "dialogue: Tomas, Mara"),
        ("close-up", "low angle", "static", "85mm", 3, "MOS")],
    3: [("wide", "low angle", "crane", "18mm", 8, "ambience: storm"),
        ("close-up", "eye level", "handheld", "35mm", 4, "dialogue: Mara"),
        ("insert", "overhead", "static", "100mm macro", 2, "MOS")],
    4: [("medium", "eye level", "Steadicam", "32mm", 10, "dialogue: Mara, Tomas")],
}


def shots_reply(number: int) -> dict[str, Any]:
    shots = []
    for kind, angle, move, lens, seconds, audio in SHOT_PLANS[number]:
        shots.append({
            "shot_type": kind, "angle": angle, "movement": move, "lens": lens,
            "lighting": "low-key practical lamplight" if number in (1, 4)
            else "overcast daylight with rain" if number == 3 else "bright daylight",
            "audio": audio, "estimated_duration_seconds": seconds,
            "notes": f"scene {number}: {kind} to land the beat",
            "alternative": "locked-off wide on sticks", "equipment": [],
        })
    return {"shots": shots}


def final(obj: Any) -> str:
    return f"Thought: I have the plan.\nFinal Answer: {json.dumps(obj)}"


def director_replies(
    breakdown: Callable[[int, str], str] | None = None,
    shots: Callable[[int, str], str] | None = None,
) -> dict[str, Callable[[str], str]]:
    """Replies keyed by agent role, answering for whichever scene the prompt carries."""

    def _breakdown(prompt: str) -> str:
        n = prompt_scene(prompt)
        return breakdown(n, prompt) if breakdown else final(breakdown_reply(n))

    def _shots(prompt: str) -> str:
        n = prompt_scene(prompt)
        return shots(n, prompt) if shots else final(shots_reply(n))

    return {"Scene Analysis Director": _breakdown, "Cinematography Specialist": _shots}


# a grounded architect result (the scene interface of issue #18) -------------------------------
GROUNDED_TEXTS = [
    ("Rain hammered the slipway. Nora backed the old Bedford van down to the water, its "
     "headlights on the black tide, while Biscuit, the terrier, barked at the gulls.\n"
     "\"Tam, get the rope,\" Nora said.\n"
     "Thomas, whom everyone called Tam, dragged the coil of rope out of the van and swore "
     "at the rain.\n\"It's soaked through,\" Tam said."),
    ("On the ferry's deck the wind tore at their oilskins. Nora held the rope while Tam "
     "lashed the van's wheels to the cleats. Biscuit shivered inside Nora's coat.\n"
     "\"We should have waited for the morning,\" Tam said.\n"
     "\"The morning is too late,\" Nora said."),
    ("In the harbour office, under a single bulb, the harbourmaster stamped their papers "
     "without looking up. Nora signed with a wet hand. The rope lay coiled at her feet."),
]
GROUNDED = {
    "title": "The Ferry at Low Tide",
    "language": "English",
    "characters": [
        {"id": "nora", "name": "Nora Quill", "aliases": ["Nora"], "role": "protagonist",
         "description": "A ferry mechanic in her forties.",
         "arc": "From stubborn solitude to asking for help, then trusting Tam with the crossing.",
         "relationships": [{"to": "Thomas Reid", "kind": "cousin",
                            "description": "they bicker like siblings"}]},
        {"id": "tam", "name": "Thomas Reid", "aliases": ["Tam", "Thomas"], "role": "supporting",
         "description": "Nora's cousin, a deckhand who complains and never leaves."},
        {"id": "harbourmaster", "name": "The Harbourmaster", "role": "minor",
         "description": "An old man who has seen every storm."},
    ],
    "locations": [
        {"id": "slipway", "name": "Kessel Slipway", "description": "A concrete ramp into "
         "the harbour.", "atmosphere": "wet, loud, sodium light"},
        {"id": "ferry-deck", "name": "Ferry Deck", "description": "The open car deck.",
         "atmosphere": "wind and spray"},
        {"id": "harbour-office", "name": "Harbour Office", "description": "A cramped office.",
         "atmosphere": "one bulb, ticking clock"},
    ],
    "scenes": [
        {"id": "s001", "number": 1, "text": GROUNDED_TEXTS[0], "span": {"start": 0, "end": 100},
         "int_ext": "EXT", "day_night": "NIGHT", "story_day": 1, "location": "Kessel Slipway",
         "characters": ["nora", "tam"], "summary": "Nora and Tam load the van in the rain.",
         "emotional_beat": "grim resolve", "purpose": "setup",
         "dialogue": [{"speaker": "nora", "line": "Tam, get the rope,"},
                      {"speaker": "tam", "line": "It's soaked through,"}],
         "objects": ["rope"]},
        {"id": "s002", "number": 2, "text": GROUNDED_TEXTS[1], "int_ext": "EXT",
         "day_night": "NIGHT", "story_day": 1, "location": "Ferry Deck",
         "characters": ["Nora Quill", "Tam"], "summary": "On deck they lash the van down.",
         "dialogue": [{"speaker": "tam", "line": "We should have waited for the morning,"},
                      {"speaker": "nora", "line": "The morning is too late,"}],
         "objects": ["rope"]},
        {"id": "s003", "number": 3, "text": GROUNDED_TEXTS[2], "int_ext": "INT",
         "day_night": "NIGHT", "story_day": 1, "location": "Harbour Office",
         "characters": ["nora", "harbourmaster"], "summary": "Papers are stamped.",
         "dialogue": [], "objects": ["rope"]},
    ],
}


def grounded_breakdown(number: int) -> dict[str, Any]:
    """A model's breakdown of a grounded scene: some items from the text, some its own idea."""
    cast = [c for c in GROUNDED["scenes"][number - 1]["characters"]]
    return {
        "summary": GROUNDED["scenes"][number - 1]["summary"],
        "characters": cast,
        "blocking": ["Nora starts at the van", "Tam crosses to the rope"],
        "emotional_beats": ["nora: resolve hardens"],
        "mood": "grim", "lighting": "sodium practicals, rain backlit", "palette": ["black"],
        "props": ["coil of rope", "thermos flask"],
        "wardrobe": [{"character": "nora", "item": "yellow oilskins"},
                     {"character": "Tam", "item": "soaked wool jumper"}],
        "makeup_hair": [{"character": "nora", "item": "rain-wet hair"}],
        "vehicles": ["old Bedford van"] if number < 3 else [],
        "animals": ["Biscuit the terrier"] if number < 3 else [],
        "special_effects": ["rain towers"] if number < 3 else [],
        "sound_music": ["gulls", "foghorn"],
        "continuity": ["the rope is wet"],
    }


def grounded_shots(number: int) -> dict[str, Any]:
    return {"shots": [
        {"size": "WS", "angle": "high", "movement": "static", "support": "sticks",
         "lens_mm": 24, "subjects": ["nora", "Tam"], "coverage": "master",
         "audio": "ambience: rain", "estimated_duration_seconds": 6, "notes": "geography"},
        {"size": "close-up", "angle": "eye level", "movement": "handheld", "lens": "50mm",
         "subjects": ["Nora Quill", "nobody"], "audio": "dialogue: nora",
         "estimated_duration_seconds": 4, "notes": "her line"},
    ]}


class FixedArchitect:
    """A stand-in ``architect`` crew whose output is ``result`` (plain data, as chained)."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result

    @hookimpl
    def register_crews(self, register: Any) -> None:
        from pydantic import BaseModel, ConfigDict

        from novelcrew import Crew

        class AnyInput(BaseModel):
            model_config = ConfigDict(extra="ignore")

        class AnyOutput(BaseModel):
            model_config = ConfigDict(extra="allow")

        result = self.result

        async def run(ctx: Any, inputs: Any) -> dict[str, Any]:
            return result

        register(Crew(name="architect", description="test stand-in", input_model=AnyInput,
                      output_model=AnyOutput, run=run))
