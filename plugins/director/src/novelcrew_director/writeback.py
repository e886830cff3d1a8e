"""Shots back into the story graph, in the architect's conventions.

Each shot becomes a ``shot`` entity ``Scene <n> Shot <m>`` whose description is ``Key: value``
lines (the remote PathRAG service keeps text only), linked ``shot_of`` to ``Scene <n>``. The
scene entity is re-sent with its original lines plus ``Heading`` and ``Mood``, so a later
reader finds the plan's heading without losing the architect's facts, and one text chunk per
scene lets a free-text query ("the shots of the storm scene") find the plan.

Every shot says who planned it in a ``Made by:`` line: ``OFFLINE_LINE`` for the offline
stand-in, else the model ids. A reader of the graph alone (the storyboard crew boarding a
project, Novel Movie's PathRAG) can so tell a placeholder plan from a real one, and a real
re-plan's line replaces the stand-in's (the graph keeps one line per key, the newer).
"""

from __future__ import annotations

import re
from typing import Any

from novelcrew.context import RunContext
from novelcrew_director.models import PlannedScene, Shot
from novelcrew_director.story import SceneFacts

SOURCE_ID = "director"
#: the line every shot of an offline plan carries (the storyboard plugin's frames say the same)
OFFLINE_LINE = "Made by: the offline stand-in model (a placeholder, not for media generation)"


def made_by_line(models: dict[str, str], offline: bool) -> str:
    """``OFFLINE_LINE``, or ``Made by: <the plan's model ids>``."""
    if offline:
        return OFFLINE_LINE
    return f"Made by: {', '.join(dict.fromkeys(models.values())) or 'a model'}"


def shot_name(scene: int, shot: int) -> str:
    return f"Scene {scene} Shot {shot}"


def shot_description(scene: PlannedScene, shot: Shot) -> str:
    lines = [f"{shot_name(scene.number, shot.number)}: {shot.size.value}, "
             f"{shot.angle.value}, {shot.movement.value}"]
    for label, value in (("Heading", scene.heading), ("Size", shot.size.value),
                         ("Angle", shot.angle.value), ("Movement", shot.movement.value),
                         ("Support", shot.support.value), ("Lens", f"{shot.lens_mm}mm"),
                         ("Coverage", shot.coverage.value),
                         ("Subjects", ", ".join(shot.subjects)),
                         ("Lighting", shot.lighting),
                         ("Audio", shot.audio),
                         ("Duration", f"{shot.estimated_duration_seconds:g}s"),
                         ("Notes", shot.notes), ("Continuity", shot.continuity),
                         ("Alternative", shot.alternative),
                         ("Equipment", ", ".join(shot.equipment))):
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def scene_description(scene: PlannedScene, facts: SceneFacts | None) -> str:
    """The scene's description in the architect's format, plus the plan's heading and mood."""
    summary = facts.summary if facts and facts.summary else scene.summary
    lines = [f"Scene {scene.number}: {summary}"]
    if facts is not None:
        for label, value in (("Id", facts.id), ("Location", facts.location),
                             ("Location id", facts.location_id),
                             ("Int/Ext", facts.int_ext), ("Day/Night", facts.day_night),
                             ("Time", facts.time),
                             ("Story day", str(facts.story_day) if facts.story_day else None),
                             ("Characters", ", ".join(facts.characters)),
                             ("Character ids", ", ".join(facts.character_ids)),
                             ("Emotional beat", facts.emotional_beat),
                             ("Purpose", facts.purpose),
                             ("Dialogue", " | ".join(facts.dialogue)),
                             ("Objects", ", ".join(facts.objects)),
                             ("Text chunk", facts.text_chunk)):
            if value:
                lines.append(f"{label}: {value}")
        lines += [f"{key}: {value}" for key, value in facts.extra.items()
                  if key.lower() not in ("heading", "mood", "shots")]
    lines.append(f"Heading: {scene.heading}")
    if scene.mood:
        lines.append(f"Mood: {scene.mood}")
    lines.append(f"Shots: {len(scene.shots)}")
    return "\n".join(lines)


def scene_chunk(scene: PlannedScene) -> str:
    lines = [f"Shot list of Scene {scene.number}, {scene.heading}. {scene.summary}"]
    for shot in scene.shots:
        lines.append(f"Shot {shot.number}: {shot.size.value}, {shot.angle.value}, "
                     f"{shot.movement.value} on {shot.support.value}, {shot.lens_mm}mm, "
                     f"{shot.estimated_duration_seconds:g}s. {shot.notes}".rstrip())
    return "\n".join(lines)


def custom_kg(scenes: list[PlannedScene], facts: dict[int, SceneFacts],
              made_by: str) -> dict[str, Any]:
    """The ``kg_insert_custom_kg`` payload for the planned scenes; ``made_by`` (a
    ``made_by_line``) ends each shot's description and each scene's shot-list chunk."""
    chunks: list[dict[str, Any]] = []
    entities: list[dict[str, Any]] = []
    relationships: list[dict[str, Any]] = []
    for scene in scenes:
        scene_name = f"Scene {scene.number}"
        chunks.append({"content": f"{scene_chunk(scene)}\n{made_by}", "source_id": SOURCE_ID})
        entities.append({"entity_name": scene_name, "entity_type": "scene",
                         "description": scene_description(scene, facts.get(scene.number)),
                         "source_id": SOURCE_ID})
        for shot in scene.shots:
            name = shot_name(scene.number, shot.number)
            entities.append({"entity_name": name, "entity_type": "shot",
                             "description": f"{shot_description(scene, shot)}\n{made_by}",
                             "source_id": SOURCE_ID})
            relationships.append({
                "src_id": name, "tgt_id": scene_name,
                "description": f"Shot {shot.number} of {scene_name} ({shot.size.value})",
                "keywords": "shot_of", "weight": 1.0, "source_id": SOURCE_ID,
            })
    return {"chunks": chunks, "entities": entities, "relationships": relationships}


_SHOT_RE = re.compile(r"^scene\s+(\d+)\s+shot\s+(\d+)$", re.I)


async def stale_shots(ctx: RunContext, scene: PlannedScene) -> list[str]:
    """The shots an earlier plan wrote for ``scene`` beyond this plan's count (found with
    ``kg_query``; nothing without ``kg_delete_entity``, which removes them).

    Re-planning a scene with fewer shots would otherwise leave ``Scene 3 Shot 9`` behind. It
    only reads, so it runs as soon as the scene is planned, while the other scenes wait on the
    model: a graph query per scene at the end would hold up the whole job.
    """
    if not ctx.has_tool("kg_delete_entity"):
        return []
    result = await ctx.tool("kg_query").acall(query=f"Scene {scene.number} Shot", top_k=200,
                                              max_tokens=2000, entity_types=["shot"])
    data = result.model_dump() if hasattr(result, "model_dump") else dict(result)
    stale: list[str] = []
    for entity in data.get("entities") or []:
        name = str(entity.get("name", ""))
        match = _SHOT_RE.match(name.strip())
        if (match and int(match.group(1)) == scene.number
                and int(match.group(2)) > len(scene.shots)):
            stale.append(name)
    return stale


async def remove_shots(ctx: RunContext, names: list[str]) -> list[str]:
    """Delete the ``stale_shots`` of the planned scenes, after the new plan is written."""
    if not names:
        return []
    delete = ctx.tool("kg_delete_entity")
    for name in names:
        await delete.acall(entity_name=name)
    return names
