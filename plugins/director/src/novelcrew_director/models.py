"""The director's data: what the agents answer per scene, and the scene plan it returns.

Agent answers (``SceneBreakdown``, ``ShotList``) are lenient about shape (a string where a list
is expected, ``"4s"`` for a duration) because models drift, but strict about what a plan cannot
do without (a heading, at least one shot with a type). The returned ``ScenePlan`` checks that
its totals agree with its shots, so no caller ever sees a plan whose sums are wrong.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from novelcrew.warnings import check_messages, kinds_of
from novelcrew_director.schedule import Schedule
from novelcrew_director.vocabulary import (
    Angle,
    Coverage,
    DayNight,
    IntExt,
    Movement,
    ShotSize,
    Support,
    parse_angle,
    parse_coverage,
    parse_lens,
    parse_movement,
    parse_size,
    parse_support,
)

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|s|sec|secs|seconds?)?\b", re.I)
_CLOCK_RE = re.compile(r"^\s*(\d+):(\d{1,2})\s*$")


def as_list(value: Any) -> Any:
    """A string or a scalar where a list of strings is expected becomes a list."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = [p.strip(" -•*\t") for p in re.split(r"\n|;", value)]
        return [p for p in parts if p]
    if isinstance(value, dict):
        return [f"{k}: {v}" for k, v in value.items()]
    if isinstance(value, list):
        return [_as_text(v) for v in value if v not in (None, "")]
    return [str(value)]


def _as_text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_as_text(v) for v in value)
    return str(value)


def as_text(value: Any) -> Any:
    """A list or an object where a sentence is expected becomes one string."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return _as_text(value)
    return value


def parse_duration(value: Any) -> Any:
    """Seconds from ``4``, ``"4s"``, ``"4 seconds"``, ``"1 min"`` or ``"0:04"``."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        clock = _CLOCK_RE.match(value)
        if clock:
            return float(int(clock.group(1)) * 60 + int(clock.group(2)))
        match = _DURATION_RE.search(value)
        if match:
            amount = float(match.group(1))
            unit = (match.group(2) or "s").lower()
            return amount * 60 if unit.startswith("m") else amount
    return value


_LIST_FIELDS = ("characters", "blocking", "emotional_beats", "palette", "continuity")
_TEXT_FIELDS = ("heading", "summary", "pacing", "transition", "mood", "lighting")
#: the breakdown sheet's categories, in the order a first AD's sheet lists them
CATEGORIES = ("background", "props", "set_dressing", "wardrobe", "makeup_hair", "vehicles",
              "animals", "special_effects", "visual_effects", "stunts", "sound_music",
              "special_equipment")
#: categories whose items belong to one character
PER_CHARACTER = ("wardrobe", "makeup_hair")


def as_items(value: Any) -> Any:
    """``["rope", {"item": "lantern", "character": "mara"}, "Mara: oilskins"]`` -> item dicts."""
    out: list[dict[str, Any]] = []
    for entry in as_list(value) if not isinstance(value, list) else value:
        if entry in (None, ""):
            continue
        if isinstance(entry, dict):
            name = entry.get("item") or entry.get("name") or entry.get("description")
            if name:
                out.append({"item": str(name), "character": entry.get("character")
                            or entry.get("who")})
            continue
        text = str(entry).strip(" -•*\t")
        if text:
            out.append({"item": text})
    return out


class AnswerItem(BaseModel):
    """One line of a breakdown category as the model writes it."""

    model_config = ConfigDict(extra="ignore")

    item: str = Field(min_length=1)
    character: str | None = None


