"""Production totals computed from the shots, so they always agree with the shot list.

Screen time is the sum of the shots' estimated durations. Shooting time is a heuristic that a
line producer would recognise, deliberately simple and documented so it can be argued with:

- every shot costs a **setup** that depends on its camera movement: locked-off 15 min,
  pan/tilt/zoom or handheld 20, Steadicam/gimbal 35, dolly/track/slider 40, crane/jib or drone
  60; night or heavily motivated lighting adds 15 min, rain/haze/smoke effects 20 more;
- then **takes**: low budget 3, medium 5, high 7 takes per shot, each costing the shot's
  duration plus a 1.5 min reset;
- a **company move** (a change of location within a shooting day) costs 45 min;
- the number of shooting days is not estimated from the hours: it is the length of the
  computed schedule (``schedule.py``), whose days hold at most ``pages_per_day`` pages and
  ``hours_per_day`` camera hours (default 10: a 12-hour day less meal and turnaround).

Equipment and crew needs are read from each shot's movement, lens, lighting and audio (plus
any equipment the shot lists), so a plan without a crane never asks for a crane operator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from novelcrew_director.inputs import Constraints
from novelcrew_director.models import PlannedScene, Shot, Totals
from novelcrew_director.pages import METHOD as PAGES_METHOD
from novelcrew_director.pages import format_eighths
from novelcrew_director.schedule import Schedule, Strip, build_schedule
from novelcrew_director.vocabulary import Movement, ShotSize, Support

COMPANY_MOVE_MINUTES = 45.0
RESET_MINUTES_PER_TAKE = 1.5
TAKES = {"low": 3, "medium": 5, "high": 7}

# per camera support: setup minutes, equipment, crew
_SUPPORT: dict[Support, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    Support.DRONE: (60, ("drone",), ("drone pilot",)),
    Support.CRANE_JIB: (60, ("crane/jib arm",), ("key grip", "crane operator")),
    Support.STEADICAM_GIMBAL: (35, ("Steadicam or gimbal rig",), ("Steadicam operator",)),
    Support.DOLLY: (40, ("dolly and track",), ("key grip", "dolly grip")),
    Support.SLIDER: (30, ("slider",), ("key grip",)),
    Support.HANDHELD: (20, ("shoulder rig",), ()),
    Support.STICKS: (15, ("tripod",), ()),
}
_MOVING = (Movement.PAN, Movement.TILT, Movement.ZOOM)

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


def _support(shot: Shot) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    minutes, equipment, crew = _SUPPORT[shot.support]
    if shot.support == Support.STICKS and shot.movement in _MOVING:
        return 20, ("fluid-head tripod",), crew
    return minutes, equipment, crew


def setup_minutes(shot: Shot) -> float:
    """Minutes to set up ``shot`` (support, lighting and effects), before any take."""
    minutes, _, _ = _support(shot)
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
    _, equipment_t, crew_t = _support(shot)
    equipment, crew = set(equipment_t), set(crew_t)
    equipment.update(item.strip() for item in shot.equipment if item.strip())
    equipment.add(f"{shot.lens_mm}mm lens")
    if shot.size == ShotSize.ECU or (shot.lens_mm >= 90 and shot.size == ShotSize.INSERT):
        equipment.add("macro lens")
    if shot.movement == Movement.ZOOM:
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


def scene_hours(scene: PlannedScene, budget_level: str) -> float:
    """Camera hours of one scene: its shots' setups and takes."""
    return sum(shot_minutes(shot, budget_level) for shot in scene.shots) / 60


def build_plan_schedule(scenes: Iterable[PlannedScene], constraints: Constraints,
                        names: dict[str, str] | None = None) -> Schedule:
    """The schedule of the planned scenes under the constraints' day budgets."""
    strips = [Strip(scene=s.number, heading=s.heading, location=s.location or s.heading,
                    int_ext=s.int_ext.value if s.int_ext else None,
                    day_night=s.day_night.value if s.day_night else None,
                    story_day=s.story_day, eighths=s.breakdown.page_eighths,
                    pages=s.breakdown.pages,
                    hours=round(scene_hours(s, constraints.budget_level), 2),
                    cast=list(s.breakdown.cast)) for s in scenes]
    return build_schedule(strips, constraints.pages_per_day, constraints.hours_per_day, names)


def compute_totals(scenes: Iterable[PlannedScene], constraints: Constraints,
                   schedule: Schedule | None = None) -> Totals:
    """Totals for ``scenes`` under ``constraints`` (budget sets takes; the schedule, days)."""
    scenes = list(scenes)
    schedule = schedule if schedule is not None else build_plan_schedule(scenes, constraints)
    shots = [shot for scene in scenes for shot in scene.shots]
    seconds = sum(shot.estimated_duration_seconds for shot in shots)
    locations = sorted({scene.location for scene in scenes if scene.location})
    hours = schedule.total_hours if shots else 0.0
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
        fits = schedule.shooting_days <= constraints.shooting_days
    sizes = Counter(shot.size.value for shot in shots)
    eighths = sum(scene.breakdown.page_eighths for scene in scenes)
    return Totals(
        scenes=len(scenes),
        shots=len(shots),
        estimated_screen_time_seconds=round(seconds, 1),
        estimated_screen_time_minutes=round(seconds / 60, 1),
        estimated_shooting_hours=round(hours, 1),
        shooting_days=schedule.shooting_days,
        shooting_days_available=constraints.shooting_days,
        fits_schedule=fits,
        page_eighths=eighths,
        pages=format_eighths(eighths),
        company_moves=schedule.company_moves,
        shot_sizes={size.value: sizes[size.value] for size in ShotSize if sizes[size.value]},
        locations=locations,
        equipment=sorted(equipment, key=str.lower),
        crew=sorted(crew),
        method=(
            f"screen time: the sum of the shots' durations; hours: per shot a setup by camera "
            f"support (15-60 min, +15 night/low-key light, +20 rain/haze) and "
            f"{TAKES[constraints.budget_level]} takes ({constraints.budget_level} budget) of "
            f"its duration plus {RESET_MINUTES_PER_TAKE:g} min, plus {COMPANY_MOVE_MINUTES:.0f} "
            f"min per company move; pages: {PAGES_METHOD}; days: {schedule.method}"
        ),
    )
