"""The story as the director sees it: scenes, characters and locations.

In a chain the architect's result is the story (``from_architect``): exactly its scenes, with
their text, INT/EXT, DAY/NIGHT, story day, dialogue with speakers and ids. Alone, the director
reads the graph the architect wrote: each scene an entity ``Scene <n>`` whose description is
``Key: value`` lines (see docs/architecture.md), its text a chunk. Parsing is lenient: keys in
any case, markdown bullets or bold, and descriptions that an upstream PathRAG merged with
``<SEP>``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

_NUMBER_RE = re.compile(r"^\W*scene\s*#?\s*(\d+)\W*$", re.I)
_HEAD_RE = re.compile(r"^\s*scene\s*#?\s*(\d+)\s*[:.\-\u2013]\s*(.*)$", re.I)
_KEY_RE = re.compile(r"^\s*[-*•]?\s*\**\s*([A-Za-z][A-Za-z _/\-]{0,40}?)\s*\**\s*:\s*\**\s*(.*)$")
_SPLIT_NAMES_RE = re.compile(r"\s*(?:,|;|\band\b|&)\s*")

KEY_ALIASES = {
    "location": "location",
    "setting": "location",
    "place": "location",
    "time": "time",
    "time of day": "time",
    "characters": "characters",
    "cast": "characters",
    "emotional beat": "emotional_beat",
    "emotion": "emotional_beat",
    "beat": "emotional_beat",
    "purpose": "purpose",
    "dialogue": "dialogue",
    "notable dialogue": "dialogue",
    "summary": "summary",
    "heading": "heading",
    "mood": "mood",
    "objects": "objects",
    "props": "objects",
    "id": "id",
    "int/ext": "int_ext",
    "int ext": "int_ext",
    "day/night": "day_night",
    "day night": "day_night",
    "story day": "story_day",
    "text": "text",
    "text chunk": "text_chunk",
    "location id": "location_id",
    "character ids": "character_ids",
    "span": "span",
}
_SPOKEN_RE = re.compile(r'^\s*([^:"\u201c]{1,60}?):\s*["\u201c](.*)["\u201d]\s*$', re.S)


class Line(BaseModel):
    """One line of dialogue and who says it."""

    speaker: str = ""
    line: str


class SceneFacts(BaseModel):
    """One scene's facts as the architect stored them (result or graph)."""

    number: int
    id: str | None = None
    summary: str = ""
    text: str = Field("", description="The scene's exact source text, when the architect "
                      "stored it.")
    location: str | None = None
    location_id: str | None = None
    time: str | None = None
    int_ext: str | None = None
    day_night: str | None = None
    story_day: int | None = None
    lines: list[Line] = Field(default_factory=list, description="Dialogue with speakers.")
    #: the graph chunk holding the scene's text (``Text chunk:``), read by ``reading.py``
    text_chunk: str | None = None
    character_ids: list[str] = Field(default_factory=list)
    characters: list[str] = Field(default_factory=list)
    emotional_beat: str = ""
    purpose: str = ""
    dialogue: list[str] = Field(default_factory=list)
    objects: list[str] = Field(default_factory=list)
    extra: dict[str, str] = Field(default_factory=dict)


class TargetRuntime(BaseModel):
    """The runtime a project aims at (Payload), which the plan's screen time is checked
    against."""

    minutes: float = Field(gt=0)
    source: Literal["durationUnit", "movieFormat"] = Field(
        description="The project's own durationUnit, or its format's suggestedDuration.")
    format: str | None = Field(None, description="The project's format, e.g. 'Short Film'.")


class StoryContext(BaseModel):
    """Everything the director read about a story, before choosing scenes."""

    title: str | None = None
    scenes: dict[int, SceneFacts] = Field(default_factory=dict)
    characters: dict[str, str] = Field(default_factory=dict)
    locations: dict[str, str] = Field(default_factory=dict)
    objects: dict[str, str] = Field(default_factory=dict)
    #: name (and alias) -> the architect's character / location id
    character_ids: dict[str, str] = Field(default_factory=dict)
    location_ids: dict[str, str] = Field(default_factory=dict)
    project: dict[str, str] = Field(default_factory=dict)
    target_runtime: TargetRuntime | None = None
    language: str | None = None
    source: str = "graph"

    def character_id(self, name: str) -> str:
        """The character's id; a slug of the name when the architect gave none."""
        found = _lookup(self.character_ids, name)
        return found or slug(name)

    def location_id(self, name: str) -> str:
        """The location's id; a slug of the name when the architect gave none."""
        found = _lookup(self.location_ids, name)
        return found or slug(name)

    def character_name(self, cast_id: str) -> str:
        for name, value in self.character_ids.items():
            if value == cast_id and name in self.characters:
                return name
        return next((n for n, v in self.character_ids.items() if v == cast_id), cast_id)

    def character(self, name: str) -> str:
        return _lookup(self.characters, name)

    def location(self, name: str | None) -> str:
        return _lookup(self.locations, name) if name else ""


