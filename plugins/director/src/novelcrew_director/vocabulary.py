"""The words a first AD and a DP use, as enums, and the lenient mapping from what models write.

Models write "close-up", "CU", "tight close up"; a shot list a crew (and the storyboard plugin)
can sort and count needs one spelling. Each ``parse_*`` maps common variants onto the enum and
raises ``ValueError`` (fed back to the model as a rejection) for anything it cannot place.
"""

from __future__ import annotations

import re
from enum import Enum, StrEnum
from typing import Any, TypeVar

E = TypeVar("E", bound=Enum)


class IntExt(StrEnum):
    INT = "INT"
    EXT = "EXT"
    INT_EXT = "INT/EXT"


class DayNight(StrEnum):
    DAY = "DAY"
    NIGHT = "NIGHT"
    DAWN = "DAWN"
    DUSK = "DUSK"


class ShotSize(StrEnum):
    """Frame size, widest to tightest, plus inserts of objects."""

    EWS = "EWS"
    WS = "WS"
    MWS = "MWS"
    MS = "MS"
    MCU = "MCU"
    CU = "CU"
    ECU = "ECU"
    INSERT = "INSERT"


class Angle(StrEnum):
    EYE_LEVEL = "eye level"
    HIGH = "high"
    LOW = "low"
    OVERHEAD = "overhead"
    DUTCH = "dutch"
    POV = "POV"
    GROUND = "ground level"


class Movement(StrEnum):
    """What the frame does; how the camera is carried is ``Support``."""

    STATIC = "static"
    PAN = "pan"
    TILT = "tilt"
    PUSH_IN = "push in"
    PULL_OUT = "pull out"
    TRACK = "track"
    CRANE = "crane"
    HANDHELD = "handheld"
    ZOOM = "zoom"
    ARC = "arc"


class Support(StrEnum):
    """What carries the camera."""

    STICKS = "sticks"
    DOLLY = "dolly"
    SLIDER = "slider"
    CRANE_JIB = "crane/jib"
    STEADICAM_GIMBAL = "Steadicam/gimbal"
    HANDHELD = "handheld"
    DRONE = "drone"


class Coverage(StrEnum):
    """What the shot is for in the edit."""

    MASTER = "master"
    SINGLE = "single"
    OVER_THE_SHOULDER = "over-the-shoulder"
    TWO_SHOT = "two-shot"
    INSERT = "insert"
    CUTAWAY = "cutaway"


def _key(value: str) -> str:
    return re.sub(r"[^a-z/]+", " ", value.lower()).strip()


# variants -> enum value; checked as whole phrases first, then as contained words, in order
_SIZE = (
    (("extreme wide", "extreme long", "ews", "els", "xws", "establishing", "aerial"),
     ShotSize.EWS),
    (("extreme close", "ecu", "xcu", "macro"), ShotSize.ECU),
    (("medium close", "mcu", "medium tight"), ShotSize.MCU),
    (("medium wide", "medium long", "mws", "mls", "cowboy", "full shot", "full", "fs"),
     ShotSize.MWS),
    (("insert", "detail"), ShotSize.INSERT),
    (("close", "cu", "tight"), ShotSize.CU),
    (("wide", "long shot", "ws", "ls", "master"), ShotSize.WS),
    (("medium", "mid", "ms", "waist", "two shot", "two-shot", "over the shoulder", "ots",
      "pov"), ShotSize.MS),
)
_ANGLE = (
    (("dutch", "canted", "tilted"), Angle.DUTCH),
    (("overhead", "bird", "top down", "top-down", "aerial"), Angle.OVERHEAD),
    (("pov", "point of view", "subjective"), Angle.POV),
    (("ground", "worm"), Angle.GROUND),
    (("high",), Angle.HIGH),
    (("low",), Angle.LOW),
    (("eye", "neutral", "straight", "level"), Angle.EYE_LEVEL),
)
_MOVEMENT = (
    (("static", "locked", "still", "none", "fixed"), Movement.STATIC),
    (("push", "dolly in", "track in", "creep in", "move in"), Movement.PUSH_IN),
    (("pull", "dolly out", "track out", "dolly back", "pull back", "move out"),
     Movement.PULL_OUT),
    (("crane", "jib", "boom up", "boom down", "rise", "drone", "aerial"), Movement.CRANE),
    (("handheld", "hand held", "hand-held", "shoulder"), Movement.HANDHELD),
    (("arc", "orbit", "circle"), Movement.ARC),
    (("track", "follow", "truck", "dolly", "steadicam", "gimbal", "lateral"), Movement.TRACK),
    (("pan", "whip"), Movement.PAN),
    (("tilt",), Movement.TILT),
    (("zoom",), Movement.ZOOM),
)
_SUPPORT = (
    (("drone", "aerial", "uav"), Support.DRONE),
    (("crane", "jib", "techno"), Support.CRANE_JIB),
    (("steadicam", "gimbal", "ronin", "stabili"), Support.STEADICAM_GIMBAL),
    (("slider",), Support.SLIDER),
    (("dolly", "track", "rail"), Support.DOLLY),
    (("handheld", "hand held", "hand-held", "shoulder", "easyrig"), Support.HANDHELD),
    (("sticks", "tripod", "static", "locked", "fluid head", "high hat", "hi hat", "sandbag"),
     Support.STICKS),
)
_COVERAGE = (
    (("master", "establishing", "wide"), Coverage.MASTER),
    (("over the shoulder", "over-the-shoulder", "ots", "o/s"), Coverage.OVER_THE_SHOULDER),
    (("two shot", "two-shot", "2 shot", "2-shot", "two", "group"), Coverage.TWO_SHOT),
    (("insert", "detail"), Coverage.INSERT),
    (("cutaway", "cut away", "reaction", "b roll", "b-roll"), Coverage.CUTAWAY),
    (("single", "close", "clean", "pov"), Coverage.SINGLE),
)
_INT_EXT = ((("int/ext", "ext/int", "i/e", "int ext"), IntExt.INT_EXT),
            (("ext", "exterior", "outside", "outdoor"), IntExt.EXT),
            (("int", "interior", "inside", "indoor"), IntExt.INT))
