"""The analysis and the plan as plain data, whatever shape the stage that made them used.

The architect and director results are read as dicts (this plugin never imports them) and
normalised into ``Story``: characters and locations with stable ids, scenes with their source
text, and the director's shots. Both the new shapes (``id``, ``size``, ``lens_mm``,
``subjects``, ``day_night``...) and the older ones (``shot_type``, ``lens``, ``time_of_day``,
names instead of ids) are accepted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

SIZES = ("EWS", "WS", "MWS", "MS", "MCU", "CU", "ECU", "INSERT")
_SIZE_WORDS = (
    ("extreme wide", "EWS"), ("establishing", "EWS"), ("aerial", "EWS"),
    ("extreme close", "ECU"), ("medium close", "MCU"), ("medium wide", "MWS"),
    ("medium full", "MWS"), ("full", "MWS"), ("close", "CU"), ("insert", "INSERT"),
    ("wide", "WS"), ("long", "WS"), ("medium", "MS"), ("two-shot", "MS"),
    ("over-the-shoulder", "MS"), ("pov", "MS"),
)
SUPPORTS = ("sticks", "dolly", "slider", "crane", "steadicam", "handheld", "drone")
_SUPPORT_WORDS = (
    ("drone", "drone"), ("aerial", "drone"), ("crane", "crane"), ("jib", "crane"),
    ("steadicam", "steadicam"), ("gimbal", "steadicam"), ("handheld", "handheld"),
    ("hand-held", "handheld"), ("slider", "slider"), ("dolly", "dolly"), ("track", "dolly"),
)
DAY_NIGHT = ("DAY", "NIGHT", "DAWN", "DUSK")
_LENS_RE = re.compile(r"(\d+(?:\.\d+)?)\s*mm", re.I)
_NUM_RE = re.compile(r"(\d+(?:\.\d+)?)")


def slug(text: str) -> str:
    """``"Keeper's Kitchen"`` -> ``"keepers-kitchen"`` (the architect's id convention)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = ascii_text.replace("'", "").replace("\u2019", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "unnamed"


def first(item: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = item.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(text(v) for v in value if v not in (None, ""))
    if isinstance(value, dict):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items())
    return str(value).strip()


def names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [n.strip() for n in re.split(r",|;|\band\b|&", value) if n.strip()]
    out = []
    for item in value or []:
        name = first(item, "id", "name") if isinstance(item, dict) else item
        if name not in (None, ""):
            out.append(str(name))
    return out


@dataclass
class CharacterFacts:
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    role: str = ""
    description: str = ""
    arc: str = ""


@dataclass
class LocationFacts:
    id: str
    name: str
    description: str = ""
    atmosphere: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass
class ShotFacts:
    number: int
    size: str = ""
    angle: str = ""
    movement: str = ""
    support: str = ""
    lens_mm: float | None = None
    subjects: list[str] = field(default_factory=list)
    coverage: str = ""
    duration: float = 3.0
    audio: str = ""
    notes: str = ""
    lighting: str = ""


@dataclass
class SceneFacts:
    number: int
    id: str
    summary: str = ""
    text: str = ""
    int_ext: str = ""
    day_night: str = ""
    story_day: str | None = None
    location: str | None = None  # a location id once resolved
    characters: list[str] = field(default_factory=list)  # character ids
    dialogue: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    heading: str = ""
    mood: str = ""
    lighting: str = ""
    palette: list[str] = field(default_factory=list)
    wardrobe: dict[str, str] = field(default_factory=dict)  # character id -> outfit
    #: the director's reading of the full text: who moves where, in order, and the beats
    blocking: list[str] = field(default_factory=list)
    beats: list[str] = field(default_factory=list)
    shots: list[ShotFacts] = field(default_factory=list)


@dataclass
class Story:
    title: str | None = None
    language: str = "English"
    genre: str = ""
    tone: str = ""
    logline: str = ""
    characters: dict[str, CharacterFacts] = field(default_factory=dict)
    locations: dict[str, LocationFacts] = field(default_factory=dict)
    scenes: dict[int, SceneFacts] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    #: the analysis or the director's plan was made by the offline stand-in (its result's
    #: ``model.offline``, or the graph's ``Made by:`` line): a board of it is no real one
    analysis_offline: bool = False
    plan_offline: bool = False

    # resolving names to ids ----------------------------------------------------------------
    def character_id(self, ref: str) -> str | None:
        """The id of the character ``ref`` names (id, name, alias or unique first name)."""
        key = ref.strip().lower()
        if not key:
            return None
        for c in self.characters.values():
            if key in (c.id, c.name.lower(), *(a.lower() for a in c.aliases)):
                return c.id
        if slug(ref) in self.characters:
            return slug(ref)
        by_word = [c.id for c in self.characters.values()
                   if key in c.name.lower().split() or key.split()[0] == c.name.lower().split()[0]]
        return by_word[0] if len(by_word) == 1 else None

    def ensure_character(self, ref: str) -> str:
        found = self.character_id(ref)
        if found:
            return found
        cid = slug(ref)
        self.characters[cid] = CharacterFacts(id=cid, name=ref.strip())
        return cid

    def location_id(self, ref: str | None) -> str | None:
        if not ref:
            return None
        key = ref.strip().lower()
        for loc in self.locations.values():
            if key in (loc.id, loc.name.lower(), *(a.lower() for a in loc.aliases)):
                return loc.id
        lid = slug(ref)
        if lid not in self.locations:
            self.locations[lid] = LocationFacts(id=lid, name=ref.strip())
        return lid

    def mentions(self, cid: str, haystack: str) -> bool:
        c = self.characters[cid]
        low = haystack.lower()
        words = [c.name, *c.aliases, c.name.split()[0]] if c.name else c.aliases
        # "sous-chef" does not name the Chef
        return any(re.search(rf"(?<![\w-]){re.escape(w.lower())}(?![\w-])", low)
                   for w in words if w)


def made_offline(result: dict[str, Any]) -> bool:
    """Whether a crew's result says the offline stand-in made it (``model.offline``)."""
    model = result.get("model")
    return result.get("offline") is True \
        or (isinstance(model, dict) and model.get("offline") is True)


# the architect's analysis -----------------------------------------------------------------
def _day_night(value: Any) -> str:
    word = text(value).upper()
    for candidate in DAY_NIGHT:
        if candidate in word:
            return candidate
    if any(w in word for w in ("MORNING", "NOON", "AFTERNOON")):
        return "DAY"
    if any(w in word for w in ("EVENING", "SUNSET")):
        return "DUSK"
    if "SUNRISE" in word:
        return "DAWN"
    return ""


def _int_ext(value: Any, heading: str = "") -> str:
    word = (text(value) or heading).upper().replace(".", "")
    if word.startswith(("INT/EXT", "I/E", "EXT/INT")):
        return "INT/EXT"
    if word.startswith("INT"):
        return "INT"
    if word.startswith("EXT"):
        return "EXT"
    return ""


def _dialogue(value: Any) -> list[str]:
    out = []
    for line in value if isinstance(value, list) else [value] if value else []:
        if isinstance(line, dict):
            who, said = text(line.get("speaker")), text(first(line, "line", "text"))
            out.append(f"{who}: {said}" if who else said)
        elif line:
            out.append(str(line))
    return out


def add_analysis(story: Story, analysis: Any) -> None:
    """Characters, locations and scenes from the architect's result (any known shape)."""
    if not isinstance(analysis, dict):
        return
    story.analysis_offline = story.analysis_offline or made_offline(analysis)
    story.title = story.title or first(analysis, "title", "name")
    story.language = str(first(analysis, "language") or story.language)
    story.genre = story.genre or text(analysis.get("genre"))
    story.tone = story.tone or text(analysis.get("tone"))
    story.logline = story.logline or text(analysis.get("logline"))
    for item in analysis.get("characters") or []:
        if isinstance(item, dict) and item.get("name"):
            cid = str(item.get("id") or slug(str(item["name"])))
            story.characters.setdefault(cid, CharacterFacts(
                id=cid, name=str(item["name"]), aliases=names(item.get("aliases")),
                role=text(item.get("role")), description=text(item.get("description")),
                arc=text(item.get("arc"))))
    for item in analysis.get("locations") or []:
        if isinstance(item, dict) and item.get("name"):
            lid = str(item.get("id") or slug(str(item["name"])))
            story.locations.setdefault(lid, LocationFacts(
                id=lid, name=str(item["name"]), description=text(item.get("description")),
                atmosphere=text(item.get("atmosphere")), aliases=names(item.get("aliases"))))
    for index, item in enumerate(analysis.get("scenes") or [], start=1):
        if not isinstance(item, dict):
            continue
        number = _number(first(item, "number", "scene_number"), index)
        scene = story.scenes.setdefault(number, SceneFacts(
            number=number, id=str(item.get("id") or f"s{number:03d}")))
        if item.get("id"):
            scene.id = str(item["id"])
        scene.summary = scene.summary or text(first(item, "summary", "description"))
        scene.text = scene.text or text(first(item, "text", "source_text"))
        scene.int_ext = scene.int_ext or _int_ext(item.get("int_ext"))
        scene.day_night = scene.day_night or _day_night(
            first(item, "day_night", "time_of_day", "time"))
        day = first(item, "story_day")
        scene.story_day = scene.story_day or (str(day) if day is not None else None)
        location = first(item, "location_id", "location", "setting")
        if isinstance(location, dict):
            location = first(location, "id", "name")
        scene.location = scene.location or story.location_id(text(location) or None)
        if not scene.characters:
            scene.characters = [story.ensure_character(n) for n in
                                names(first(item, "character_ids", "characters", "cast"))]
        scene.dialogue = scene.dialogue or _dialogue(first(item, "dialogue", "notable_dialogue"))
        scene.objects = scene.objects or names(first(item, "objects", "props"))


def _number(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        match = _NUM_RE.search(str(value))
        return int(float(match.group(1))) if match else default


# the director's plan ----------------------------------------------------------------------
def size_of(value: Any) -> str:
    word = text(value)
    if word.upper() in SIZES:
        return word.upper()
    low = word.lower()
    for needle, size in _SIZE_WORDS:
        if needle in low:
            return size
    return "MS" if word else ""


def support_of(support: Any, movement: str) -> str:
    word = text(support).lower()
    if word in SUPPORTS:
        return word
    low = f"{word} {movement}".lower()
    for needle, name in _SUPPORT_WORDS:
        if needle in low:
            return name
    return "sticks"


def lens_of(shot: dict[str, Any]) -> float | None:
    value = first(shot, "lens_mm", "focal_length", "lens")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _LENS_RE.search(text(value)) or _NUM_RE.search(text(value))
    return float(match.group(1)) if match else None


def _coverage(value: Any, size: str, subjects: list[str], shot_type: str) -> str:
    word = text(value)
    if word:
        return word
    low = shot_type.lower()
    if size == "INSERT":
        return "insert"
    if "over-the-shoulder" in low or "ots" in low.split():
        return "OTS"
    if "two" in low or (len(subjects) == 2 and size in ("MS", "MWS")):
        return "two-shot"
    if size in ("EWS", "WS"):
        return "master"
    return "single" if len(subjects) == 1 else "master" if subjects else "cutaway"


def _wardrobe(story: Story, value: Any) -> dict[str, str]:
    """Outfit per character id from ``{id: outfit}``, ``[{item, character}]`` or ``["Who: x"]``;
    several items of one character are joined in order."""
    items: list[tuple[str, str]] = []
    if isinstance(value, dict):
        items = [(str(k), text(v)) for k, v in value.items()]
    else:
        for line in value or []:
            if isinstance(line, dict):
                items.append((text(first(line, "character", "character_id", "id", "name")),
                              text(first(line, "item", "wardrobe", "outfit", "description"))))
            elif isinstance(line, str) and ":" in line:
                who, what = line.split(":", 1)
                items.append((who, what.strip()))
    out: dict[str, list[str]] = {}
    for who, what in items:
        cid = story.character_id(who)
        if cid and what and what not in out.setdefault(cid, []):
            out[cid].append(what)
    return {cid: ", ".join(parts) for cid, parts in out.items() if parts}


def add_plan(story: Story, plan: Any) -> None:
    """Headings, look and shots from the director's result (any known shape)."""
    if not isinstance(plan, dict):
        return
    story.title = story.title or first(plan, "title")
    story.plan_offline = story.plan_offline or made_offline(plan)
    for index, item in enumerate(plan.get("scenes") or [], start=1):
        if not isinstance(item, dict):
            continue
        number = _number(first(item, "number", "scene_number"), index)
        scene = story.scenes.setdefault(number, SceneFacts(
            number=number, id=str(item.get("id") or f"s{number:03d}")))
        if item.get("id") and scene.id == f"s{number:03d}":
            scene.id = str(item["id"])
        scene.heading = text(item.get("heading")) or scene.heading
        scene.summary = scene.summary or text(item.get("summary"))
        scene.mood = text(item.get("mood")) or scene.mood
        scene.lighting = text(item.get("lighting")) or scene.lighting
        scene.palette = names(item.get("palette")) or scene.palette
        scene.blocking = _lines(item.get("blocking")) or scene.blocking
        scene.beats = _lines(item.get("emotional_beats")) or scene.beats
        scene.int_ext = scene.int_ext or _int_ext(item.get("int_ext"), scene.heading)
        scene.day_night = scene.day_night or _day_night(
            first(item, "day_night", "time") or scene.heading.rsplit("-", 1)[-1])
        location = first(item, "location_id", "location")
        if isinstance(location, dict):
            location = first(location, "id", "name")
        scene.location = scene.location or story.location_id(text(location) or None)
        day = first(item, "story_day")
        scene.story_day = scene.story_day or (str(day) if day is not None else None)
        if not scene.characters:
            scene.characters = [story.ensure_character(n) for n in
                                names(first(item, "character_ids", "characters"))]
        raw = item.get("breakdown")
        breakdown: dict[str, Any] = raw if isinstance(raw, dict) else {}
        scene.wardrobe = _wardrobe(story, first(breakdown, "wardrobe")
                                   or item.get("wardrobe")) or scene.wardrobe
        shots = [s for s in item.get("shots") or [] if isinstance(s, dict)]
        if shots:
            scene.shots = [shot_facts(story, scene, shot, i) for i, shot in
                           enumerate(shots, start=1)]


def _lines(value: Any) -> list[str]:
    """A plan's list of sentences (blocking, beats), or a single one."""
    items = value if isinstance(value, list) else [value]
    return [line for line in (text(item) for item in items) if line]


def shot_facts(story: Story, scene: SceneFacts, shot: dict[str, Any], index: int) -> ShotFacts:
    shot_type = text(first(shot, "size", "shot_type", "type"))
    size = size_of(shot_type)
    movement = text(shot.get("movement"))
    notes = text(shot.get("notes"))
    audio = text(shot.get("audio"))
    if "subjects" in shot and isinstance(shot["subjects"], list):
        subjects = [cid for ref in names(shot["subjects"])
                    if (cid := story.character_id(ref)) is not None]
    else:
        # today's shots do not say who is in frame: the characters their notes or audio name,
        # else the whole scene for wide coverage, else the scene's lead for a close one
        said = f"{notes} {audio}"
        subjects = [cid for cid in scene.characters if story.mentions(cid, said)]
        if not subjects and size != "INSERT":
            subjects = list(scene.characters) if size in ("EWS", "WS", "MWS") \
                or "two" in shot_type.lower() else scene.characters[:1]
    duration = first(shot, "estimated_duration_seconds", "duration_seconds", "duration")
    seconds = _number_f(duration) or 3.0
    return ShotFacts(
        number=_number(first(shot, "number"), index), size=size,
        angle=text(shot.get("angle")), movement=movement,
        support=support_of(shot.get("support"), movement), lens_mm=lens_of(shot),
        subjects=list(dict.fromkeys(subjects)),
        coverage=_coverage(shot.get("coverage"), size, subjects, shot_type),
        duration=seconds, audio=audio, notes=notes, lighting=text(shot.get("lighting")))


def _number_f(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if value > 0 else None
    match = _NUM_RE.search(text(value))
    return float(match.group(1)) if match and float(match.group(1)) > 0 else None
