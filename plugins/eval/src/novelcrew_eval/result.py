"""Reading a job's result (plain dicts) whatever shape the crews give it today.

The scorer depends on no plugin's code: it reads the architect's ``StoryAnalysis``, the
director's ``ScenePlan`` and, when it ran, the storyboard's ``Storyboard`` as JSON, and takes
the richer per-scene fields when a crew gives them (``text``, ``span``, ``int_ext``,
``day_night``, ``dialogue: [{speaker, line}]``, character ``id``) and the older ones otherwise
(``time_of_day``, ``dialogue: [str]``, a director scene's ``heading``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Line", "ResultError", "ResultView", "SceneView", "read_result"]


class ResultError(ValueError):
    """A JSON document that holds no architect or director result."""


@dataclass
class Line:
    line: str
    speaker: str | None


@dataclass
class SceneView:
    """One scene of the result, with the fields the scores need."""

    number: int
    location: str
    characters: list[str]
    items: list[str]
    int_ext: str | None
    day_night: str | None
    text: str | None
    span_start: int | None
    dialogue: list[Line] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # the scene as given (for the judge)

    @property
    def story_day(self) -> int | None:
        day = self.raw.get("story_day")
        return day if isinstance(day, int) and not isinstance(day, bool) else None


@dataclass
class ResultView:
    architect: dict[str, Any] | None
    director: dict[str, Any] | None
    characters: list[list[str]]  # each character's names: name first, then aliases
    character_ids: dict[str, int]
    locations: list[str]
    scenes: list[SceneView]
    props: list[str]
    vehicles: list[str]
    animals: list[str]
    storyboard: dict[str, Any] | None = None

    def character_names(self, ref: str) -> list[str]:
        """A scene's or speaker's reference (a name or an id) as the names it stands for."""
        index = self.character_ids.get(ref)
        return self.characters[index] if index is not None else [ref]


def split_result(data: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The architect and director results in a job record, a ``result`` dict or a bare result."""
    if not isinstance(data, dict):
        raise ResultError("a result must be a JSON object")
    data = _results(data)
    if "architect" in data or "director" in data:
        architect, director = data.get("architect"), data.get("director")
        return (architect if isinstance(architect, dict) else None,
                director if isinstance(director, dict) else None)
    scenes = data.get("scenes")
    if isinstance(scenes, list) and "characters" in data and isinstance(data["characters"], list):
        return data, None
    if isinstance(scenes, list) and any(isinstance(s, dict) and "shots" in s for s in scenes):
        return None, data
    raise ResultError(
        "no architect or director result found (expected a job record, "
        "{'architect': ..., 'director': ...}, a StoryAnalysis or a ScenePlan)"
    )


def _results(data: Any) -> Any:
    """A job record's ``result`` dict; anything else as it is."""
    if isinstance(data, dict) and isinstance(data.get("result"), dict) \
            and ("crews" in data or "status" in data):
        return data["result"]
    return data


def storyboard_of(data: Any) -> dict[str, Any] | None:
    """The storyboard crew's result in a job record or a result dict, if it ran."""
    data = _results(data)
    found = data.get("storyboard") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else None


def _names(value: Any) -> list[str]:
    """Item names from a list of strings or of objects with ``name``."""
    out: list[str] = []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if not isinstance(value, list):
        return out
    for item in value:
        if isinstance(item, str) and item.strip():
            out.append(item)
        elif isinstance(item, dict):
            name = item.get("name") or item.get("item") or item.get("description")
            if isinstance(name, str) and name.strip():
                out.append(name)
    return out


def _collect(node: Any, keys: tuple[str, ...], out: list[str]) -> None:
    """Every item named under any of ``keys``, anywhere in the result (breakdowns nest)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys:
                out.extend(_names(value))
            else:
                _collect(value, keys, out)
    elif isinstance(node, list):
        for item in node:
            _collect(item, keys, out)


_HEADING = re.compile(
    r"^\s*(INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I/E|INT|EXT)\.?\s*(.*?)(?:\s+[-\u2013\u2014]\s+(.*))?$",
    re.I,
)


def int_ext_of(value: Any) -> str | None:
    """INT, EXT or INT/EXT from a field or a scene heading ('EXT. PIER - NIGHT')."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().upper()
    if text.startswith(("INTERIOR", "INSIDE")):
        return "INT"
    if text.startswith(("EXTERIOR", "OUTSIDE")):
        return "EXT"
    match = _HEADING.match(text)
    if not match:
        return None
    kind = match.group(1).replace(".", "").replace(" ", "")
    return "INT/EXT" if "/" in kind else kind


