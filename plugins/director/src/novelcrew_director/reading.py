"""Reading a story's context through the tools, by name: ``kg_query`` and, when configured,
``payload_read_project``.

Queries are few and bounded: one listing per entity type, then one query per selected scene
for its relationships (characters ``appears_in`` it, it is ``located_in`` a location, it
``features`` objects), run a few at a time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import BaseModel

from novelcrew.context import RunContext
from novelcrew.errors import InvalidInput
from novelcrew_director.story import (
    SceneFacts,
    StoryContext,
    TargetRuntime,
    from_architect,
    parse_scene_description,
    scene_number,
)

log = logging.getLogger(__name__)

LIST_TOP_K = 200  # the most kg_query returns at once
MAX_SCENES = 2000
SCENE_TOP_K = 40
MAX_TOKENS = 8000
QUERY_CONCURRENCY = 4
#: the project's fields the brief shows, by label; the first of a label's fields with words
#: wins (Novel Movie's ``projectTitle`` over an older ``title``). ``longDescription`` is left
#: out: the premise and the scene's own text say more, and it would repeat in every prompt.
PROJECT_FIELDS = {
    "name": "Project",
    "projectTitle": "Title",
    "title": "Title",
    "shortDescription": "Short description",
    "corePremise": "Core premise",
    "primaryGenres": "Genres",
    "genre": "Genre",
    "tone": "Tone",
    "mood": "Mood",
    "targetAudience": "Target audience",
    "movieFormat": "Format",
    "movieStyle": "Visual style",
}
#: the most of a visual style (with its description) or a short description a prompt carries;
#: the premise is the writer's own and is sent whole, as ever
NOTE_CHARS = 300
CLIPPED_FIELDS = ("shortDescription", "movieStyle")


def as_dict(value: Any) -> dict[str, Any]:
    """A tool result as a dict (tools may return pydantic models or dicts)."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return value
    return {}


def _field(item: Any, *keys: str) -> Any:
    data = as_dict(item) if not isinstance(item, dict) else item
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


async def _query(ctx: RunContext, query: str, *, top_k: int,
                 entity_types: list[str] | None = None) -> dict[str, Any]:
    tool = ctx.tool("kg_query")
    result = await tool.acall(query=query, top_k=top_k, max_tokens=MAX_TOKENS,
                              entity_types=entity_types)
    return as_dict(result)


def _entities(result: dict[str, Any], kind: str | None = None) -> list[tuple[str, str, str]]:
    out = []
    for item in result.get("entities") or []:
        name = _field(item, "name", "entity_name")
        if not name:
            continue
        etype = str(_field(item, "type", "entity_type") or "").strip().strip('"').lower()
        if kind is None or etype == kind:
            out.append((str(name), etype, str(_field(item, "description") or "")))
    return out


