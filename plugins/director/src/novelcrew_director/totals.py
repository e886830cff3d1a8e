"""Production totals computed from the shots, so they always agree with the shot list.

Screen time is the sum of the shots' estimated durations. Shooting time is a heuristic that a
line producer would recognise, deliberately simple and documented so it can be argued with:

- every shot costs a **setup** that depends on its camera movement: locked-off 15 min,
  pan/tilt/zoom or handheld 20, Steadicam/gimbal 35, dolly/track/slider 40, crane/jib or drone
  60; night or heavily motivated lighting adds 15 min, rain/haze/smoke effects 20 more;
- then **takes**: low budget 3, medium 5, high 7 takes per shot, each costing the shot's
  duration plus a 1.5 min reset;
- each distinct location adds a 45 min **company move**;
- a shooting day is 10 hours of camera time (a 12-hour day less meal and turnaround), rounded
  up to half days.

Equipment and crew needs are read from each shot's movement, lens, lighting and audio (plus
any equipment the shot lists), so a plan without a crane never asks for a crane operator.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from novelcrew_director.inputs import Constraints
from novelcrew_director.models import PlannedScene, Shot, Totals

SHOOTING_HOURS_PER_DAY = 10.0
COMPANY_MOVE_MINUTES = 45.0
RESET_MINUTES_PER_TAKE = 1.5
TAKES = {"low": 3, "medium": 5, "high": 7}

# (keywords in the movement, setup minutes, equipment, crew); first match wins
_MOVEMENTS: tuple[tuple[tuple[str, ...], float, tuple[str, ...], tuple[str, ...]], ...] = (
    (("drone", "aerial"), 60, ("drone",), ("drone pilot",)),
    (("crane", "jib", "techno"), 60, ("crane/jib arm",), ("key grip", "crane operator")),
    (("steadicam",), 35, ("Steadicam rig",), ("Steadicam operator",)),
    (("gimbal", "ronin"), 35, ("gimbal stabiliser",), ()),
    (("dolly", "track", "push", "pull", "slider", "truck"), 40, ("dolly and track",),
     ("key grip", "dolly grip")),
    (("handheld", "hand-held", "shoulder"), 20, ("shoulder rig",), ()),
    (("pan", "tilt", "zoom", "whip"), 20, ("fluid-head tripod",), ()),
)
_STATIC = (15.0, ("tripod",), ())

_LIGHTING_EXTRA = ("night", "moon", "low-key", "low key", "chiaroscuro", "silhouette", "practical")
_EFFECTS = {
    "rain": "rain towers",
    "haze": "haze machine",
    "smoke": "haze machine",
    "fog": "haze machine",
    "wind": "wind machine",
}
_LIGHT_KIT = {
    "hmi": "HMI lights",
    "practical": "practical lamps",
    "candle": "practical lamps",
    "lantern": "practical lamps",
    "bounce": "bounce boards",
    "diffus": "diffusion frames",
    "softbox": "soft boxes",
    "led": "LED panels",
    "tungsten": "tungsten fresnels",
    "moon": "large moonlight source",
}
_SILENT = ("", "none", "mos", "silent", "no sound", "n/a")
_DIALOGUE = ("dialogue", "dialog", "line", "speech", "voice", "says", "whisper", "conversation")
_FOCAL_RE = re.compile(r"(\d{2,3})\s*mm", re.I)


def _movement(shot: Shot) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    text = shot.movement.lower()
    for keywords, minutes, equipment, crew in _MOVEMENTS:
        if any(word in text for word in keywords):
            return minutes, equipment, crew
    return _STATIC


def setup_minutes(shot: Shot) -> float:
    """Minutes to set up ``shot`` (movement, lighting and effects), before any take."""
    minutes, _, _ = _movement(shot)
    lighting = shot.lighting.lower()
    if any(word in lighting for word in _LIGHTING_EXTRA):
        minutes += 15
    if any(word in lighting or word in shot.notes.lower() for word in _EFFECTS):
        minutes += 20
    return minutes


def shot_minutes(shot: Shot, budget_level: str) -> float:
    """Camera time for ``shot``: setup plus takes (each take its duration plus a reset)."""
    takes = TAKES.get(budget_level, TAKES["medium"])
    per_take = shot.estimated_duration_seconds / 60 + RESET_MINUTES_PER_TAKE
    return setup_minutes(shot) + takes * per_take


def shot_needs(shot: Shot) -> tuple[set[str], set[str]]:
    """Equipment and crew one shot calls for."""
    _, equipment_t, crew_t = _movement(shot)
    equipment, crew = set(equipment_t), set(crew_t)
    equipment.update(item.strip() for item in shot.equipment if item.strip())
    for focal in _FOCAL_RE.findall(shot.lens):
        equipment.add(f"{int(focal)}mm lens")
    lens = shot.lens.lower()
    if "anamorphic" in lens:
        equipment.add("anamorphic lens set")
    if "macro" in lens or "macro" in shot.shot_type.lower():
        equipment.add("macro lens")
    if "zoom" in lens:
        equipment.add("zoom lens")
    lighting = shot.lighting.lower()
    for word, item in _LIGHT_KIT.items():
        if word in lighting:
            equipment.add(item)
    for word, item in _EFFECTS.items():
        if word in lighting or word in shot.notes.lower():
            equipment.add(item)
            crew.add("special effects technician")
    if lighting.strip():
        crew.update(("gaffer", "best boy electric"))
    audio = shot.audio.strip().lower()
    if audio not in _SILENT:
        crew.add("production sound mixer")
        if any(word in audio for word in _DIALOGUE):
            equipment.update(("boom microphone", "wireless lavalier microphones"))
            crew.add("boom operator")
        else:
            equipment.add("field recorder")
    return equipment, crew


def compute_totals(scenes: Iterable[PlannedScene], constraints: Constraints) -> Totals:
    """Totals for ``scenes`` under ``constraints`` (budget sets takes, days set the schedule)."""
    scenes = list(scenes)
    shots = [shot for scene in scenes for shot in scene.shots]
    seconds = sum(shot.estimated_duration_seconds for shot in shots)
    locations = sorted({scene.location for scene in scenes if scene.location})
    minutes = sum(shot_minutes(shot, constraints.budget_level) for shot in shots)
    minutes += COMPANY_MOVE_MINUTES * len(locations)
    hours = minutes / 60
    days = math.ceil(hours / SHOOTING_HOURS_PER_DAY * 2) / 2 if shots else 0.0
    equipment: set[str] = set()
    crew: set[str] = {"director", "director of photography", "camera operator",
                      "1st assistant camera", "script supervisor"} if shots else set()
    if shots:
        equipment.add("cinema camera")
    for shot in shots:
        shot_equipment, shot_crew = shot_needs(shot)
        equipment |= shot_equipment
        crew |= shot_crew
    fits = None
    if constraints.shooting_days is not None and shots:
        fits = days <= constraints.shooting_days
    types = Counter(shot.shot_type.strip().lower() for shot in shots)
    return Totals(
        scenes=len(scenes),
        shots=len(shots),
        estimated_screen_time_seconds=round(seconds, 1),
        estimated_screen_time_minutes=round(seconds / 60, 1),
        estimated_shooting_hours=round(hours, 1),
        estimated_shooting_days=days,
        shooting_days_available=constraints.shooting_days,
        fits_schedule=fits,
        shot_types=dict(sorted(types.items())),
        locations=locations,
        equipment=sorted(equipment, key=str.lower),
        crew=sorted(crew),
        method=(
            f"setup by camera movement (15-60 min) + {TAKES[constraints.budget_level]} takes "
            f"per shot ({constraints.budget_level} budget) + {COMPANY_MOVE_MINUTES:.0f} min per "
            f"location; {SHOOTING_HOURS_PER_DAY:.0f} camera hours a day"
        ),
    )
