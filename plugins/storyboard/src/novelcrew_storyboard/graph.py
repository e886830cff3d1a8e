"""The knowledge graph, through the tools by name: reading the story and plan, writing the board.

Reading turns the architect's and director's entities (``Story`` with the title,
``Scene <n>`` and ``Scene <n> Shot <m>`` with ``Key: value`` descriptions, characters,
locations) back into dicts of the shapes
``source.add_analysis`` / ``source.add_plan`` read, so one parser serves every source. A shot
whose ``Made by:`` line names the offline stand-in (the director writes one on every shot)
makes the plan read as the stand-in's (``model.offline``), as its result would say; the
``Story`` entity's line does the same for the analysis.

Writing adds, per character and location, a ``Look: <name>`` entity (``look_of`` its subject),
one ``Storyboard Style Guide``, and per shot a ``Scene <n> Shot <m> Frame`` entity holding its
prompts, linked ``in_frame`` from each character in it, ``set_in`` its location and
``frame_of`` the director's shot: every frame of a character is one query on its name. Every
entity ends with a ``Made by:`` line, ``OFFLINE_LINE`` or the model ids, so a real re-board
replaces a stand-in's mark on the looks it keeps (the graph keeps the newer line of a key).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import BaseModel

from novelcrew.context import RunContext
from novelcrew_storyboard.models import StoryboardScene, VisualBible

SOURCE_ID = "storyboard"
LIST_TOP_K = 200
MAX_TOKENS = 100_000
MAX_DELETE_ROUNDS = 50
_SCENE_RE = re.compile(r"^\s*scene\s*(\d+)\s*$", re.I)
_SHOT_RE = re.compile(r"^\s*scene\s*(\d+)\s*shot\s*(\d+)\s*$", re.I)
_KEY_RE = re.compile(r"^\s*[-*]?\s*\**([A-Za-z][A-Za-z _/\-]{0,30}?)\**\s*:\s*(.*)$")


def _dict(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value if isinstance(value, dict) else {}


def _field(item: Any, *keys: str) -> Any:
    data = _dict(item)
    return next((data[k] for k in keys if data.get(k) is not None), None)


async def _query(ctx: RunContext, query: str, types: list[str] | None,
                 top_k: int = LIST_TOP_K) -> dict[str, Any]:
    result = await ctx.tool("kg_query").acall(query=query, top_k=top_k, max_tokens=MAX_TOKENS,
                                              entity_types=types)
    return _dict(result)


def _entities(result: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    out = []
    for item in result.get("entities") or []:
        name = _field(item, "name", "entity_name")
        etype = str(_field(item, "type", "entity_type") or "").strip('"').lower()
        if name and etype == kind:
            out.append((str(name), str(_field(item, "description") or "")))
    return out


def key_values(description: str) -> tuple[str, dict[str, str]]:
    """The first line's text after ``Name:`` and the ``Key: value`` lines, keys lower-cased."""
    head, values = "", dict[str, str]()
    for i, line in enumerate(description.replace("<SEP>", "\n").splitlines()):
        match = _KEY_RE.match(line)
        if i == 0:
            head = line.split(":", 1)[1].strip() if ":" in line else line.strip()
            continue
        if match:
            values.setdefault(match.group(1).strip().lower(), match.group(2).strip())
    return head, values