_DAY_NIGHT = ((("dawn", "sunrise", "first light", "daybreak"), DayNight.DAWN),
              (("dusk", "sunset", "twilight", "evening", "magic hour"), DayNight.DUSK),
              (("night", "midnight", "dark"), DayNight.NIGHT),
              (("day", "morning", "noon", "afternoon", "continuous", "later", "same"),
               DayNight.DAY))


def _lookup(value: Any, enum: type[E], table: Any, what: str) -> E:
    if isinstance(value, enum):
        return value
    if value is None or not str(value).strip():
        raise ValueError(f"{what} is missing; one of {', '.join(e.value for e in enum)}")
    text = str(value).strip()
    for member in enum:
        if text.lower() == str(member.value).lower() or text.upper() == member.name:
            return member
    key = _key(text)
    padded = f" {key} "
    for variants, member in table:
        if any(key == v for v in variants):
            return member  # type: ignore[no-any-return]
    for variants, member in table:
        for variant in variants:
            if f" {variant} " in padded or (len(variant) > 4 and variant in key):
                return member  # type: ignore[no-any-return]
    raise ValueError(f"{what} {text!r} is not one of {', '.join(e.value for e in enum)}")


def parse_size(value: Any) -> ShotSize:
    return _lookup(value, ShotSize, _SIZE, "shot size")


def parse_angle(value: Any) -> Angle:
    return _lookup(value, Angle, _ANGLE, "angle")


def parse_movement(value: Any) -> Movement:
    return _lookup(value, Movement, _MOVEMENT, "movement")


def parse_support(value: Any) -> Support:
    return _lookup(value, Support, _SUPPORT, "camera support")


def parse_coverage(value: Any) -> Coverage:
    return _lookup(value, Coverage, _COVERAGE, "coverage role")


def parse_int_ext(value: Any) -> IntExt | None:
    try:
        return _lookup(value, IntExt, _INT_EXT, "INT/EXT")
    except ValueError:
        return None


def parse_day_night(value: Any) -> DayNight | None:
    try:
        return _lookup(value, DayNight, _DAY_NIGHT, "DAY/NIGHT")
    except ValueError:
        return None


def support_for(movement: Movement) -> Support:
    """The usual support for a movement, when the model names none."""
    return {Movement.PUSH_IN: Support.DOLLY, Movement.PULL_OUT: Support.DOLLY,
            Movement.TRACK: Support.DOLLY, Movement.CRANE: Support.CRANE_JIB,
            Movement.HANDHELD: Support.HANDHELD, Movement.ARC: Support.STEADICAM_GIMBAL,
            }.get(movement, Support.STICKS)


def parse_lens(value: Any) -> int:
    """Focal length in mm from ``35``, ``"35mm"``, ``"35 mm spherical prime"``."""
    if isinstance(value, bool):
        raise ValueError("lens must be a focal length in mm")
    if isinstance(value, int | float):
        mm = round(value)
    else:
        match = re.search(r"(\d{1,4})(?:\.\d+)?\s*(?:mm)?", str(value or ""))
        if not match:
            raise ValueError(f"lens {value!r} has no focal length in mm (e.g. 35)")
        mm = int(match.group(1))
    if not 6 <= mm <= 1200:
        raise ValueError(f"lens {mm}mm is not a plausible focal length (6-1200)")
    return mm