_DAY_WORDS = {
    "DAY": "DAY", "MORNING": "DAY", "AFTERNOON": "DAY", "NOON": "DAY", "MIDDAY": "DAY",
    "DAYTIME": "DAY", "LATER": None, "CONTINUOUS": None,
    "NIGHT": "NIGHT", "MIDNIGHT": "NIGHT", "LATE NIGHT": "NIGHT", "NIGHTTIME": "NIGHT",
    "DAWN": "DAWN", "SUNRISE": "DAWN", "DAYBREAK": "DAWN", "FIRST LIGHT": "DAWN",
    "DUSK": "DUSK", "EVENING": "DUSK", "SUNSET": "DUSK", "TWILIGHT": "DUSK", "SUNDOWN": "DUSK",
}


def day_night_of(value: Any) -> str | None:
    """DAY, NIGHT, DAWN or DUSK from a field ('early morning', 'NIGHT') or a heading's end."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(re.sub(r"[^A-Za-z ]+", " ", value).upper().split())
    if text in _DAY_WORDS:
        return _DAY_WORDS[text]
    for word in sorted(_DAY_WORDS, key=len, reverse=True):  # 'LATE NIGHT' before 'NIGHT'
        if re.search(rf"\b{word}\b", text) and _DAY_WORDS[word]:
            return _DAY_WORDS[word]
    return None


def _heading_time(heading: Any) -> str | None:
    if not isinstance(heading, str):
        return None
    match = _HEADING.match(heading.strip())
    return match.group(3) if match else None


def _dialogue(value: Any) -> list[Line]:
    lines: list[Line] = []
    if not isinstance(value, list):
        return lines
    for entry in value:
        if isinstance(entry, str) and entry.strip():
            lines.append(Line(entry, None))
        elif isinstance(entry, dict):
            text = entry.get("line") or entry.get("text")
            speaker = entry.get("speaker") or entry.get("character")
            if isinstance(text, str) and text.strip():
                lines.append(Line(text, speaker if isinstance(speaker, str) else None))
    return lines


def read_result(data: Any) -> ResultView:
    """A uniform view of a result for the scores; ``ResultError`` if it holds neither crew's."""
    architect, director = split_result(data)
    characters: list[list[str]] = []
    ids: dict[str, int] = {}
    locations: list[str] = []
    scenes: list[SceneView] = []
    source = architect or {}
    for entry in source.get("characters") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        aliases = [a for a in entry.get("aliases") or [] if isinstance(a, str)]
        if isinstance(entry.get("id"), str | int):
            ids[str(entry["id"])] = len(characters)
        characters.append([entry["name"], *aliases])
    locations = _names(source.get("locations"))
    director_scenes = [s for s in (director or {}).get("scenes") or [] if isinstance(s, dict)]
    by_number = {s.get("number"): s for s in director_scenes}
    base_scenes = [s for s in source.get("scenes") or [] if isinstance(s, dict)]
    if not base_scenes:
        base_scenes = director_scenes
    for index, scene in enumerate(base_scenes, 1):
        raw_number = scene.get("number")
        number = raw_number if isinstance(raw_number, int) else index
        planned = by_number.get(number, {}) if scene is not by_number.get(number) else {}
        span = scene.get("span")
        start = span.get("start") if isinstance(span, dict) else None
        heading = planned.get("heading") or scene.get("heading")
        items: list[str] = []
        _collect([scene, planned], ("objects", "props", "vehicles", "animals"), items)
        scenes.append(SceneView(
            number=number,
            location=str(scene.get("location") or planned.get("location") or ""),
            characters=[c for c in scene.get("characters") or [] if isinstance(c, str)],
            items=items,
            int_ext=int_ext_of(scene.get("int_ext")) or int_ext_of(heading),
            day_night=(day_night_of(scene.get("day_night"))
                       or day_night_of(scene.get("time_of_day"))
                       or day_night_of(planned.get("time"))
                       or day_night_of(_heading_time(heading))),
            text=scene.get("text") if isinstance(scene.get("text"), str) else None,
            span_start=start if isinstance(start, int) and not isinstance(start, bool) else None,
            dialogue=_dialogue(scene.get("dialogue")),
            raw={k: v for k, v in scene.items() if k not in ("text", "span")},
        ))
    props: list[str] = []
    vehicles: list[str] = []
    animals: list[str] = []
    for part in (architect, director):
        if part is None:
            continue
        _collect(part, ("objects", "props", "key_objects"), props)
        _collect(part, ("vehicles",), vehicles)
        _collect(part, ("animals",), animals)
    return ResultView(architect=architect, director=director, characters=characters,
                      character_ids=ids, locations=locations, scenes=scenes, props=props,
                      vehicles=vehicles, animals=animals, storyboard=storyboard_of(data))