async def read_graph(ctx: RunContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """The project's analysis and plan as the graph holds them, as architect/director dicts."""
    whole, chars, locs, scenes, shots = await asyncio.gather(
        _query(ctx, "story", ["story"], top_k=5),
        _query(ctx, "character", ["character"]), _query(ctx, "location", ["location"]),
        _query(ctx, "Scene", ["scene"]), _query(ctx, "Shot", ["shot"]))
    analysis: dict[str, Any] = {"characters": [], "locations": [], "scenes": []}
    for _, desc in _entities(whole, "story")[:1]:  # the architect's one ``Story`` entity
        _, kv = key_values(f"Story\n{desc}")  # its first line is a key too (``Title:``)
        analysis.update({key: kv[key] for key in ("title", "logline", "genre", "tone",
                                                   "language") if kv.get(key)})
        analysis["model"] = {"offline": is_offline_mark(kv.get("made by", ""))}
    for name, desc in _entities(chars, "character"):
        aliases = re.search(r"Also called: ([^.]*)\.", desc)
        role = re.search(r"Role: ([^.]*)\.", desc)
        analysis["characters"].append({
            "name": name, "aliases": aliases.group(1).split(", ") if aliases else [],
            "role": role.group(1) if role else "", "description": desc})
    for name, desc in _entities(locs, "location"):
        look, _, atmosphere = desc.partition(" Atmosphere:")
        analysis["locations"].append({"name": name, "description": look.strip(),
                                      "atmosphere": atmosphere.strip()})
    plan_scenes: dict[int, dict[str, Any]] = {}
    offline = False
    for name, desc in _entities(scenes, "scene"):
        match = _SCENE_RE.match(name)
        if not match:
            continue
        number = int(match.group(1))
        summary, kv = key_values(desc)
        analysis["scenes"].append({
            "number": number, "id": kv.get("id"), "summary": summary,
            "location": kv.get("location"),
            "day_night": kv.get("day/night") or kv.get("time"),
            "characters": kv.get("characters", ""),
            "dialogue": [d.strip().strip('"') for d in kv.get("dialogue", "").split("|")
                         if d.strip()],
            "story_day": kv.get("story day"), "int_ext": kv.get("int/ext")})
        plan_scenes[number] = {"number": number, "heading": kv.get("heading", ""),
                               "mood": kv.get("mood", ""), "shots": []}
    for name, desc in _entities(shots, "shot"):
        match = _SHOT_RE.match(name)
        if not match or int(match.group(1)) not in plan_scenes:
            continue
        _, kv = key_values(desc)
        # any mark counts: a service that merges descriptions (upstream PathRAG joins them
        # with <SEP>, sorted) may keep an older line, and a placeholder must never pass
        offline = offline or any(
            is_offline_mark(line) for line in desc.replace("<SEP>", "\n").splitlines()
            if line.strip().lower().startswith("made by:"))
        shot: dict[str, Any] = {"number": int(match.group(2))}
        for key, target in (("size", "size"), ("shot type", "shot_type"), ("angle", "angle"),
                            ("movement", "movement"), ("support", "support"), ("lens", "lens"),
                            ("lighting", "lighting"), ("audio", "audio"), ("notes", "notes"),
                            ("coverage", "coverage"), ("duration", "estimated_duration_seconds")):
            if kv.get(key):
                shot[target] = kv[key]
        if kv.get("subjects"):
            shot["subjects"] = [s.strip() for s in kv["subjects"].split(",") if s.strip()]
        plan_scenes[int(match.group(1))]["shots"].append(shot)
    for scene in plan_scenes.values():
        scene["shots"].sort(key=lambda s: s["number"])
    plan = {"scenes": [s for _, s in sorted(plan_scenes.items()) if s["shots"]],
            "model": {"offline": offline}}
    analysis["scenes"].sort(key=lambda s: s["number"])
    return analysis, plan


# writing --------------------------------------------------------------------------------------
_FRAME_RE = re.compile(r"^\s*scene\s*\d+\s*shot\s*\d+\s*frame\s*$", re.I)


def frame_name(scene: int, shot: int) -> str:
    return f"Scene {scene} Shot {shot} Frame"


async def remove_frames(ctx: RunContext) -> list[str]:
    """Delete the frames an earlier run wrote, so a re-board leaves no stale frame or edge."""
    if not (ctx.has_tool("kg_delete_entity") and ctx.has_tool("kg_query")):
        return []
    delete, removed = ctx.tool("kg_delete_entity"), []
    for _ in range(MAX_DELETE_ROUNDS):  # a listing returns at most LIST_TOP_K at a time
        found = await _query(ctx, "Frame", ["storyboard_shot"])
        names = [n for n, _ in _entities(found, "storyboard_shot")
                 if _FRAME_RE.match(n) and n not in removed]
        if not names:
            break
        for name in names:
            await delete.acall(entity_name=name)
        removed += names
    return removed


#: the line every entity of an offline storyboard carries: whoever reads a frame or a look
#: from the graph (Novel Movie's PathRAG, `kg_query`) sees the result's `offline` flag too.
#: The director writes the same line on the shots of an offline plan.
OFFLINE_LINE = "Made by: the offline stand-in model (a placeholder, not for media generation)"


def is_offline_mark(made_by: str) -> bool:
    """Whether a ``Made by:`` value names the offline stand-in (``OFFLINE_LINE``'s)."""
    return "offline stand-in" in made_by.lower()


def custom_kg(bible: VisualBible, scenes: list[StoryboardScene],
              offline: bool = False, models: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``kg_insert_custom_kg`` payload for the bible and the storyboard's shots; every
    entity ends with who made it: ``OFFLINE_LINE`` with ``offline``, else ``models``' ids."""
    entities: list[dict[str, Any]] = []
    rels: list[dict[str, Any]] = []

    def relate(src: str, tgt: str, keyword: str, description: str) -> None:
        rels.append({"src_id": src, "tgt_id": tgt, "keywords": keyword, "weight": 1.0,
                     "description": description, "source_id": SOURCE_ID})

    names = {c.id: c.name for c in bible.characters}
    places = {loc.id: loc.name for loc in bible.locations}
    for c in bible.characters:
        outfits = "; ".join(f"{day}: {outfit}" for day, outfit in c.wardrobe.items())
        entities.append({"entity_name": f"Look: {c.name}", "entity_type": "character_look",
                         "source_id": SOURCE_ID, "description": "\n".join([
                             f"Look: {c.name}: {c.phrase}", f"Id: {c.id}",
                             f"Wardrobe: {outfits}", f"Voice: {c.voice.value}",
                             f"Reference prompt: {c.reference_prompt}"])})
        relate(f"Look: {c.name}", c.name, "look_of", f"How {c.name} looks on screen.")
    for loc in bible.locations:
        entities.append({"entity_name": f"Look: {loc.name}", "entity_type": "location_look",
                         "source_id": SOURCE_ID, "description": "\n".join([
                             f"Look: {loc.name}: {loc.phrase}", f"Id: {loc.id}",
                             f"Set pieces: {', '.join(loc.set_pieces)}",
                             f"Reference prompt: {loc.reference_prompt}"])})
        relate(f"Look: {loc.name}", loc.name, "look_of", f"How {loc.name} looks on screen.")
    style = bible.style
    entities.append({"entity_name": "Storyboard Style Guide", "entity_type": "style_guide",
                     "source_id": SOURCE_ID, "description": "\n".join([
                         "Storyboard Style Guide: the project's look",
                         f"Aspect ratio: {style.aspect_ratio}", f"Era: {style.era}",
                         f"Palette: {', '.join(style.palette)}",
                         f"Lighting: {style.lighting_style}", f"Film look: {style.film_look}"])})
    for scene in scenes:
        for shot in scene.shots:
            name = frame_name(scene.number, shot.number)
            entities.append({"entity_name": name, "entity_type": "storyboard_shot",
                             "source_id": SOURCE_ID, "description": "\n".join([
                                 f"{name}: {shot.size} {shot.action}".strip(),
                                 f"Id: {shot.id}",
                                 f"Subjects: {', '.join(shot.subjects)}",
                                 f"Duration: {shot.duration_seconds:g}s",
                                 f"Clips: {len(shot.clips)}",
                                 f"Image prompt: {shot.image_prompt}",
                                 f"Motion prompt: {shot.motion_prompt}"])})
            relate(name, f"Scene {scene.number} Shot {shot.number}", "frame_of",
                   f"{name} is the storyboard frame of that shot.")
            for cid in shot.subjects:
                if cid in names:
                    relate(names[cid], name, "in_frame", f"{names[cid]} is in {name}.")
            if shot.location_id in places:
                relate(name, places[shot.location_id], "set_in",
                       f"{name} is set in {places[shot.location_id]}.")
    made_by = OFFLINE_LINE if offline \
        else f"Made by: {', '.join(dict.fromkeys((models or {}).values())) or 'a model'}"
    for entity in entities:
        entity["description"] += f"\n{made_by}"
    return {"chunks": [], "entities": entities, "relationships": rels}
