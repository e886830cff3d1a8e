"""The story's knowledge graph, built from the merged analysis (deterministic; no model call).

The shape follows docs/architecture.md ("The story graph"), which the director crew reads back:
entity types ``story`` (one entity ``Story``: title, logline, genre, tone, language and who
made the analysis, so a crew reading the graph alone knows the story's title), ``character``,
``location``, ``object``, ``scene``, ``theme``; scenes named
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


def scene_chunk_id(scene: Scene) -> str:
    """The ``source_id`` of a scene's own text in the graph."""
    return f"scene-{scene.id or f'{scene.number:03d}'}"


def scene_description(scene: Scene) -> str:
    """The fixed ``Key: value`` lines the director parses (empty optional keys are left out).

    The scene's full text is its chunk (``scene_chunk_id``), not part of the description.
    """
    lines = [f"{scene_name(scene.number)}: {_one_line(scene.summary)}"]
    if scene.id:
        lines.append(f"Id: {scene.id}")
    if scene.location:
        lines.append(f"Location: {_one_line(scene.location)}")
    if scene.location_id:
        lines.append(f"Location id: {scene.location_id}")
    if scene.int_ext:
        lines.append(f"Int/Ext: {scene.int_ext}")
    if scene.day_night:
        lines.append(f"Day/Night: {scene.day_night}")
    if scene.time_of_day:
        lines.append(f"Time: {_one_line(scene.time_of_day)}")
    lines.append(f"Story day: {scene.story_day}")
    lines.append(f"Characters: {', '.join(scene.characters)}")
    if scene.character_ids:
        lines.append(f"Character ids: {', '.join(scene.character_ids)}")
    if scene.emotional_beat:
        lines.append(f"Emotional beat: {_one_line(scene.emotional_beat)}")
    if scene.purpose:
        lines.append(f"Purpose: {_one_line(scene.purpose)}")
    if scene.dialogue:
        quoted = " | ".join(
            (f"{_one_line(d.speaker)}: " if d.speaker else "")
            + f'"{_one_line(d.line).replace("|", "/")}"' for d in scene.dialogue)
        lines.append(f"Dialogue: {quoted}")
    if scene.objects:
        lines.append(f"Objects: {', '.join(scene.objects)}")
    if scene.span.end > scene.span.start:
        lines.append(f"Span: {scene.span.start}-{scene.span.end}")
    lines.append(f"Text chunk: {scene_chunk_id(scene)}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


#: the one ``story`` entity's name: fixed, so a re-analysis that retitles replaces its lines
STORY_ENTITY = "Story"
#: how the offline stand-in's analysis is marked (the director's and storyboard's say the same)
OFFLINE_MADE_BY = "the offline stand-in model (a placeholder, not for media generation)"


def story_description(analysis: StoryAnalysis) -> str:
    """``Key: value`` lines of the story as a whole (empty optional keys are left out)."""
    made_by = OFFLINE_MADE_BY if analysis.model.offline \
        else ", ".join(dict.fromkeys(analysis.model.ids)) or "a model"
    lines = [f"Title: {_one_line(analysis.title)}"]
    for label, value in (("Logline", analysis.logline), ("Genre", analysis.genre),
                         ("Tone", analysis.tone), ("Language", analysis.language)):
        if value and value.strip():
            lines.append(f"{label}: {_one_line(value)}")
    lines.append(f"Made by: {made_by}")
    return "\n".join(lines)


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
    # each scene's own text is its chunk; the story's chunks only where a scene has no text
    scene_texts = [{"content": s.text, "source_id": scene_chunk_id(s)}
                   for s in analysis.scenes if s.text.strip()]
    by_scene = bool(scene_texts) and len(scene_texts) == len(analysis.scenes)
    story_chunks = [] if by_scene else [{"content": c.text, "source_id": c.id} for c in chunks]
    default_source = (scene_texts[0]["source_id"] if by_scene
                      else chunks[0].id if chunks else "chunk-001")
    first_seen: dict[str, str] = {}  # entity name -> the first scene chunk that shows it
    story_to_scene: dict[str, str] = {}  # story chunk id -> its first scene's chunk
    if by_scene:
        for scene in analysis.scenes:
            for name in (*scene.characters, scene.location, *scene.objects):
                if name:
                    first_seen.setdefault(name, scene_chunk_id(scene))
            story_chunk = scene_chunks.get(scene.number)
            if story_chunk:
                story_to_scene.setdefault(story_chunk, scene_chunk_id(scene))

    def source(name: str) -> str:
        if by_scene:
            return first_seen.get(name) or story_to_scene.get(first_chunk.get(name, ""),
                                                              default_source)
        return first_chunk.get(name, default_source)

    def chunk_source(chunk_id: str) -> str:
        return story_to_scene.get(chunk_id, default_source) if by_scene else chunk_id
    kg: CustomKG = {
        "chunks": [*story_chunks, *scene_texts],
        "entities": [],
        "relationships": [],
    }
    entities, rels = kg["entities"], kg["relationships"]

    def relate(src: str, tgt: str, keyword: str, description: str, source_id: str,
               weight: float = 1.0) -> None:
        rels.append({"src_id": src, "tgt_id": tgt, "description": description,
                     "keywords": keyword, "weight": weight, "source_id": source_id})

    entities.append({"entity_name": STORY_ENTITY, "entity_type": "story",
                     "description": story_description(analysis), "source_id": default_source})
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
        src = scene_chunk_id(scene) if scene.text.strip() else \
            scene_chunks.get(scene.number, default_source)
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
               scene_chunk_id(after) if by_scene
               else scene_chunks.get(after.number, default_source))
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
                         "source_id": chunk_source(in_chunks[0]) if in_chunks
                         else default_source})
        by_number = {s.number: s for s in analysis.scenes}
        for chunk_id in in_chunks:
            for number in sorted(chunk_scenes.get(chunk_id, [])):
                relate(theme, scene_name(number), "theme_of",
                       f"{theme} runs through {scene_name(number)}.",
                       scene_chunk_id(by_number[number]) if by_scene else chunk_id, 0.5)
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
