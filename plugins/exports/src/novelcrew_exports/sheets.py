"""CSV sheets a first AD and a DP work from: shot list, breakdown sheets, stripboard.
People by name (cast in the day out of days' order), whose wardrobe it is ("Rosa Amati:
apron"), never character ids.

Plain RFC 4180 CSV (UTF-8, a header row, lists joined with "; ") so a spreadsheet or a
scheduling program imports it without a mapping step. Page counts are shown in eighths as a
script supervisor writes them ("1 3/8").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from novelcrew_exports._data import (
    Cast,
    ExportUnavailable,
    breakdown,
    day_night,
    heading,
    int_ext,
    names,
    result,
    scenes,
    shots,
    text,
)

SHOT_COLUMNS = ["scene", "heading", "shot", "size", "angle", "movement", "support", "lens_mm",
                "subjects", "coverage", "duration_seconds", "lighting", "audio", "notes"]
#: breakdown categories (the standard sheet's colours) and the keys a result may use for each
CATEGORIES: dict[str, tuple[str, ...]] = {
    "cast": ("cast",),
    "extras": ("extras", "background", "background_extras"),
    "props": ("props",),
    "set_dressing": ("set_dressing",),
    "wardrobe": ("wardrobe", "costume", "costumes"),
    "makeup_hair": ("makeup_hair", "makeup", "hair_makeup"),
    "vehicles": ("vehicles",),
    "animals": ("animals",),
    "special_effects": ("special_effects", "sfx"),
    "visual_effects": ("visual_effects", "vfx"),
    "stunts": ("stunts",),
    "sound": ("sound", "sound_music", "music"),
    "special_equipment": ("special_equipment", "equipment"),
}
BREAKDOWN_COLUMNS = ["scene", "heading", "int_ext", "day_night", "location", "story_day",
                     "pages", *CATEGORIES, "continuity"]
STRIP_COLUMNS = ["day", "order", "scene", "heading", "int_ext", "day_night", "location",
                 "pages", "cast", "story_day"]


def eighths(value: Any) -> str:
    """``11`` eighths -> ``"1 3/8"`` (how page counts are written on a breakdown)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return ""
    whole, part = divmod(n, 8)
    if not part:
        return str(whole)
    return f"{whole} {part}/8" if whole else f"{part}/8"


def _pages(scene: dict[str, Any]) -> str:
    for key in ("page_eighths", "pages_eighths", "eighths"):
        if scene.get(key) is not None:
            return eighths(scene[key])
    sheet = breakdown(scene)
    if sheet.get("page_eighths") is not None:
        return eighths(sheet["page_eighths"])
    return text(scene.get("pages"))


def _first(item: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = item.get(key)
        if value not in (None, "", []):
            return value
    return None


def _csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()


def shot_list(job: dict[str, Any]) -> str:
    cast = Cast(job)
    rows = []
    for scene in scenes(job):
        for index, shot in enumerate(shots(scene), start=1):
            lens = _first(shot, "lens_mm", "lens")
            rows.append({
                "scene": scene.get("number"),
                "heading": heading(scene),
                "shot": shot.get("number") or index,
                "size": text(_first(shot, "size", "shot_size", "shot_type")),
                "angle": text(shot.get("angle")),
                "movement": text(shot.get("movement")),
                "support": text(_first(shot, "support", "camera_support")),
                "lens_mm": text(lens),
                "subjects": "; ".join(map(cast.who, names(_first(shot, "subjects",
                                                                  "characters")))),
                "coverage": text(_first(shot, "coverage", "coverage_role")),
                "duration_seconds": text(_first(shot, "estimated_duration_seconds",
                                                "duration_seconds")),
                "lighting": text(shot.get("lighting")),
                "audio": text(shot.get("audio")),
                "notes": text(_first(shot, "description", "notes")),
            })
    if not rows:
        raise ExportUnavailable("the job has no shots: run the director crew")
    return _csv(SHOT_COLUMNS, rows)


def _category(scene: dict[str, Any], keys: tuple[str, ...], cast: Cast) -> str:
    sheet = breakdown(scene)
    for key in keys:
        if key in sheet:
            if keys[0] == "cast":
                return "; ".join(cast.names_of(names(sheet[key])))
            return "; ".join(cast.items(sheet[key]))
    if keys[0] == "cast":
        return "; ".join(names(scene.get("characters")))
    if keys[0] == "props":
        return "; ".join(names(scene.get("props") or scene.get("objects")))
    return ""


def breakdown_sheets(job: dict[str, Any]) -> str:
    cast = Cast(job)
    rows = []
    for scene in scenes(job):
        row: dict[str, Any] = {
            "scene": scene.get("number"),
            "heading": heading(scene),
            "int_ext": int_ext(scene),
            "day_night": day_night(scene),
            "location": text(scene.get("location")),
            "story_day": text(scene.get("story_day")),
            "pages": _pages(scene),
            "continuity": "; ".join(names(_first(scene, "continuity")
                                          or breakdown(scene).get("continuity"))),
        }
        for column, keys in CATEGORIES.items():
            row[column] = _category(scene, keys, cast)
        rows.append(row)
    if not rows:
        raise ExportUnavailable("the job has no scenes: run the architect crew")
    return _csv(BREAKDOWN_COLUMNS, rows)


def _strips(job: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """``(shooting day, scene number or strip)`` in shooting order, from the director's
    schedule (computed in Python from the breakdown)."""
    director = result(job, "director")
    found = director.get("schedule")
    schedule: dict[str, Any] = found if isinstance(found, dict) else {}
    strips: list[tuple[Any, dict[str, Any]]] = []
    board = schedule.get("stripboard") or director.get("stripboard")
    if isinstance(board, list):
        for strip in board:
            if isinstance(strip, dict):
                strips.append((_first(strip, "day", "shooting_day"), strip))
        return strips
    for day in schedule.get("days") or []:
        if not isinstance(day, dict):
            continue
        number = _first(day, "day", "number")
        for item in day.get("scenes") or day.get("strips") or []:
            strip = item if isinstance(item, dict) else {"scene": item}
            strips.append((number, strip))
    return strips


def stripboard(job: dict[str, Any]) -> str:
    cast = Cast(job)
    by_number = {scene.get("number"): scene for scene in scenes(job)}
    strips = _strips(job)
    if not strips:
        raise ExportUnavailable("the job has no schedule: run the director crew")
    rows = []
    for order, (day, strip) in enumerate(strips, start=1):
        number = _first(strip, "scene", "scene_number", "number")
        scene = {**by_number.get(number, {}), **strip}
        rows.append({
            "day": day, "order": order, "scene": number, "heading": heading(scene),
            "int_ext": int_ext(scene), "day_night": day_night(scene),
            "location": text(scene.get("location")), "pages": _pages(scene),
            "cast": "; ".join(cast.names_of(
                names(_first(strip, "cast") or breakdown(scene).get("cast")
                      or scene.get("characters")))),
            "story_day": text(scene.get("story_day")),
        })
    return _csv(STRIP_COLUMNS, rows)