def _lookup(table: dict[str, str], name: str) -> str:
    if name in table:
        return table[name]
    lowered = name.strip().lower()
    for key, value in table.items():
        if key.lower() == lowered:
            return value
    return ""


def slug(name: str) -> str:
    """``"Mara Vell"`` -> ``"mara-vell"``: a stable id where the architect gave none."""
    return re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-") or "unknown"


def scene_number(name: str) -> int | None:
    """``"Scene 12"`` -> 12; None for anything else (``"Scene 12 Shot 3"`` is a shot)."""
    match = _NUMBER_RE.match((name or "").strip())
    return int(match.group(1)) if match else None


def split_names(value: str) -> list[str]:
    names = [n.strip(" .\"'") for n in _SPLIT_NAMES_RE.split(value or "")]
    return [n for n in names if n and n.lower() not in ("none", "n/a", "-")]


def _dialogue(value: str) -> list[str]:
    lines = [part.strip() for part in value.split("|")]
    return [line for line in lines if line]


def parse_scene_description(name: str, description: str) -> SceneFacts | None:
    """Facts from a ``Scene <n>`` entity; None when the name is not a scene's."""
    number = scene_number(name)
    if number is None:
        return None
    facts = SceneFacts(number=number)
    loose: list[str] = []
    for part in re.split(r"<SEP>", description or ""):
        for line in part.splitlines():
            if not line.strip():
                continue
            head = _HEAD_RE.match(line)
            if head and int(head.group(1)) == number:
                if head.group(2).strip() and not facts.summary:
                    facts.summary = head.group(2).strip()
                continue
            keyed = _KEY_RE.match(line)
            key = KEY_ALIASES.get(keyed.group(1).strip().lower()) if keyed else None
            if keyed and key:
                _set(facts, key, keyed.group(2).strip().strip("*").strip())
            elif keyed:
                facts.extra.setdefault(keyed.group(1).strip(), keyed.group(2).strip())
            else:
                loose.append(line.strip())
    if not facts.summary and loose:
        facts.summary = loose[0]
    return facts


def _set(facts: SceneFacts, key: str, value: str) -> None:
    if not value:
        return
    if key == "characters":
        for name in split_names(value):
            if name not in facts.characters:
                facts.characters.append(name)
    elif key == "objects":
        for name in split_names(value):
            if name not in facts.objects:
                facts.objects.append(name)
    elif key == "dialogue":
        for said in _dialogue(value):
            if said in facts.dialogue:
                continue
            facts.dialogue.append(said)
            spoken = _SPOKEN_RE.match(said)  # 'nora: "Get the rope."' (speaker and line)
            if spoken:
                facts.lines.append(Line(speaker=spoken.group(1).strip(),
                                        line=spoken.group(2).strip()))
    elif key == "character_ids":
        facts.character_ids = facts.character_ids or split_names(value)
    elif key == "span":
        return  # offsets into the story: nothing for a prompt
    elif key == "summary":
        facts.summary = facts.summary or value
    elif key in ("location", "time", "emotional_beat", "purpose", "id", "int_ext",
                 "day_night", "text", "text_chunk", "location_id"):
        if not getattr(facts, key):
            setattr(facts, key, value)
    elif key == "story_day":
        facts.story_day = facts.story_day or _int(value)
    else:
        facts.extra.setdefault(key, value)


