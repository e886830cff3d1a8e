"""The story's knowledge graph, built from the merged analysis (deterministic; no model call).

The shape follows docs/architecture.md ("The story graph"), which the director crew reads back:
entity types ``character``, ``location``, ``object``, ``scene``, ``theme``; scenes named
``Scene <n>`` with a ``Key: value`` description; relationship keywords ``appears_in``,
``relationship``, ``located_in``, ``precedes``, ``features``, ``theme_of``. Field names are the
upstream PathRAG ``custom_kg`` ones; every entity and relationship names the story chunk it
came from as ``source_id`` (one chunk id, which upstream PathRAG maps to its chunk).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from novelcrew_architect.chunking import Chunk
from novelcrew_architect.merge import chunks_for_theme
from novelcrew_architect.models import Character, Scene, StoryAnalysis

CustomKG = dict[str, list[dict[str, Any]]]


def scene_name(number: int) -> str:
    return f"Scene {number}"


def scene_description(scene: Scene) -> str:
    """The fixed ``Key: value`` lines the director parses (empty optional keys are left out)."""
    lines = [f"{scene_name(scene.number)}: {_one_line(scene.summary)}"]
    if scene.location:
        lines.append(f"Location: {_one_line(scene.location)}")
    if scene.time_of_day:
        lines.append(f"Time: {_one_line(scene.time_of_day)}")
    lines.append(f"Characters: {', '.join(scene.characters)}")
    if scene.emotional_beat:
        lines.append(f"Emotional beat: {_one_line(scene.emotional_beat)}")
    if scene.purpose:
        lines.append(f"Purpose: {_one_line(scene.purpose)}")
    if scene.dialogue:
        quoted = " | ".join(f'"{_one_line(line).strip(chr(34))}"' for line in scene.dialogue)
        lines.append(f"Dialogue: {quoted}")
    if scene.objects:
        lines.append(f"Objects: {', '.join(scene.objects)}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _character_description(char: Character) -> str:
    parts = [f"Role: {char.role}."]
    if char.aliases:
        parts.append(f"Also called: {', '.join(char.aliases)}.")
    if char.description:
        parts.append(char.description)
    if char.arc:
        parts.append(f"Arc: {char.arc}")
    return " ".join(parts)


def build_custom_kg(
    analysis: StoryAnalysis,
    chunks: Sequence[Chunk],
    *,
    scene_chunks: dict[int, str],
    first_chunk: dict[str, str],
    theme_chunks: dict[str, list[str]],
) -> CustomKG:
    """The ``custom_kg`` payload for ``kg_insert_custom_kg`` describing ``analysis``."""
    default_source = chunks[0].id if chunks else "chunk-001"

    def source(name: str) -> str:
        return first_chunk.get(name, default_source)

    kg: CustomKG = {
        "chunks": [{"content": c.text, "source_id": c.id} for c in chunks],
        "entities": [],
        "relationships": [],
    }
    entities, rels = kg["entities"], kg["relationships"]

    def relate(src: str, tgt: str, keyword: str, description: str, source_id: str,
               weight: float = 1.0) -> None:
        rels.append({"src_id": src, "tgt_id": tgt, "description": description,
                     "keywords": keyword, "weight": weight, "source_id": source_id})

    for char in analysis.characters:
        entities.append({"entity_name": char.name, "entity_type": "character",
                         "description": _character_description(char),
                         "source_id": source(char.name)})
    for loc in analysis.locations:
        text = loc.description + (f" Atmosphere: {loc.atmosphere}" if loc.atmosphere else "")
        entities.append({"entity_name": loc.name, "entity_type": "location",
                         "description": text.strip() or loc.name,
                         "source_id": source(loc.name)})
    for obj in analysis.objects:
        text = obj.description + (f" Significance: {obj.significance}" if obj.significance
                                  else "")
        entities.append({"entity_name": obj.name, "entity_type": "object",
                         "description": text.strip() or obj.name,
                         "source_id": source(obj.name)})
    for scene in analysis.scenes:
        src = scene_chunks.get(scene.number, default_source)
        name = scene_name(scene.number)
        entities.append({"entity_name": name, "entity_type": "scene",
                         "description": scene_description(scene), "source_id": src})
        for who in scene.characters:
            relate(who, name, "appears_in", f"{who} appears in {name}.", src)
        if scene.location:
            relate(name, scene.location, "located_in",
                   f"{name} takes place at {scene.location}.", src)
        for thing in scene.objects:
            relate(name, thing, "features", f"{name} features {thing}.", src)
    for before, after in zip(analysis.scenes, analysis.scenes[1:], strict=False):
        relate(scene_name(before.number), scene_name(after.number), "precedes",
               f"{scene_name(before.number)} comes right before {scene_name(after.number)}.",
               scene_chunks.get(after.number, default_source))
    for char in analysis.characters:
        for rel in char.relationships:
            text = f"{char.name} is {rel.kind} to {rel.to}."
            if rel.description:
                text += f" {rel.description}"
            relate(char.name, rel.to, "relationship", text, source(char.name))

    chunk_scenes: dict[str, list[int]] = {}
    for number, chunk_id in scene_chunks.items():
        chunk_scenes.setdefault(chunk_id, []).append(number)
    for theme in analysis.themes:
        in_chunks = chunks_for_theme(theme, theme_chunks)
        entities.append({"entity_name": theme, "entity_type": "theme",
                         "description": f"Theme of '{analysis.title}': {theme}.",
                         "source_id": in_chunks[0] if in_chunks else default_source})
        for chunk_id in in_chunks:
            for number in sorted(chunk_scenes.get(chunk_id, [])):
                relate(theme, scene_name(number), "theme_of",
                       f"{theme} runs through {scene_name(number)}.", chunk_id, 0.5)
    return kg


def batches(kg: CustomKG, size: int = 200) -> Iterator[CustomKG]:
    """``kg`` cut into payloads of at most ``size`` items (chunks first, then entities, then
    relationships, so every relationship's ends exist when it is written)."""
    items = [("chunks", x) for x in kg["chunks"]] + [("entities", x) for x in kg["entities"]] + [
        ("relationships", x) for x in kg["relationships"]
    ]
    for start in range(0, len(items), size):
        batch: CustomKG = {"chunks": [], "entities": [], "relationships": []}
        for key, item in items[start: start + size]:
            batch[key].append(item)
        yield batch