class SceneBreakdown(BaseModel):
    """The Scene Analysis Director's answer for one scene."""

    model_config = ConfigDict(extra="ignore")

    heading: str = ""
    summary: str = Field(min_length=1)
    characters: list[str] = Field(default_factory=list)
    blocking: list[str] = Field(default_factory=list)
    emotional_beats: list[str] = Field(default_factory=list)
    pacing: str = ""
    transition: str = ""
    mood: str = ""
    lighting: str = ""
    palette: list[str] = Field(default_factory=list)
    background: list[AnswerItem] = Field(default_factory=list)
    props: list[AnswerItem] = Field(default_factory=list)
    set_dressing: list[AnswerItem] = Field(default_factory=list)
    wardrobe: list[AnswerItem] = Field(default_factory=list)
    makeup_hair: list[AnswerItem] = Field(default_factory=list)
    vehicles: list[AnswerItem] = Field(default_factory=list)
    animals: list[AnswerItem] = Field(default_factory=list)
    special_effects: list[AnswerItem] = Field(default_factory=list)
    visual_effects: list[AnswerItem] = Field(default_factory=list)
    stunts: list[AnswerItem] = Field(default_factory=list)
    sound_music: list[AnswerItem] = Field(default_factory=list)
    special_equipment: list[AnswerItem] = Field(default_factory=list)
    continuity: list[str] = Field(default_factory=list)

    _lists = field_validator(*_LIST_FIELDS, mode="before")(as_list)
    _texts = field_validator(*_TEXT_FIELDS, mode="before")(as_text)
    _items = field_validator(*CATEGORIES, mode="before")(as_items)

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        # some models wrap the object: {"scene": {...}} or {"breakdown": {...}}
        if isinstance(data, dict) and "summary" not in data and len(data) == 1:
            (inner,) = data.values()
            if isinstance(inner, dict):
                return inner
        if isinstance(data, dict) and "props" not in data and "visual_needs" in data:
            data = {**data, "props": data["visual_needs"]}  # the earlier shape
        return data