# the architect stage's output, as plain data ------------------------------------------------
def _first(item: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = item.get(key)
        if value not in (None, "", []):
            return value
    return None


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return split_names(value)
    out: list[str] = []
    for item in value or []:
        name = item.get("name") if isinstance(item, dict) else item
        if name:
            out.append(str(name))
    return out


def _entry(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    """A character's or location's full entry as prompt lines (everything the architect said)."""
    parts: list[str] = []
    for key in keys:
        value = item.get(key)
        if value in (None, "", [], {}):
            continue
        if key == "relationships" and isinstance(value, list):
            rels = [f"{r.get('kind', '')} of {r.get('to', '')}".strip()
                    + (f" ({r['description']})" if r.get("description") else "")
                    for r in value if isinstance(r, dict)]
            value = "; ".join(rels)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        label = key.replace("_", " ").capitalize()
        parts.append(f"{label}: {str(value).strip().rstrip('.')}")
    return ". ".join(parts)


_CHARACTER_KEYS = ("role", "aliases", "description", "arc", "relationships")
_LOCATION_KEYS = ("description", "atmosphere", "int_ext", "aliases")


def _lines(value: Any) -> tuple[list[Line], list[str]]:
    """Dialogue as ``[{speaker, line}]`` (the new shape) or strings (the earlier one)."""
    lines: list[Line] = []
    texts: list[str] = []
    if isinstance(value, str):
        value = [value]
    for entry in value or []:
        if isinstance(entry, dict):
            text = str(entry.get("line") or entry.get("text") or "").strip()
            if text:
                lines.append(Line(speaker=str(entry.get("speaker") or ""), line=text))
                who = entry.get("speaker")
                texts.append(f"{who}: {text}" if who else text)
        elif entry not in (None, ""):
            texts.append(str(entry))
    return lines, texts


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def from_architect(output: Any) -> StoryContext:
    """A ``StoryContext`` from the architect's output (``ctx.previous["architect"]``).

    Reads the grounded scene fields (``id``, ``text``, ``int_ext``, ``day_night``,
    ``story_day``, ``dialogue`` with speakers, character and location ids) when present and
    falls back to the earlier shape (``time_of_day``, dialogue as strings) when not.
    """
    story = StoryContext(source="architect")
    if not isinstance(output, dict):
        return story
    story.title = _first(output, "title", "name")
    language = _first(output, "language")
    story.language = str(language) if language else None
    for item in output.get("characters") or []:
        if isinstance(item, dict) and item.get("name"):
            name = str(item["name"])
            story.characters[name] = _entry(item, _CHARACTER_KEYS)
            cid = str(item.get("id") or slug(name))
            story.character_ids[name] = cid
            for alias in item.get("aliases") or []:
                if isinstance(alias, str) and alias.strip():
                    story.character_ids.setdefault(alias.strip(), cid)
    for item in output.get("locations") or []:
        if isinstance(item, dict) and item.get("name"):
            name = str(item["name"])
            story.locations[name] = _entry(item, _LOCATION_KEYS)
            story.location_ids[name] = str(item.get("id") or slug(name))
    for key in ("key_objects", "objects"):
        for item in output.get(key) or []:
            if isinstance(item, dict) and item.get("name"):
                story.objects[str(item["name"])] = str(_first(item, "description",
                                                              "significance") or "")
    for index, item in enumerate(output.get("scenes") or [], start=1):
        if not isinstance(item, dict):
            continue
        raw_number = _first(item, "number", "scene_number", "index")
        try:
            number = int(raw_number) if raw_number is not None else index
        except (TypeError, ValueError):
            number = scene_number(str(raw_number)) or index
        location = _first(item, "location", "setting")
        location_id = item.get("location_id")
        if isinstance(location, dict):
            location_id = location_id or location.get("id")
            location = location.get("name")
        lines, texts = _lines(_first(item, "dialogue", "notable_dialogue", "key_dialogue"))
        day_night = _first(item, "day_night")
        time = _first(item, "time", "time_of_day") or day_night
        story.scenes[number] = SceneFacts(
            number=number,
            id=str(item["id"]) if item.get("id") else None,
            summary=str(_first(item, "summary", "description", "title") or ""),
            text=str(item.get("text") or ""),
            location=str(location) if location else None,
            location_id=str(location_id) if location_id else None,
            time=str(time) if time else None,
            int_ext=str(item["int_ext"]) if item.get("int_ext") else None,
            day_night=str(day_night) if day_night else None,
            story_day=_int(item.get("story_day")),
            characters=_names(_first(item, "characters", "cast")),
            emotional_beat=str(_first(item, "emotional_beat", "emotion") or ""),
            purpose=str(_first(item, "purpose") or ""),
            dialogue=texts,
            lines=lines,
            objects=[str(o) for o in (item.get("objects") or []) if o],
        )
    # scenes may name characters and locations by id: show them by name
    by_id = {v: k for k, v in story.character_ids.items() if k in story.characters}
    places = {v: k for k, v in story.location_ids.items()}
    for facts in story.scenes.values():
        facts.characters = list(dict.fromkeys(by_id.get(c, c) for c in facts.characters))
        if facts.location in places and facts.location not in story.locations:
            facts.location_id, facts.location = facts.location, places[facts.location]
        if facts.location and not facts.location_id:
            facts.location_id = story.location_ids.get(facts.location)
    return story
