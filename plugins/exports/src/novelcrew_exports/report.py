"""A print-ready HTML production report: analysis, the plan's warnings, breakdown sheets,
shot lists, stripboard and storyboard in one self-contained page (inline CSS, no scripts,
nothing fetched), laid out for A4/Letter with a page break before each scene."""

from __future__ import annotations

from html import escape
from typing import Any

from novelcrew_exports._data import (
    Cast,
    breakdown,
    day_night,
    dialogue,
    heading,
    int_ext,
    names,
    offline,
    result,
    scenes,
    shots,
    spoken,
    story_scenes,
    text,
    title,
)
from novelcrew_exports.sheets import CATEGORIES, _first, _pages, _strips

CSS = """
body{font:11pt/1.4 Georgia,serif;margin:2em;color:#111}
h1{font-size:22pt;margin:0} h2{border-bottom:2px solid #333;margin-top:1.6em}
h3{margin:.2em 0;font-family:Courier,monospace}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:9.5pt}
th,td{border:1px solid #999;padding:3px 5px;vertical-align:top;text-align:left}
th{background:#eee} .muted{color:#555} .banner{background:#fff3cd;border:1px solid #c9a227;
padding:.6em;margin:1em 0} .scene{page-break-before:always} .int{background:#fff}
.ext{background:#fffbe0} .night{background:#dde4f5} .ext.night{background:#d6ecd2}
.daybreak td{background:#222;color:#fff;font-weight:bold}
.stand-in{font:bold 9pt sans-serif;color:#6b4c00;background:#fff3cd;border:1px solid #c9a227;
padding:1px 6px;display:inline-block;margin:.2em 0}
.contents{columns:2 22em;list-style:none;padding:0} .contents a{color:inherit}
@media screen{.wide{overflow-x:auto} body{margin:1em}}
@page{size:auto;margin:15mm} @media print{body{margin:0} .contents{columns:2}}
"""

#: on every scene's page of a stand-in's report, since a printed page travels alone
STAND_IN = ("<p class='stand-in'>Offline stand-in output: plain extraction from the story, "
            "not an analysis</p>")


def _e(value: Any) -> str:
    return escape(text(value))


