"""The director's data: what the agents answer per scene, and the scene plan it returns.

Agent answers (``SceneBreakdown``, ``ShotList``) are lenient about shape (a string where a list
is expected, ``"4s"`` for a duration) because models drift, but strict about what a plan cannot
do without (a heading, at least one shot with a type). The returned ``ScenePlan`` checks that
its totals agree with its shots, so no caller ever sees a plan whose sums are wrong.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

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


_LIST_FIELDS = ("characters", "blocking", "emotional_beats", "visual_needs", "props", "palette")
_TEXT_FIELDS = ("heading", "summary", "pacing", "transition", "mood", "lighting")


class SceneBreakdown(BaseModel):
    """The Scene Analysis Director's answer for one scene."""

    model_config = ConfigDict(extra="ignore")

    heading: str = Field(min_length=3, description="INT./EXT. LOCATION - TIME")
    summary: str = Field(min_length=1)
    characters: list[str] = Field(default_factory=list)
    blocking: list[str] = Field(default_factory=list)
    emotional_beats: list[str] = Field(default_factory=list)
    visual_needs: list[str] = Field(default_factory=list)
    props: list[str] = Field(default_factory=list)
    pacing: str = ""
    transition: str = ""
    mood: str = ""
    lighting: str = ""
    palette: list[str] = Field(default_factory=list)

    _lists = field_validator(*_LIST_FIELDS, mode="before")(as_list)
    _texts = field_validator(*_TEXT_FIELDS, mode="before")(as_text)

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        # some models wrap the object: {"scene": {...}} or {"breakdown": {...}}
        if isinstance(data, dict) and "heading" not in data and len(data) == 1:
            (inner,) = data.values()
            if isinstance(inner, dict):
                return inner
        return data


class ShotAnswer(BaseModel):
    """One shot as the Cinematography Specialist proposes it (numbered later, in order)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    shot_type: str = Field(min_length=1, validation_alias=AliasChoices("shot_type", "type"))
    angle: str = ""
    movement: str = ""
    lens: str = ""
    lighting: str = ""
    audio: str = ""
    estimated_duration_seconds: float = Field(
        gt=0, le=900,
        validation_alias=AliasChoices("estimated_duration_seconds", "duration_seconds",
                                      "duration", "estimated_duration"),
    )
    notes: str = ""
    alternative: str = ""
    equipment: list[str] = Field(default_factory=list)

    _texts = field_validator("angle", "movement", "lens", "lighting", "audio", "notes",
                             "alternative", mode="before")(as_text)
    _equipment = field_validator("equipment", mode="before")(as_list)
    _duration = field_validator("estimated_duration_seconds", mode="before")(parse_duration)


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
class Shot(BaseModel):
    """One shot of the plan."""

    number: int = Field(ge=1)
    shot_type: str
    angle: str = ""
    movement: str = ""
    lens: str = ""
    lighting: str = ""
    audio: str = ""
    estimated_duration_seconds: float = Field(gt=0)
    notes: str = ""
    alternative: str = ""
    equipment: list[str] = Field(default_factory=list)


class PlannedScene(BaseModel):
    """A scene broken down and shot-listed."""

    number: int = Field(ge=1)
    heading: str
    summary: str
    location: str | None = None
    time: str | None = None
    characters: list[str] = Field(default_factory=list)
    blocking: list[str] = Field(default_factory=list)
    emotional_beats: list[str] = Field(default_factory=list)
    visual_needs: list[str] = Field(default_factory=list)
    props: list[str] = Field(default_factory=list)
    pacing: str = ""
    transition: str = ""
    mood: str = ""
    lighting: str = ""
    palette: list[str] = Field(default_factory=list)
    shots: list[Shot] = Field(min_length=1)
    attempts: int = Field(1, ge=1, description="Planning attempts this scene took.")

    @property
    def screen_seconds(self) -> float:
        return sum(shot.estimated_duration_seconds for shot in self.shots)


class FailedScene(BaseModel):
    """A scene that could not be planned; the rest of the plan stands without it."""

    number: int
    error: str
    attempts: int = 1


class Totals(BaseModel):
    """Production totals, computed from the shots (see ``totals.py`` for the heuristics)."""

    scenes: int
    shots: int
    estimated_screen_time_seconds: float
    estimated_screen_time_minutes: float
    estimated_shooting_hours: float
    estimated_shooting_days: float
    shooting_days_available: int | None = None
    fits_schedule: bool | None = None
    shot_types: dict[str, int] = Field(default_factory=dict)
    locations: list[str] = Field(default_factory=list)
    equipment: list[str] = Field(default_factory=list)
    crew: list[str] = Field(default_factory=list)
    method: str = ""


class ModelInfo(BaseModel):
    """Which models planned the scenes; the offline stand-in says so."""

    models: dict[str, str] = Field(default_factory=dict, description="agent role -> model id")
    offline: bool = False
    note: str | None = None


class ScenePlan(BaseModel):
    """The director's output: planned scenes, production totals, and what failed."""

    project_id: str | None = None
    title: str | None = None
    scenes: list[PlannedScene] = Field(default_factory=list)
    totals: Totals
    failed_scenes: list[FailedScene] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
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
        return self