def _relationships(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    for item in result.get("relationships") or []:
        src, tgt = _field(item, "src", "src_id"), _field(item, "tgt", "tgt_id")
        if src and tgt:
            out.append((str(src), str(tgt), str(_field(item, "keywords") or "").lower(),
                        str(_field(item, "description") or "")))
    return out


async def read_graph(ctx: RunContext, wanted: list[int] | None) -> StoryContext:
    """Scenes, characters, locations and objects of the job's project from the story graph."""
    story = StoryContext(source="graph")
    listings = await asyncio.gather(
        _query(ctx, "Scene", top_k=LIST_TOP_K, entity_types=["scene"]),
        _query(ctx, "character", top_k=LIST_TOP_K, entity_types=["character"]),
        _query(ctx, "location", top_k=LIST_TOP_K, entity_types=["location"]),
        _query(ctx, "story", top_k=5, entity_types=["story"]),
    )
    scenes, characters, locations, whole = listings
    for _, _, description in _entities(whole, "story")[:1]:  # the architect's ``Story``
        title = next((line.split(":", 1)[1].strip() for line in description.splitlines()
                      if line.lower().startswith("title:")), "")
        story.title = title or None
    for name, _, description in _entities(scenes, "scene"):
        facts = parse_scene_description(name, description)
        if facts is not None and facts.number not in story.scenes:
            story.scenes[facts.number] = facts
    _absorb(story, characters)
    _absorb(story, locations)
    if wanted is None and len(story.scenes) >= LIST_TOP_K:
        await _probe_beyond(ctx, story)
    # scenes asked for that the listing did not return (a capped listing): ask by name
    missing = [n for n in wanted or [] if n not in story.scenes]
    for number in missing:
        result = await _query(ctx, f"Scene {number}", top_k=SCENE_TOP_K,
                              entity_types=["scene"])
        for name, _, description in _entities(result, "scene"):
            facts = parse_scene_description(name, description)
            if facts is not None and facts.number == number:
                story.scenes[number] = facts
    numbers = sorted(story.scenes) if wanted is None else [n for n in wanted
                                                           if n in story.scenes]
    limit = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def one(number: int) -> None:
        facts = story.scenes[number]
        async with limit:
            result = await _query(ctx, f"Scene {number}", top_k=SCENE_TOP_K)
        _absorb_scene(story, facts, result)
        if facts.text_chunk and not facts.text:
            facts.text = _chunk_text(result, facts.text_chunk)

    await asyncio.gather(*(one(n) for n in numbers))
    await _fill_missing_people(ctx, story, numbers)
    for facts in story.scenes.values():
        # the architect's "Character ids" line pairs with "Characters" in order
        if len(facts.character_ids) == len(facts.characters):
            for name, cid in zip(facts.characters, facts.character_ids, strict=True):
                story.character_ids.setdefault(name, cid)
        if facts.location and facts.location_id:
            story.location_ids.setdefault(facts.location, facts.location_id)
    story.scenes = dict(sorted(story.scenes.items()))
    return story


async def _probe_beyond(ctx: RunContext, story: StoryContext) -> None:
    """A capped listing: ask for the scenes after the last one returned, by name, in order."""
    number = max(story.scenes) + 1
    while number <= MAX_SCENES:
        result = await _query(ctx, f"Scene {number}", top_k=5, entity_types=["scene"])
        found = [f for name, _, text in _entities(result, "scene")
                 if (f := parse_scene_description(name, text)) and f.number == number]
        if not found:
            return
        story.scenes[number] = found[0]
        number += 1


def _absorb(story: StoryContext, result: dict[str, Any]) -> None:
    tables = {"character": story.characters, "location": story.locations,
              "object": story.objects}
    for name, etype, description in _entities(result):
        table = tables.get(etype)
        if table is not None and (name not in table or not table[name]):
            table[name] = description


def _chunk_text(result: dict[str, Any], source_id: str) -> str:
    """The content of the chunk ``source_id`` among a query's chunks (the scene's text)."""
    for chunk in result.get("chunks") or []:
        if str(_field(chunk, "source_id") or "") == source_id:
            return str(_field(chunk, "content") or "")
    return ""


def _absorb_scene(story: StoryContext, facts: SceneFacts, result: dict[str, Any]) -> None:
    """Add what a scene's own query tells: entities, and relationships touching the scene."""
    _absorb(story, result)
    me = f"scene {facts.number}"
    for src, tgt, keywords, _ in _relationships(result):
        src_l, tgt_l = src.lower(), tgt.lower()
        if "appears_in" in keywords and tgt_l == me and not _has(facts.characters, src):
            facts.characters.append(src)
        elif "located_in" in keywords and src_l == me and not facts.location:
            facts.location = tgt
        elif "features" in keywords and src_l == me and not _has(facts.objects, tgt):
            facts.objects.append(tgt)


def _has(names: list[str], name: str) -> bool:
    """Upstream PathRAG upper-cases names: "MARA" is the "Mara" already listed."""
    key = name.strip().strip('"').lower()
    return any(n.strip().lower() == key for n in names)


async def _fill_missing_people(ctx: RunContext, story: StoryContext, numbers: list[int]) -> None:
    """Descriptions of characters and locations the listings missed, one query per type."""
    people: set[str] = set()
    places: set[str] = set()
    for number in numbers:
        facts = story.scenes[number]
        people.update(c for c in facts.characters if not story.character(c))
        if facts.location and not story.location(facts.location):
            places.add(facts.location)
    for names, kind in ((people, "character"), (places, "location")):
        if names:
            result = await _query(ctx, " ".join(sorted(names)), top_k=SCENE_TOP_K,
                                  entity_types=[kind])
            _absorb(story, result)


async def read_project(ctx: RunContext, project_id: str | None) -> dict[str, Any]:
    """The Payload project (``payload_read_project``: its links as words), when Payload is on.

    Installed but unconfigured (the tool says ``configured`` is false) is the normal state
    outside Novel Movie, so it is skipped quietly; a configured Payload that fails is a warning.
    """
    if project_id is None or not ctx.has_tool("payload_read_project"):
        return {}
    tool = ctx.tool("payload_read_project")
    if not getattr(tool, "configured", True):
        return {}
    try:
        return as_dict(await tool.acall(project_id=project_id))
    except Exception as exc:  # Payload is optional: the plan stands without it
        await ctx.emit("warning", f"could not read project {project_id} from Payload: {exc}",
                       tool="payload_read_project", error=type(exc).__name__)
        return {}


def project_notes(doc: dict[str, Any], target: TargetRuntime | None = None) -> dict[str, str]:
    """The project's fields that colour the plan (title, premise, genres, tone, mood,
    audience, format, visual style, target runtime), by their labels in the brief."""
    out: dict[str, str] = {}
    for key, label in PROJECT_FIELDS.items():
        if label not in out and (value := _words(doc.get(key))):
            style = doc.get(key) if key == "movieStyle" else None
            described = _words(style.get("description")) if isinstance(style, dict) else ""
            value = f"{value}: {described}" if described else value
            out[label] = _clip(value) if key in CLIPPED_FIELDS else value
    if target is not None:
        out["Target runtime"] = f"{target.minutes:g} min for the whole film"
    return out


def target_runtime(doc: dict[str, Any]) -> TargetRuntime | None:
    """The runtime the project aims at: its ``durationUnit`` (minutes), else its format's
    ``suggestedDuration``; None when neither is a positive number."""
    fmt = doc.get("movieFormat")
    name = _words(fmt) or None
    for minutes, source in ((doc.get("durationUnit"), "durationUnit"),
                            (fmt.get("suggestedDuration") if isinstance(fmt, dict) else None,
                             "movieFormat")):
        if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
            return TargetRuntime(minutes=float(minutes), source=source, format=name)
    return None


def _clip(text: str) -> str:
    return text if len(text) <= NOTE_CHARS else text[:NOTE_CHARS].rsplit(" ", 1)[0] + " ..."


def _words(value: Any) -> str:
    """A project note as words: text, or a linked record's ``name`` (``title``), or a list of
    them. A number is a linked record's id (Novel Movie links tone, mood and audience to
    records), which would read to a model as a fact about the story, so it is left out."""
    if isinstance(value, list):
        return ", ".join(w for w in map(_words, value) if w)
    if isinstance(value, dict):
        return _words(value.get("name") or value.get("title"))
    return " ".join(value.split()) if isinstance(value, str) else ""


async def read_story(ctx: RunContext, project_id: str | None, wanted: list[int] | None,
                     previous: dict[str, Any]) -> StoryContext:
    """The story context for a run, or ``InvalidInput`` when there is no story to plan.

    In a chain the architect's result just produced is the story: exactly its scenes, with
    their text (the graph may still hold an earlier analysis). Alone, the director reads the
    project's graph, which the architect replaces on every analysis.
    """
    architect = previous.get("architect")
    story = from_architect(architect) if architect else StoryContext()
    if not story.scenes:
        try:
            story = await read_graph(ctx, wanted)
        except Exception:
            if project_id is not None or not architect:
                raise
            story = StoryContext()
    if not story.scenes:
        raise InvalidInput(
            f"project {project_id!r} has no scenes in its knowledge graph: run the architect "
            "crew first (or chain it: crew_type 'architect,director')",
            {"project_id": project_id},
        )
    doc = await read_project(ctx, project_id)
    story.target_runtime = target_runtime(doc)
    story.project = project_notes(doc, story.target_runtime)
    # the chain's analysis names the story; alone, the project's name in Payload (what the
    # writer called it) wins over the title the architect wrote to the graph
    chained = story.title if story.source != "graph" else None
    story.title = chained or story.project.get("Title") or story.project.get("Project") \
        or story.title
    return story


def check_selection(story: StoryContext, wanted: list[int] | None) -> list[int]:
    """The scene numbers to plan; ``InvalidInput`` names any the story does not have."""
    available = sorted(story.scenes)
    if wanted is None:
        return available
    missing = [n for n in wanted if n not in story.scenes]
    if missing:
        raise InvalidInput(
            f"scene(s) {', '.join(map(str, missing))} are not in the story, which has scenes "
            f"{_ranges(available)}",
            {"missing": missing, "available": available},
        )
    return wanted


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = prev = None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:  # type: ignore[operator]
            prev = n
        else:
            parts.append(f"{start}-{prev}" if start != prev else str(start))
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else str(start))
    return ", ".join(parts)


__all__ = ["as_dict", "check_selection", "project_notes", "read_project", "read_story",
           "scene_number", "target_runtime"]