def _table(head: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return ""
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>")
    out.append("</tbody></table>")
    return "<div class='wide'>" + "".join(out) + "</div>"  # a phone scrolls the table alone


def _analysis(job: dict[str, Any]) -> list[str]:
    a = result(job, "architect")
    out = []
    for label, key in (("Logline", "logline"), ("Genre", "genre"), ("Tone", "tone")):
        if a.get(key):
            out.append(f"<p><b>{label}:</b> {_e(a[key])}</p>")
    if a.get("themes"):
        out.append(f"<p><b>Themes:</b> {escape(', '.join(names(a['themes'])))}</p>")
    chars = [c for c in a.get("characters") or [] if isinstance(c, dict)]
    if chars:
        out.append("<h2>Characters</h2>")
        out.append(_table(["Name", "Role", "Description", "Arc", "Relationships"], [
            [c.get("name"), c.get("role"), c.get("description"), c.get("arc"),
             "; ".join(f"{r.get('kind', '')} of {r.get('to', '')}".strip()
                       for r in c.get("relationships") or [] if isinstance(r, dict))]
            for c in chars]))
    locs = [loc for loc in a.get("locations") or [] if isinstance(loc, dict)]
    if locs:
        out.append("<h2>Locations</h2>")
        out.append(_table(["Name", "Description", "Atmosphere"], [
            [loc.get("name"), loc.get("description"), loc.get("atmosphere")] for loc in locs]))
    return out


def _anchor(scene: dict[str, Any]) -> str:
    return escape(f"scene-{text(scene.get('number'))}", quote=True)


def _contents(all_scenes: list[dict[str, Any]]) -> list[str]:
    """A long story's scenes, each a link to its page (the report may run to 60 of them)."""
    if len(all_scenes) < 2:
        return []
    items = "".join(f"<li><a href='#{_anchor(s)}'>{_e(s.get('number'))}. "
                    f"{escape(heading(s))}</a></li>" for s in all_scenes)
    return ["<nav aria-label='Scenes'><h2>Scenes</h2>",
            f"<ul class='contents'>{items}</ul></nav>"]


def _scene(scene: dict[str, Any], cast: Cast, stand_in: bool = False) -> list[str]:
    out = [f'<section class="scene" id="{_anchor(scene)}">'
           f'<h3>{scene.get("number")}. {escape(heading(scene))}</h3>']
    if stand_in:
        out.append(STAND_IN)
    facts = [("Pages", _pages(scene)), ("Story day", text(scene.get("story_day"))),
             ("Mood", text(scene.get("mood") or scene.get("emotional_beat")))]
    out.append("<p class='muted'>" + " · ".join(f"{k}: {escape(v)}" for k, v in facts if v)
               + "</p>")
    kinds = [k for k in scene.get("warning_kinds") or [] if k]
    if kinds:  # a printed scene travels alone: it says what the plan's warnings ask of it
        out.append("<p class='banner'><b>Check:</b> "
                   + escape(", ".join(_kind(k) for k in kinds)) + "</p>")
    if scene.get("summary"):
        out.append(f"<p>{_e(scene['summary'])}</p>")
    lines = dialogue(scene)
    if lines:
        out.append("<p>" + "<br>".join(f"<b>{escape(s)}</b>: \u201c{escape(spoken(line))}\u201d"
                                       for s, line in lines) + "</p>")
    sheet = breakdown(scene)
    rows = []
    for column, keys in CATEGORIES.items():
        for key in keys:
            if key in sheet and names(sheet[key]):
                listed = (cast.names_of(names(sheet[key])) if column == "cast"
                          else cast.items(sheet[key]))
                rows.append([column.replace("_", " "), "; ".join(listed)])
                break
    if not sheet and scene.get("props"):
        rows.append(["props", "; ".join(names(scene["props"]))])
    continuity = _first(scene, "continuity") or sheet.get("continuity")
    if continuity:
        rows.append(["continuity", "; ".join(names(continuity))])
    if rows:
        out.append("<h4>Breakdown</h4>" + _table(["Category", "Items"], rows))
        if any("*" in row[1] for row in rows):
            out.append("<p class='muted'>* suggested by the model; the scene's text does not "
                       "say it</p>")
    shot_rows = [[s.get("number") or i, _first(s, "size", "shot_size", "shot_type"),
                  s.get("angle"), s.get("movement"), _first(s, "support", "camera_support"),
                  _first(s, "lens_mm", "lens"),
                  ", ".join(map(cast.who, names(_first(s, "subjects", "characters")))),
                  _first(s, "estimated_duration_seconds", "duration_seconds"),
                  _first(s, "description", "notes")]
                 for i, s in enumerate(shots(scene), start=1)]
    head = ["#", "Size", "Angle", "Movement", "Support", "Lens", "Subjects", "Sec", "Notes"]
    if any(s.get("warning_kinds") for s in shots(scene)):  # the plan's flags, as data
        head.append("Check")
        for row, shot in zip(shot_rows, shots(scene), strict=True):
            row.append(", ".join(_kind(k) for k in shot.get("warning_kinds") or []))
    if shot_rows:
        out.append("<h4>Shots</h4>" + _table(head, shot_rows))
    out.append("</section>")
    return out


def _stripboard(job: dict[str, Any], cast: Cast) -> list[str]:
    strips = _strips(job)
    if not strips:
        return []
    by_number = {s.get("number"): s for s in scenes(job)}
    found = result(job, "director").get("schedule")
    schedule: dict[str, Any] = found if isinstance(found, dict) else {}
    days = {_first(d, "day", "number"): d for d in schedule.get("days") or []
            if isinstance(d, dict)}
    out = ["<h2>Stripboard</h2><div class='wide'><table><thead><tr><th>Day</th><th>Scene</th>"
           "<th>Heading</th><th>Pages</th><th>Hours</th><th>Cast</th></tr></thead><tbody>"]
    for i, (day, strip) in enumerate(strips):
        number = _first(strip, "scene", "scene_number", "number")
        scene = {**by_number.get(number, {}), **strip}
        css = f"{int_ext(scene).split('/')[0].lower()} {day_night(scene).lower()}"
        people = cast.numbered(_first(strip, "cast") or breakdown(scene).get("cast")
                               or scene.get("characters"))
        label = f"{number} ({strip['part']})" if strip.get("part") else text(number)
        pages = text(strip.get("pages")) or _pages(scene)
        hours = f"{float(strip['hours']):.1f}" if isinstance(strip.get("hours"), int | float) \
            else ""
        out.append(f'<tr class="{escape(css)}"><td>{_e(day)}</td><td>{escape(label)}</td>'
                   f"<td>{escape(heading(scene))}</td><td>{escape(pages)}</td>"
                   f"<td>{escape(hours)}</td><td>{escape(people)}</td></tr>")
        whole = days.get(day)
        if whole is not None and (i + 1 == len(strips) or strips[i + 1][0] != day):
            moves = int(whole.get("company_moves") or 0)
            total = (f"{float(whole['hours']):.1f}"
                     if isinstance(whole.get("hours"), int | float) else "")
            note = f"{moves} company move" + ("" if moves == 1 else "s") if moves else ""
            out.append(f'<tr class="daybreak"><td></td><td></td><td>End of day {_e(day)}</td>'
                       f"<td>{_e(whole.get('pages'))}</td><td>{escape(total)}</td>"
                       f"<td>{escape(note)}</td></tr>")
    out.append("</tbody></table></div>")
    dood = schedule.get("day_out_of_days")
    if isinstance(dood, list) and dood and isinstance(dood[0], dict):
        count = len(dood[0].get("codes") or [])
        out.append("<h2>Day out of days</h2>")
        out.append(_table(["#", "Cast", *(f"Day {n}" for n in range(1, count + 1)), "Work",
                           "Hold"],
                          [[r.get("cast_number"), r.get("name") or r.get("character_id"),
                            *(r.get("codes") or []), r.get("work_days"), r.get("hold_days")]
                           for r in dood if isinstance(r, dict)]))
    if schedule.get("method"):
        out.append(f"<p class='muted'>{_e(schedule['method'])}</p>")
    return out


def _storyboard(job: dict[str, Any], cast: Cast) -> list[str]:
    """The storyboard's prompts per shot; when it warns, the warnings (each with its kind)
    and a "Check" column naming the kinds that concern each shot."""
    board = result(job, "storyboard")
    entries = [s for s in board.get("shots") or [] if isinstance(s, dict)]
    for scene in board.get("scenes") or []:
        if isinstance(scene, dict):
            entries.extend(s for s in scene.get("shots") or [] if isinstance(s, dict))
    if not entries:
        return []
    rows = [[_first(s, "id", "shot_id", "number"),
             ", ".join(map(cast.who, names(s.get("subjects")))),
             _first(s, "image_prompt", "prompt"), s.get("motion_prompt"),
             _first(s, "duration_seconds", "duration")]
            for s in entries]
    head = ["Shot", "In frame", "Image prompt", "Motion prompt", "Sec"]
    if any(s.get("warning_kinds") for s in entries):
        head.append("Check")
        for row, shot in zip(rows, entries, strict=True):
            row.append(", ".join(_kind(k) for k in shot.get("warning_kinds") or []))
    return ["<h2>Storyboard prompts</h2>", *_warnings(board), _table(head, rows)]


def _kind(kind: Any) -> str:
    """A warning kind ("not_in_frame") in words."""
    return str(kind).replace("_", " ")


def _warnings(board: dict[str, Any], title: str = "Check before generating") -> list[str]:
    """A crew's warnings (the storyboard's, the director's plan's), each led by its kind when
    the result gives them as data (``warning_details``, one per warning, same order)."""
    messages = [text(w) for w in board.get("warnings") or []]
    if not messages:
        return []
    details = board.get("warning_details")
    kinds = [d.get("kind") if isinstance(d, dict) else None for d in details] \
        if isinstance(details, list) and len(details) == len(messages) else [None] * len(messages)
    items = "".join(f"<li><b>{_e(_kind(kind))}</b>: {escape(m)}</li>" if kind
                    else f"<li>{escape(m)}</li>" for m, kind in zip(messages, kinds, strict=True))
    return [f"<div class='banner'><b>{escape(title)}</b><ul>{items}</ul></div>"]


def render(job: dict[str, Any]) -> str:
    all_scenes, name = story_scenes(job), escape(title(job))
    body = [f"<h1>{name}</h1>",
            f"<p class='muted'>Production report · job {_e(job.get('id'))} · "
            f"{len(all_scenes)} scenes</p>"]
    stand_in = offline(job)
    if stand_in:
        body.append("<div class='banner'><b>Offline stand-in.</b> This report was made "
                    "without a language model, by plain extraction from the story: a preview "
                    "of the pipeline, not an analysis.</div>")
    cast = Cast(job)
    body += _contents(all_scenes)
    body += _analysis(job)
    body += _warnings(result(job, "director"), "Check in the plan")
    body += _stripboard(job, cast)
    for scene in all_scenes:
        body += _scene(scene, cast, stand_in)
    board = _storyboard(job, cast)
    body += board[:1] + ([STAND_IN] if stand_in and board else []) + board[1:]
    kind = "offline stand-in report" if stand_in else "production report"
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{name}: {kind}</title><style>{CSS}</style></head>"
            "<body>" + "\n".join(body) + "</body></html>\n")
