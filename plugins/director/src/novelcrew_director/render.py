"""How a scene plan reads in a terminal (``novelcrew run``, the demo): per scene its heading,
breakdown sheet and shot list, then the stripboard, day out of days and production totals.
Registered by the plugin through ``register_renderers`` for the ``director`` crew and any result
of the same shape; imported only when a result is printed (it imports rich).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from novelcrew.display import join, model_note, seconds, short
from novelcrew.warnings import kind_label, warning_lines
from novelcrew_director.schedule import plural


def is_scene_plan(result: Mapping[str, Any]) -> bool:
    """Scenes with shots and production totals; not a storyboard, which has them too but also
    a visual bible (the storyboard plugin renders those)."""
    scenes = result.get("scenes")
    return isinstance(result.get("totals"), Mapping) and isinstance(scenes, list) and all(
        isinstance(s, Mapping) and "shots" in s for s in scenes
    ) and not isinstance(result.get("bible"), Mapping)


#: breakdown categories in a first AD's order, with the labels a sheet prints
BREAKDOWN_LABELS = (
    ("background", "extras"), ("props", "props"), ("set_dressing", "set dressing"),
    ("wardrobe", "wardrobe"), ("makeup_hair", "makeup/hair"), ("vehicles", "vehicles"),
    ("animals", "animals"), ("special_effects", "SFX"), ("visual_effects", "VFX"),
    ("stunts", "stunts"), ("sound_music", "sound/music"),
    ("special_equipment", "special equipment"),
)


def cast_list(schedule: Any) -> dict[str, tuple[str, str]]:
    """Character id -> (cast number, name), from the plan schedule's day out of days: the
    plan's one list of its cast. A sheet is read by people, who know Nora Quill and cast
    number 1, not ``nora``."""
    rows = schedule.get("day_out_of_days") if isinstance(schedule, Mapping) else None
    return {str(row["character_id"]): (str(row.get("cast_number") or ""),
                                       str(row.get("name") or row["character_id"]))
            for row in rows or [] if isinstance(row, Mapping) and row.get("character_id")}


def _name(cast: Mapping[str, tuple[str, str]], cid: Any) -> str:
    return cast[cid][1] if cid in cast else str(cid)


def _item(entry: Any, cast: Mapping[str, tuple[str, str]]) -> str:
    """A breakdown item: ``rope``, ``Nora Quill: oilskins``; a model's suggestion ends with
    ``*``."""
    if not isinstance(entry, Mapping):
        return str(entry)
    text = str(entry.get("item", ""))
    if entry.get("character"):
        text = f"{_name(cast, entry['character'])}: {text}"
    return text + ("*" if entry.get("suggested") else "")


def breakdown_sheet(scene: Mapping[str, Any],
                    cast: Mapping[str, tuple[str, str]] | None = None) -> Table | None:
    """The scene's breakdown sheet: one row per category that has anything; people by name
    (``cast``: ``cast_list`` of the plan)."""
    cast = cast or {}
    sheet = scene.get("breakdown")
    if not isinstance(sheet, Mapping):
        return None
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    if sheet.get("cast"):
        grid.add_row("cast", join(_name(cast, c) for c in sheet["cast"]))
    for key, label in BREAKDOWN_LABELS:
        if sheet.get(key):
            grid.add_row(label, join(_item(e, cast) for e in sheet[key]))
    for note in sheet.get("continuity") or []:
        grid.add_row("continuity", str(note))
    return grid if grid.row_count else None


#: a plan warning's kind (``PlanWarning.kind``) as a scene's line and a warning say it
KIND_LABELS = {
    "scenes_not_planned": "not planned",
    "location_unavailable": "location not available",
    "scene_text_trimmed": "text trimmed for the prompts",
    "entries_cut": "entries cut for the prompts",
    "framing": "framing",
    "screen_time_off_pages": "screen time against the pages",
    "runtime_off_target": "runtime against the project's target",
    "schedule_over_days": "more shooting days than available",
    "graph_write_failed": "graph not written",
}


def _kind(kind: Any) -> str:
    return kind_label(kind, KIND_LABELS)


def _check(scene: Mapping[str, Any]) -> Text | None:
    """``check: framing (shots 1, 3), location not available``: what to look at in this scene
    before shooting it, and which shots, from the flags the plan sets (the warnings say why)."""
    parts = []
    for kind in scene.get("warning_kinds") or []:
        shots = [str(shot.get("number", "")) for shot in scene.get("shots") or []
                 if isinstance(shot, Mapping) and kind in (shot.get("warning_kinds") or [])]
        where = f" ({'shot' if len(shots) == 1 else 'shots'} {join(shots)})" if shots else ""
        parts.append(_kind(kind) + where)
    return Text(f"check: {join(parts)}", style="bold yellow") if parts else None


def _warnings(result: Mapping[str, Any]) -> list[RenderableType]:
    """Each warning with its kind when the plan gives it as data (an older one does not)."""
    return [Text(line, style="yellow") for line in warning_lines(result, KIND_LABELS)]


def _scene_title(scene: Mapping[str, Any]) -> Text:
    title = Text(f"{scene.get('number', '')}. {scene.get('heading', '')}", style="bold cyan")
    sheet = scene.get("breakdown")
    extra = []
    if isinstance(sheet, Mapping) and sheet.get("pages"):
        extra.append(f"{sheet['pages']} pg")
    if scene.get("story_day"):
        extra.append(f"story day {scene['story_day']}")
    if extra:
        title.append(f"   {' · '.join(extra)}", style="dim")
    return title


def _subjects(shot: Mapping[str, Any], scene: Mapping[str, Any],
              cast: Mapping[str, tuple[str, str]]) -> str:
    """Who is in frame, by name; "everyone" for a frame of the whole cast of three or more."""
    subjects = [str(s) for s in shot.get("subjects") or []]
    sheet = scene.get("breakdown")
    everyone = sheet.get("cast") if isinstance(sheet, Mapping) else None
    if len(subjects) >= 3 and everyone and set(subjects) == {str(c) for c in everyone}:
        return f"everyone ({len(subjects)})"
    return join(_name(cast, s) for s in subjects)


#: how a shot list writes a coverage too long for its column
_SHORT = {"over-the-shoulder": "OTS"}


def _shot_cells(shot: Mapping[str, Any], subjects: str) -> list[str]:
    size = shot.get("size") or shot.get("shot_type") or ""
    lens = shot.get("lens_mm")
    lens_text = f"{lens}mm" if lens else str(shot.get("lens", ""))
    movement = str(shot.get("movement", ""))
    if shot.get("support") and shot["support"] != movement:  # not "handheld / handheld"
        movement += f" / {shot['support']}"
    coverage = str(shot.get("coverage", ""))
    return [str(shot.get("number", "")), str(size), str(shot.get("angle", "")), movement,
            lens_text, _SHORT.get(coverage, coverage), subjects,
            seconds(shot.get("estimated_duration_seconds"))]


def scene_plan(result: Mapping[str, Any]) -> RenderableType:
    """A scene plan: per scene its heading, breakdown sheet and shots; the stripboard, the
    day-out-of-days table, then production totals."""
    parts: list[RenderableType] = []
    if result.get("title"):
        parts.append(Text(f"Scene plan: {result['title']}", style="bold"))
    note = model_note(result)
    if note is not None:
        parts.append(note)
    all_notes = {str(shot.get("notes", "")) for scene in result.get("scenes") or []
                 for shot in scene.get("shots") or []}
    shared_note = all_notes.pop() if len(all_notes) == 1 else None
    if shared_note:
        parts.append(Text(f"every shot: {shared_note}", style="dim"))
    suggested = False
    cast = cast_list(result.get("schedule"))
    for scene in result.get("scenes") or []:
        parts.append(_scene_title(scene))
        check = _check(scene)
        if check is not None:
            parts.append(check)
        if scene.get("summary"):
            parts.append(Text(str(scene["summary"])))
        look = join([scene.get("mood"), scene.get("lighting"), join(scene.get("palette"))],
                     " · ")
        if look:
            parts.append(Text(f"look: {look}", style="dim"))
        sheet = breakdown_sheet(scene, cast)
        if sheet is not None:
            parts.append(sheet)
            suggested = suggested or any(
                isinstance(e, Mapping) and e.get("suggested")
                for key, _ in BREAKDOWN_LABELS for e in scene["breakdown"].get(key) or [])
        elif scene.get("characters"):
            parts.append(Text(f"cast: {join(scene['characters'])}", style="dim"))
        table = Table(expand=True, show_edge=False, pad_edge=False)
        columns = [("#", None), ("size", None), ("angle", None), ("movement / support", 3),
                   ("lens", None), ("coverage", None), ("subjects", 2), ("time", None)]
        if shared_note is None:  # a plan whose shots are mostly without notes wraps less
            shots = scene.get("shots") or []
            noted = sum(1 for shot in shots if str(shot.get("notes") or ""))
            columns.append(("notes", 3 if noted * 2 >= len(shots) else 1))
        for col, ratio in columns:
            table.add_column(col, ratio=ratio, justify="right" if col in ("#", "time") else "left",
                             no_wrap=col in ("size", "angle", "lens", "coverage"))
        for shot in scene.get("shots") or []:
            row = _shot_cells(shot, _subjects(shot, scene, cast))
            if shared_note is None:
                row.append(short(shot.get("notes")))
            table.add_row(*row)
        parts.append(table)
        if scene.get("transition"):
            parts.append(Text(f"→ {scene['transition']}", style="dim"))
        parts.append(Text(""))
    if suggested:
        parts.append(Text("* suggested by the model: the scene's text does not say it",
                          style="dim"))
    for failed in result.get("failed_scenes") or []:
        parts.append(Text(f"scene {failed.get('number')} could not be planned: "
                          f"{failed.get('error')}", style="red"))
    parts += _warnings(result)
    schedule = result.get("schedule")
    if isinstance(schedule, Mapping) and schedule.get("days"):
        parts += [stripboard(schedule), day_out_of_days(schedule)]
    totals = result.get("totals") or {}
    if totals:
        parts.append(totals_grid(totals))
    return Group(*parts)


def stripboard(schedule: Mapping[str, Any]) -> Table:
    """The stripboard: one row per strip, grouped into shooting days, each day closed by its
    day-break strip (its pages, hours and company moves); cast by the numbers of the day out
    of days below it, as a strip shows them."""
    numbers = {cid: number for cid, (number, _) in cast_list(schedule).items() if number}
    table = Table(title="Stripboard", title_justify="left", expand=True)
    for col, ratio in (("day", None), ("scene", None), ("I/E", None), ("D/N", None),
                       ("location", 2), ("pages", None), ("hours", None), ("cast #", 2)):
        table.add_column(col, ratio=ratio,
                         justify="right" if col in ("day", "scene", "pages", "hours")
                         else "left")
    for day in schedule.get("days") or []:
        for i, strip in enumerate(day.get("strips") or []):
            scene = str(strip.get("scene", ""))
            if strip.get("part"):
                scene += f" ({strip['part']})"
            table.add_row(str(day.get("day", "")) if i == 0 else "", scene,
                          str(strip.get("int_ext") or ""), str(strip.get("day_night") or ""),
                          str(strip.get("location", "")), str(strip.get("pages", "")),
                          f"{float(strip.get('hours') or 0):.1f}",
                          join(sorted((numbers.get(c, str(c)) for c in strip.get("cast") or []),
                                      key=lambda n: (not n.isdigit(), int(n) if n.isdigit()
                                                     else 0, n))))
        moves = int(day.get("company_moves") or 0)
        table.add_row("", "", "", "", f"end of day {day.get('day')}",
                      str(day.get("pages", "")), f"{float(day.get('hours') or 0):.1f}",
                      plural(moves, "company move") if moves else "", style="bold",
                      end_section=True)
    return table


def day_out_of_days(schedule: Mapping[str, Any]) -> Table:
    """Day out of days: per cast member a code for every shooting day."""
    days = schedule.get("days") or []
    table = Table(title="Day out of days (SW start, W work, H hold, WF finish, SWF one day)",
                  title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("cast", no_wrap=True)
    for day in days:
        table.add_column(str(day.get("day")), justify="center")
    table.add_column("work", justify="right")
    table.add_column("hold", justify="right")
    for row in schedule.get("day_out_of_days") or []:
        table.add_row(str(row.get("cast_number", "")), str(row.get("name", "")),
                      *[str(c) for c in row.get("codes") or []],
                      str(row.get("work_days", "")), str(row.get("hold_days", "")))
    return table


def totals_grid(totals: Mapping[str, Any]) -> Table:
    grid = Table(title="Production totals", title_justify="left", show_header=False)
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("scenes / shots", f"{totals.get('scenes', '?')} / {totals.get('shots', '?')}")
    if totals.get("pages"):
        grid.add_row("pages", str(totals["pages"]))
    grid.add_row("screen time", seconds(totals.get("estimated_screen_time_seconds")))
    days_value = totals.get("shooting_days", totals.get("estimated_shooting_days"))
    if days_value is not None:
        whole = float(days_value).is_integer()  # an older plan's estimate may be 0.5
        days = plural(int(days_value), "day") if whole else f"{days_value} days"
        if totals.get("estimated_shooting_hours") is not None:
            days += f" ({totals['estimated_shooting_hours']} h)"
        if totals.get("company_moves"):
            days += f", {plural(int(totals['company_moves']), 'company move')}"
        if totals.get("shooting_days_available"):
            fits = "fits" if totals.get("fits_schedule") else "does NOT fit"
            days += f"; {fits} {totals['shooting_days_available']} available"
        grid.add_row("shooting", days)
    sizes = totals.get("shot_sizes") or totals.get("shot_types")
    if sizes:
        grid.add_row("shot sizes", join(f"{k} {v}" for k, v in sizes.items()))
    for key in ("locations", "equipment", "crew"):
        if totals.get(key):
            grid.add_row(key, join(totals[key]))
    if totals.get("method"):
        grid.add_row("how", Text(str(totals["method"]), style="dim"))
    return grid