def _enum_or_none(parse: Any) -> Any:
    def check(value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return parse(value)
    return check


class ShotAnswer(BaseModel):
    """One shot as the Cinematography Specialist proposes it (numbered later, in order)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    size: ShotSize = Field(validation_alias=AliasChoices("size", "shot_size", "shot_type",
                                                         "type"))
    angle: Angle = Angle.EYE_LEVEL
    movement: Movement = Movement.STATIC
    support: Support | None = None
    lens_mm: int = Field(35, validation_alias=AliasChoices("lens_mm", "lens", "focal_length"))
    subjects: list[str] = Field(default_factory=list)
    coverage: Coverage | None = None
    lighting: str = ""
    audio: str = ""
    estimated_duration_seconds: float = Field(
        gt=0, le=900,
        validation_alias=AliasChoices("estimated_duration_seconds", "duration_seconds",
                                      "duration", "estimated_duration"),
    )
    notes: str = ""
    continuity: str = ""
    alternative: str = ""
    equipment: list[str] = Field(default_factory=list)

    _texts = field_validator("lighting", "audio", "notes", "continuity", "alternative",
                             mode="before")(as_text)
    _lists = field_validator("equipment", "subjects", mode="before")(as_list)
    _duration = field_validator("estimated_duration_seconds", mode="before")(parse_duration)
    _size = field_validator("size", mode="before")(parse_size)
    _angle = field_validator("angle", mode="before")(_enum_or_none(parse_angle))
    _movement = field_validator("movement", mode="before")(_enum_or_none(parse_movement))
    _support = field_validator("support", mode="before")(_enum_or_none(parse_support))
    _coverage = field_validator("coverage", mode="before")(_enum_or_none(parse_coverage))
    _lens = field_validator("lens_mm", mode="before")(parse_lens)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if v is not None}
            for key in ("angle", "movement"):
                if isinstance(data.get(key), str) and not data[key].strip():
                    data.pop(key)
            if not data.get("support") and isinstance(data.get("movement"), str):
                # "drone", "Steadicam", "dolly in": the rig is named in the movement
                with contextlib.suppress(ValueError):
                    data["support"] = parse_support(data["movement"])
        return data


class ShotList(BaseModel):
    """The Cinematography Specialist's answer: the scene's shots in shooting-script order."""

    model_config = ConfigDict(extra="ignore")

    shots: list[ShotAnswer] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"shots": data}
        if isinstance(data, dict) and "shots" not in data:
            for key in ("shot_list", "shotList"):
                if key in data:
                    return {"shots": data[key]}
        return data


# the plan ------------------------------------------------------------------------------------
#: what a plan warning is about (``PlanWarning.kind``); the package README lists them
PlanWarningKind = Literal[
    "scenes_not_planned",     # scenes that could not be planned (they are in failed_scenes)
    "location_unavailable",   # a scene's location is not among the constraints' locations
    "scene_text_trimmed",     # scenes whose text was trimmed to fit the prompt budget
    "entries_cut",            # the character and location entries in the prompts were cut
    "framing",                # a shot's coverage and subjects disagree, or it frames a stranger
    "screen_time_off_pages",  # a scene's shots run under half or over twice its pages
    "runtime_off_target",     # the whole plan runs far from the project's target runtime
    "schedule_over_days",     # the schedule needs more shooting days than are available
    "graph_write_failed",     # the shots could not be written to (or old ones removed from)
                              # the knowledge graph
]
PLAN_WARNING_KINDS: tuple[str, ...] = get_args(PlanWarningKind)


class PlanWarning(BaseModel):
    """One warning of the plan as data, so a first AD's tool or Novel Movie can tell which
    scenes and shots it concerns without reading English. ``message`` is the same text as the
    plan's ``warnings`` entry at the same position."""

    kind: PlanWarningKind = Field(description="What the warning is about: " + ", ".join(
        get_args(PlanWarningKind)) + ".")
    scene: int | None = Field(
        None, description="The scene number it concerns; null when it is not one scene's "
        "(several scenes, the prompts' entries, the schedule, a graph outage).")
    scenes: list[int] = Field(
        default_factory=list, description="Every scene number it concerns (`[scene]` for one "
        "scene's warning); each planned one lists `kind` in its `warning_kinds`.")
    shots: list[int] = Field(
        default_factory=list, description="Shot numbers within `scene` (`shots[].number`): "
        "each lists `kind` in its `warning_kinds`.")
    characters: list[str] = Field(
        default_factory=list, description="Character ids it concerns (the analysis's ids): "
        "someone framed who is not in the scene's cast.")
    locations: list[str] = Field(
        default_factory=list, description="Location ids it concerns (the analysis's ids): a "
        "location not among the available ones.")
    message: str = Field(description="The warning in words, as in `warnings`.")


class Shot(BaseModel):
    """One shot of the plan (the storyboard plugin reads these field names)."""

    number: int = Field(ge=1)
    size: ShotSize = Field(description="EWS, WS, MWS, MS, MCU, CU, ECU or INSERT.")
    angle: Angle = Angle.EYE_LEVEL
    movement: Movement = Field(Movement.STATIC, description="What the frame does.")
    support: Support = Field(Support.STICKS, description="What carries the camera.")
    lens_mm: int = Field(35, ge=6, le=1200, description="Focal length in mm.")
    subjects: list[str] = Field(default_factory=list,
                                description="Character ids in frame.")
    coverage: Coverage = Coverage.SINGLE
    lighting: str = ""
    audio: str = ""
    estimated_duration_seconds: float = Field(gt=0)
    notes: str = ""
    continuity: str = Field("", description="What must match neighbouring shots.")
    alternative: str = ""
    equipment: list[str] = Field(default_factory=list)
    warning_kinds: list[PlanWarningKind] = Field(
        default_factory=list,
        description="The kinds of the plan's `warning_details` that name this shot (its number "
        "in their `shots`, of this scene): check these before shooting or generating it; "
        "empty when none.")


class BreakdownItem(BaseModel):
    """One entry of a breakdown category."""

    item: str
    character: str | None = Field(None, description="Character id (wardrobe, makeup/hair).")
    suggested: bool = Field(
        False, description="True when the scene's text does not mention it: the model's "
        "suggestion, not the story's fact.")


class BreakdownSheet(BaseModel):
    """A first AD's breakdown sheet for one scene: the standard categories, separately."""

    cast: list[str] = Field(default_factory=list, description="Character ids.")
    background: list[BreakdownItem] = Field(default_factory=list)
    props: list[BreakdownItem] = Field(default_factory=list)
    set_dressing: list[BreakdownItem] = Field(default_factory=list)
    wardrobe: list[BreakdownItem] = Field(default_factory=list)
    makeup_hair: list[BreakdownItem] = Field(default_factory=list)
    vehicles: list[BreakdownItem] = Field(default_factory=list)
    animals: list[BreakdownItem] = Field(default_factory=list)
    special_effects: list[BreakdownItem] = Field(default_factory=list)
    visual_effects: list[BreakdownItem] = Field(default_factory=list)
    stunts: list[BreakdownItem] = Field(default_factory=list)
    sound_music: list[BreakdownItem] = Field(default_factory=list)
    special_equipment: list[BreakdownItem] = Field(default_factory=list)
    page_eighths: int = Field(1, ge=1, description="Length in eighths of a page (pages.py).")
    pages: str = Field("1/8", description="The same as a stripboard prints it: '1 3/8'.")
    continuity: list[str] = Field(
        default_factory=list, description="What must match the previous scene.")


class PlannedScene(BaseModel):
    """A scene broken down and shot-listed."""

    number: int = Field(ge=1)
    id: str | None = Field(None, description="The architect's scene id, e.g. 's001'.")
    heading: str
    summary: str
    location: str | None = None
    location_id: str | None = None
    int_ext: IntExt | None = None
    day_night: DayNight | None = None
    time: str | None = None
    story_day: int | None = None
    characters: list[str] = Field(default_factory=list)
    blocking: list[str] = Field(default_factory=list)
    emotional_beats: list[str] = Field(default_factory=list)
    pacing: str = ""
    transition: str = ""
    mood: str = ""
    lighting: str = ""
    palette: list[str] = Field(default_factory=list)
    breakdown: BreakdownSheet = Field(default_factory=BreakdownSheet)
    shots: list[Shot] = Field(min_length=1)
    attempts: int = Field(1, ge=1, description="Planning attempts this scene took.")
    warning_kinds: list[PlanWarningKind] = Field(
        default_factory=list,
        description="The kinds of the plan's `warning_details` that concern this scene (its "
        "number in their `scenes`); empty when none.")

    @property
    def screen_seconds(self) -> float:
        return sum(shot.estimated_duration_seconds for shot in self.shots)


class FailedScene(BaseModel):
    """A scene that could not be planned; the rest of the plan stands without it."""

    number: int
    error: str
    attempts: int = 1


class Totals(BaseModel):
    """Production totals, computed from the shots and the schedule (``totals.py``)."""

    scenes: int
    shots: int
    estimated_screen_time_seconds: float
    estimated_screen_time_minutes: float
    estimated_shooting_hours: float = Field(
        description="Camera hours of every shot (setups and takes) plus company moves.")
    shooting_days: int = Field(0, description="Days of the computed schedule.")
    shooting_days_available: int | None = None
    fits_schedule: bool | None = None
    page_eighths: int = 0
    pages: str = "0"
    company_moves: int = 0
    shot_sizes: dict[str, int] = Field(default_factory=dict)
    locations: list[str] = Field(default_factory=list)
    equipment: list[str] = Field(default_factory=list)
    crew: list[str] = Field(default_factory=list)
    method: str = Field("", description="How every figure above was computed.")


class ModelInfo(BaseModel):
    """Which models planned the scenes; the offline stand-in says so."""

    models: dict[str, str] = Field(default_factory=dict, description="agent role -> model id")
    offline: bool = False
    note: str | None = None


class ScenePlan(BaseModel):
    """The director's output: planned scenes, the schedule, production totals, what failed."""

    project_id: str | None = None
    title: str | None = None
    scenes: list[PlannedScene] = Field(default_factory=list)
    totals: Totals
    schedule: Schedule = Field(default_factory=Schedule)
    language: str | None = Field(None, description="The story's language, as told to the "
                                 "agents.")
    failed_scenes: list[FailedScene] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list, description="What to check in the plan, in words.")
    warning_details: list[PlanWarning] = Field(
        default_factory=list,
        description="The same warnings as data, one per `warnings` entry in the same order: "
        "kind, scene, scenes, shots, characters, locations. Empty in a plan made before it "
        "existed.")
    model: ModelInfo = Field(default_factory=ModelInfo)

    @model_validator(mode="after")
    def _totals_agree(self) -> ScenePlan:
        shots = sum(len(scene.shots) for scene in self.scenes)
        seconds = sum(scene.screen_seconds for scene in self.scenes)
        if self.totals.scenes != len(self.scenes) or self.totals.shots != shots:
            raise ValueError(
                f"totals say {self.totals.scenes} scenes/{self.totals.shots} shots but the "
                f"plan has {len(self.scenes)}/{shots}"
            )
        if not math.isclose(self.totals.estimated_screen_time_seconds, seconds, abs_tol=0.5):
            raise ValueError(
                f"totals say {self.totals.estimated_screen_time_seconds}s of screen time but "
                f"the shots add up to {seconds}s"
            )
        self._warnings_agree()
        return self

    def _warnings_agree(self) -> None:
        """The details are the words as data, and each flag is the kinds of the warnings that
        name its scene or shot: a reader of either finds the same thing."""
        check_messages(self.warnings, self.warning_details)
        for scene in self.scenes:
            kinds = kinds_of(w for w in self.warning_details if scene.number in w.scenes)
            if scene.warning_kinds != kinds:
                raise ValueError(f"scene {scene.number}: warning_kinds {scene.warning_kinds} "
                                 f"are not the kinds of the warnings that name it ({kinds})")
            for shot in scene.shots:
                kinds = kinds_of(w for w in self.warning_details
                                 if w.scene == scene.number and shot.number in w.shots)
                if shot.warning_kinds != kinds:
                    raise ValueError(f"scene {scene.number} shot {shot.number}: warning_kinds "
                                     f"{shot.warning_kinds} are not the kinds of the warnings "
                                     f"that name it ({kinds})")
