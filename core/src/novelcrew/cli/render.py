"""Readable terminal rendering of a job and its results (``novelcrew run``, the demo client).

Results are recognised by shape, not by crew name, so any crew whose output looks like a story
analysis (title, characters, scenes), a scene plan (scenes with shots, totals) or a storyboard
(a visual bible, scenes with prompted shots) reads well; anything else is shown as pretty JSON.
Works on a ``Job`` or on the API's JSON for one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.json import JSON
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from novelcrew.jobs import Job, JobStatus

STATUS_STYLE = {
    JobStatus.queued: "yellow",
    JobStatus.running: "cyan",
    JobStatus.succeeded: "bold green",
    JobStatus.failed: "bold red",
    JobStatus.cancelled: "magenta",
}


def as_job(job: Job | Mapping[str, Any]) -> Job:
    return job if isinstance(job, Job) else Job.model_validate(dict(job))


def render_job(job: Job | Mapping[str, Any], console: Console | None = None) -> None:
    """Print a job's header, its error if any, then each crew's result."""
    console = console or Console()
    job = as_job(job)
    console.print(job_header(job))
    if job.error is not None:
        console.print(error_panel(job))
    for crew in job.crews:
        if crew in job.result:
            console.print(Rule(f"[bold]{crew}[/bold]"))
            console.print(render_result(job.result[crew]))


def job_header(job: Job) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    style = STATUS_STYLE.get(job.status, "")
    grid.add_row("job", job.id)
    grid.add_row("crews", " → ".join(job.crews))
    grid.add_row("status", Text(job.status.value, style=style))
    if job.project_id:
        grid.add_row("project", job.project_id)
    if job.duration_seconds is not None:
        grid.add_row("took", f"{job.duration_seconds:.1f}s"
                     + (f" ({job.attempts} attempts)" if job.attempts > 1 else ""))
    if job.usage:
        grid.add_row("models", usage_line(job))
    return grid


def usage_line(job: Job) -> str:
    parts = []
    for model, usage in job.usage.items():
        tokens = usage.prompt_tokens + usage.completion_tokens
        part = f"{model}: {usage.calls} calls, {tokens} tokens"
        if usage.cost:
            part += f", ${usage.cost:.4f}"
        if usage.cached_calls:
            part += f" (+{usage.cached_calls} reused"
            part += f", ${usage.saved_cost:.4f} saved)" if usage.saved_cost else ")"
        parts.append(part)
    return "; ".join(parts)


def error_line(job: Job) -> str:
    """The error in one line (``run --json``: stdout holds the record, stderr says this):
    its type, crew, message and each invalid field."""
    error = job.error
    assert error is not None
    line = f"{error.type}" + (f" in crew {error.crew}" if error.crew else "") + \
        f": {error.message}"
    fields = []
    for item in error.details.get("errors", [])[:20]:
        if isinstance(item, Mapping):
            loc = ".".join(str(p) for p in item.get("loc", ()))
            fields.append(f"{loc + ': ' if loc else ''}{item.get('msg', '')}")
    return line + (f" ({'; '.join(fields)})" if fields else "")


def error_panel(job: Job) -> Panel:
    error = job.error
    assert error is not None
    body = Text()
    body.append(f"{error.type}", style="bold red")
    if error.crew:
        body.append(f" in crew {error.crew}", style="red")
    body.append(f"\n{error.message}")
    for item in error.details.get("errors", [])[:20]:
        if isinstance(item, Mapping):
            loc = ".".join(str(p) for p in item.get("loc", ()))
            body.append(f"\n  • {loc + ': ' if loc else ''}{item.get('msg', '')}")
    # scalars read as lines; nested details (a model error's attempts repeat its message
    # reason by reason) stay in the JSON record, named so they can be found
    nested = []
    for key, value in error.details.items():
        if key == "errors":
            continue
        if isinstance(value, Mapping | list | tuple):
            nested.append(str(key))
        elif value is not None and str(value) not in error.message:
            body.append(f"\n{key}: {short(value, 200)}", style="dim")
    if nested:
        body.append(f"\n(the JSON record's error.details also has: {', '.join(nested)})",
                    style="dim")
    return Panel(body, title="error", border_style="red", expand=False)


# results ------------------------------------------------------------------------------------
def render_result(result: Any) -> RenderableType:
    if isinstance(result, Mapping):
        if is_storyboard(result):  # before the plan: a storyboard has scenes, shots, totals too
            return storyboard(result)
        if is_scene_plan(result):
            return scene_plan(result)
        if is_analysis(result):
            return analysis(result)
    return JSON(json.dumps(result, default=str))


def is_analysis(result: Mapping[str, Any]) -> bool:
    return "title" in result and isinstance(result.get("scenes"), list) and (
        "characters" in result or "logline" in result
    )


def is_storyboard(result: Mapping[str, Any]) -> bool:
    scenes = result.get("scenes")
    return isinstance(result.get("bible"), Mapping) and isinstance(scenes, list) and all(
        isinstance(s, Mapping) and isinstance(s.get("shots"), list) for s in scenes
    )


def is_scene_plan(result: Mapping[str, Any]) -> bool:
    scenes = result.get("scenes")
    return isinstance(result.get("totals"), Mapping) and isinstance(scenes, list) and all(
        isinstance(s, Mapping) and "shots" in s for s in scenes
    )


#: longest text shown in a table cell; ``--json`` has everything
CELL_CHARS = 160


def short(value: Any, limit: int = CELL_CHARS) -> str:
    """``value`` as text, cut at a word boundary to ``limit`` characters."""
    text = " ".join(str(value or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(",;:.") + "…"


def _join(items: Iterable[Any] | None, sep: str = ", ") -> str:
    return sep.join(str(i) for i in items or [] if i not in (None, ""))


def _model_note(result: Mapping[str, Any]) -> Text | None:
    model = result.get("model")
    if not isinstance(model, Mapping):
        return None
    note = model.get("note")
    if model.get("offline"):
        return Text(note or "made by the offline stand-in model: it extracts, it does not "
                    "understand the story", style="yellow")
    return Text(note, style="dim") if note else None


def analysis(result: Mapping[str, Any]) -> RenderableType:
    """A story analysis: title, logline, themes, characters, locations, scenes."""
    parts: list[RenderableType] = []
    title = Text(str(result.get("title") or "Untitled"), style="bold")
    if result.get("genre") or result.get("tone"):
        title.append(f"   {_join([result.get('genre'), result.get('tone')], ' · ')}",
                     style="dim")
    parts.append(title)
    if result.get("logline"):
        parts.append(Text(str(result["logline"]), style="italic"))
    if result.get("themes"):
        parts.append(Text.assemble(("Themes: ", "bold"), _join(result["themes"])))
    note = _model_note(result)
    if note is not None:
        parts.append(note)

    characters = result.get("characters") or []
    if characters:
        table = Table(title=f"Characters ({len(characters)})", title_justify="left",
                      show_lines=False, expand=True)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("role")
        table.add_column("who", ratio=2)
        table.add_column("arc", ratio=2)
        table.add_column("relationships", ratio=1)
        for c in characters:
            rels = _join(f"{r.get('kind', '')} of {r.get('to', '')}"
                         for r in c.get("relationships") or [] if isinstance(r, Mapping))
            table.add_row(str(c.get("name", "")), str(c.get("role", "")),
                          short(c.get("description")), short(c.get("arc")), short(rels))
        parts.append(table)

    locations = result.get("locations") or []
    if locations:
        table = Table(title=f"Locations ({len(locations)})", title_justify="left", expand=True)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("description", ratio=2)
        table.add_column("atmosphere", ratio=1)
        for loc in locations:
            table.add_row(str(loc.get("name", "")), short(loc.get("description")),
                          short(loc.get("atmosphere")))
        parts.append(table)

    scenes = result.get("scenes") or []
    if scenes:
        table = Table(title=f"Scenes ({len(scenes)})", title_justify="left", expand=True)
        table.add_column("#", justify="right")
        table.add_column("where / when", ratio=1)
        table.add_column("who", ratio=1)
        table.add_column("what happens", ratio=3)
        table.add_column("beat", ratio=1)
        for s in scenes:
            where = _join([s.get("int_ext"), s.get("location"),
                           s.get("day_night") or s.get("time_of_day")], " · ")
            what = Text(short(s.get("summary"), 240))
            for line in (s.get("dialogue") or [])[:1]:
                if isinstance(line, Mapping):  # {speaker, line}
                    who = f"{line.get('speaker')}: " if line.get("speaker") else ""
                    line = f"{who}{line.get('line', '')}"
                what.append(f"\n“{str(line).strip(chr(34))}”", style="italic dim")
            table.add_row(str(s.get("number", "")), where, _join(s.get("characters")), what,
                          str(s.get("emotional_beat", "")))
        parts.append(table)
    stats = result.get("statistics")
    if isinstance(stats, Mapping):
        parts.append(Text(
            f"{stats.get('words', '?')} words in {stats.get('chunks', '?')} chunk(s), "
            f"{stats.get('model_calls', '?')} model calls", style="dim"))
    return Group(*parts)


def _seconds(value: Any) -> str:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return str(value or "")
    return f"{seconds:.0f}s" if seconds < 90 else f"{seconds / 60:.1f} min"


#: breakdown categories in a first AD's order, with the labels a sheet prints
BREAKDOWN_LABELS = (
    ("background", "extras"), ("props", "props"), ("set_dressing", "set dressing"),
    ("wardrobe", "wardrobe"), ("makeup_hair", "makeup/hair"), ("vehicles", "vehicles"),
    ("animals", "animals"), ("special_effects", "SFX"), ("visual_effects", "VFX"),
    ("stunts", "stunts"), ("sound_music", "sound/music"),
    ("special_equipment", "special equipment"),
)


def _item(entry: Any) -> str:
    """A breakdown item: ``rope``, ``nora: oilskins``; a model's suggestion ends with ``*``."""
    if not isinstance(entry, Mapping):
        return str(entry)
    text = str(entry.get("item", ""))
    if entry.get("character"):
        text = f"{entry['character']}: {text}"
    return text + ("*" if entry.get("suggested") else "")


def breakdown_sheet(scene: Mapping[str, Any]) -> Table | None:
    """The scene's breakdown sheet: one row per category that has anything."""
    sheet = scene.get("breakdown")
    if not isinstance(sheet, Mapping):
        return None
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    if sheet.get("cast"):
        grid.add_row("cast", _join(sheet["cast"]))
    for key, label in BREAKDOWN_LABELS:
        if sheet.get(key):
            grid.add_row(label, _join(_item(e) for e in sheet[key]))
    for note in sheet.get("continuity") or []:
        grid.add_row("continuity", str(note))
    return grid if grid.row_count else None


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


def _shot_cells(shot: Mapping[str, Any]) -> list[str]:
    size = shot.get("size") or shot.get("shot_type") or ""
    lens = shot.get("lens_mm")
    lens_text = f"{lens}mm" if lens else str(shot.get("lens", ""))
    movement = str(shot.get("movement", ""))
    if shot.get("support"):
        movement += f" / {shot['support']}"
    return [str(shot.get("number", "")), str(size), str(shot.get("angle", "")), movement,
            lens_text, str(shot.get("coverage", "")), _join(shot.get("subjects")),
            _seconds(shot.get("estimated_duration_seconds"))]


def scene_plan(result: Mapping[str, Any]) -> RenderableType:
    """A scene plan: per scene its heading, breakdown sheet and shots; the stripboard, the
    day-out-of-days table, then production totals."""
    parts: list[RenderableType] = []
    if result.get("title"):
        parts.append(Text(f"Scene plan: {result['title']}", style="bold"))
    note = _model_note(result)
    if note is not None:
        parts.append(note)
    all_notes = {str(shot.get("notes", "")) for scene in result.get("scenes") or []
                 for shot in scene.get("shots") or []}
    shared_note = all_notes.pop() if len(all_notes) == 1 else None
    if shared_note:
        parts.append(Text(f"every shot: {shared_note}", style="dim"))
    suggested = False
    for scene in result.get("scenes") or []:
        parts.append(_scene_title(scene))
        if scene.get("summary"):
            parts.append(Text(str(scene["summary"])))
        look = _join([scene.get("mood"), scene.get("lighting"), _join(scene.get("palette"))],
                     " · ")
        if look:
            parts.append(Text(f"look: {look}", style="dim"))
        sheet = breakdown_sheet(scene)
        if sheet is not None:
            parts.append(sheet)
            suggested = suggested or any(
                isinstance(e, Mapping) and e.get("suggested")
                for key, _ in BREAKDOWN_LABELS for e in scene["breakdown"].get(key) or [])
        elif scene.get("characters"):
            parts.append(Text(f"cast: {_join(scene['characters'])}", style="dim"))
        table = Table(expand=True, show_edge=False, pad_edge=False)
        columns = [("#", None), ("size", None), ("angle", 1), ("movement / support", 2),
                   ("lens", None), ("coverage", 1), ("subjects", 1), ("time", None)]
        if shared_note is None:
            columns.append(("notes", 3))
        for col, ratio in columns:
            table.add_column(col, ratio=ratio, justify="right" if col in ("#", "time") else "left")
        for shot in scene.get("shots") or []:
            row = _shot_cells(shot)
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
    for warning in result.get("warnings") or []:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    schedule = result.get("schedule")
    if isinstance(schedule, Mapping) and schedule.get("days"):
        parts += [stripboard(schedule), day_out_of_days(schedule)]
    totals = result.get("totals") or {}
    if totals:
        parts.append(totals_grid(totals))
    return Group(*parts)


def stripboard(schedule: Mapping[str, Any]) -> Table:
    """The stripboard: one row per strip, grouped into shooting days."""
    table = Table(title="Stripboard", title_justify="left", expand=True)
    for col, ratio in (("day", 1), ("scene", None), ("I/E", None), ("D/N", None),
                       ("location", 2), ("pages", None), ("hours", None), ("cast", 2)):
        table.add_column(col, ratio=ratio,
                         justify="right" if col in ("scene", "pages", "hours") else "left")
    for day in schedule.get("days") or []:
        moves = day.get("company_moves") or 0
        label = (f"Day {day.get('day')}\n{day.get('work')} · {day.get('pages')} pg\n"
                 f"{float(day.get('hours') or 0):.1f} h" + (f" · {moves} move(s)" if moves
                                                             else ""))
        strips = day.get("strips") or []
        for i, strip in enumerate(strips):
            scene = str(strip.get("scene", ""))
            if strip.get("part"):
                scene += f" ({strip['part']})"
            table.add_row(label if i == 0 else "", scene,
                          str(strip.get("int_ext") or ""), str(strip.get("day_night") or ""),
                          str(strip.get("location", "")), str(strip.get("pages", "")),
                          f"{float(strip.get('hours') or 0):.1f}", _join(strip.get("cast")),
                          end_section=i == len(strips) - 1)
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
    grid.add_row("screen time", _seconds(totals.get("estimated_screen_time_seconds")))
    days_value = totals.get("shooting_days", totals.get("estimated_shooting_days"))
    if days_value is not None:
        days = f"{days_value} days"
        if totals.get("estimated_shooting_hours") is not None:
            days += f" ({totals['estimated_shooting_hours']} h)"
        if totals.get("company_moves"):
            days += f", {totals['company_moves']} company move(s)"
        if totals.get("shooting_days_available"):
            fits = "fits" if totals.get("fits_schedule") else "does NOT fit"
            days += f"; {fits} {totals['shooting_days_available']} available"
        grid.add_row("shooting", days)
    sizes = totals.get("shot_sizes") or totals.get("shot_types")
    if sizes:
        grid.add_row("shot sizes", _join(f"{k} {v}" for k, v in sizes.items()))
    for key in ("locations", "equipment", "crew"):
        if totals.get(key):
            grid.add_row(key, _join(totals[key]))
    if totals.get("method"):
        grid.add_row("how", Text(str(totals["method"]), style="dim"))
    return grid


def _storyboard_flag(result: Mapping[str, Any]) -> RenderableType:
    """Whether a storyboard may go to media generation; the offline stand-in's, loudly not."""
    model = result.get("model")
    offline = result.get("offline") is True or (
        isinstance(model, Mapping) and model.get("offline") is True)
    if offline:
        body = Text("OFFLINE STAND-IN: not a real storyboard, not ready for media generation",
                    style="bold yellow")
        note = result.get("note") or (model.get("note") if isinstance(model, Mapping) else None)
        if note:
            body.append(f"\n{note}", style="yellow")
        return Panel(body, border_style="yellow", expand=False)
    if result.get("ready_for_media_generation") is True:
        return Text("ready for media generation", style="bold green")
    return Text("not ready for media generation", style="bold red")


def _bible(bible: Mapping[str, Any]) -> list[RenderableType]:
    """The visual bible: the fixed wording of every character and location, and the style."""
    parts: list[RenderableType] = []
    characters = [c for c in bible.get("characters") or [] if isinstance(c, Mapping)]
    if characters:
        table = Table(title=f"Characters ({len(characters)}): the words every prompt uses",
                      title_justify="left", expand=True)
        table.add_column("id", style="bold", no_wrap=True)
        table.add_column("look in every prompt", ratio=3)
        table.add_column("voice", ratio=1)
        for c in characters:
            voice = c.get("voice")
            table.add_row(str(c.get("id", "")), str(c.get("phrase", "")),
                          short(voice.get("value") if isinstance(voice, Mapping) else voice))
        parts.append(table)
    locations = [loc for loc in bible.get("locations") or [] if isinstance(loc, Mapping)]
    if locations:
        table = Table(title=f"Locations ({len(locations)})", title_justify="left", expand=True)
        table.add_column("id", style="bold", no_wrap=True)
        table.add_column("look in every prompt", ratio=3)
        for loc in locations:
            table.add_row(str(loc.get("id", "")), short(loc.get("phrase"), 400))
        parts.append(table)
    style = bible.get("style")
    if isinstance(style, Mapping):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        for key, label in (("aspect_ratio", "aspect ratio"), ("era", "era"),
                           ("palette", "palette"), ("lighting_style", "lighting"),
                           ("film_look", "film look"), ("fragments", "every prompt ends")):
            value = style.get(key)
            text = _join(value) if isinstance(value, list) else str(value or "")
            if text:
                grid.add_row(label, text)
        if grid.row_count:
            parts += [Text("Style guide", style="bold"), grid]
    return parts


def _clips(shot: Mapping[str, Any]) -> str:
    clips = [c for c in shot.get("clips") or [] if isinstance(c, Mapping)]
    spans = _join(f"{float(c.get('start_seconds') or 0):g}-"
                  f"{float(c.get('start_seconds') or 0) + float(c.get('duration_seconds') or 0):g}s"
                  for c in clips)
    count = f"{len(clips)} clip" + ("" if len(clips) == 1 else "s")
    seed = f", seed {shot['seed_hint']}" if shot.get("seed_hint") is not None else ""
    return f"{count}: {spans}{seed}" if clips else ""


def storyboard(result: Mapping[str, Any]) -> RenderableType:
    """A storyboard: its readiness, the visual bible, then per scene each shot with its size,
    subjects, duration and clips, and its image and motion prompts in full."""
    parts: list[RenderableType] = []
    if result.get("title"):
        parts.append(Text(f"Storyboard: {result['title']}", style="bold"))
    parts.append(_storyboard_flag(result))
    bible = result.get("bible")
    if isinstance(bible, Mapping):
        parts += _bible(bible)
    scenes = [s for s in result.get("scenes") or [] if isinstance(s, Mapping)]
    negatives = {str(shot.get("negative_prompt") or "") for scene in scenes
                 for shot in scene.get("shots") or []}
    shared_negative = negatives.pop() if len(negatives) == 1 else None
    if shared_negative:
        parts.append(Text(f"negative prompt of every shot: {shared_negative}", style="dim"))
    for scene in scenes:
        title = Text(f"Scene {scene.get('number', '')}. {scene.get('heading', '')}",
                     style="bold cyan")
        if scene.get("story_day"):
            title.append(f"   story day {scene['story_day']}", style="dim")
        parts.append(title)
        for shot in scene.get("shots") or []:
            lens = f"{shot['lens_mm']:g}mm" if isinstance(shot.get("lens_mm"), int | float) \
                else ""
            movement = _join(dict.fromkeys([shot.get("movement"), shot.get("support")]), " / ")
            head = Text(f"  {shot.get('id') or shot.get('number', '')}  ", style="bold")
            head.append(_join([shot.get("size"), shot.get("angle"), movement, lens], " · "))
            seconds = shot.get("duration_seconds")
            head.append(f"   {seconds:g}s" if isinstance(seconds, int | float)
                        else f"   {seconds or ''}", style="bold")
            if shot.get("subjects"):
                head.append(f"   in frame: {_join(shot['subjects'])}", style="dim")
            parts.append(head)
            grid = Table.grid(padding=(0, 1))
            grid.add_column(style="dim", no_wrap=True, min_width=10, justify="right")
            grid.add_column()
            grid.add_row("image", str(shot.get("image_prompt", "")))
            grid.add_row("motion", str(shot.get("motion_prompt", "")))
            if shared_negative is None and shot.get("negative_prompt"):
                grid.add_row("negative", str(shot["negative_prompt"]))
            clips = _clips(shot)
            if clips:
                grid.add_row("clips", clips)
            parts.append(grid)
        parts.append(Text(""))
    for warning in result.get("warnings") or []:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    totals = result.get("totals")
    if isinstance(totals, Mapping):
        clip = result.get("clip_seconds")
        parts.append(Text(
            f"{totals.get('scenes', '?')} scenes · {totals.get('shots', '?')} shots · "
            f"{totals.get('clips', '?')} clips"
            + (f" of at most {float(clip):g}s" if isinstance(clip, int | float) else "")
            + f" · {_seconds(totals.get('seconds'))} on screen", style="bold"))
    if result.get("offline") is True:  # said again at the end, where a long board is read
        parts.append(Text("offline stand-in storyboard: not for media generation",
                          style="bold yellow"))
    return Group(*parts)


# live progress -----------------------------------------------------------------------------
class JobProgress:
    """A live progress bar fed with a job's events (from a store or an SSE stream): tasks done
    of total, current crew and task, elapsed time, model calls; notable events as lines."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.fields[crew]}[/]"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[calls]} model calls"),
            TextColumn("{task.fields[pieces]}"),
            TextColumn("[dim]{task.description}[/]"),
            console=self.console,
        )
        self.bar = self.progress.add_task("queued", total=None, crew="", calls=0, pieces="")
        self.calls = 0
        self.last_seq = 0

    def __enter__(self) -> JobProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def feed(self, event: Any) -> None:
        """Take one event (a ``JobEvent`` or its JSON as a dict)."""
        get = event.get if isinstance(event, Mapping) else (lambda k: getattr(event, k, None))
        kind, data = get("type"), get("data") or {}
        self.last_seq = get("seq") or self.last_seq
        fields: dict[str, Any] = {}
        if kind == "llm_call":
            self.calls += 1
            fields["calls"] = self.calls
        elif kind == "progress":
            total = data.get("total_tasks") or None
            fields.update(completed=data.get("completed_tasks", 0), total=total,
                          crew=data.get("current_crew") or "",
                          description=str(data.get("current_task") or "")[:60])
        elif kind == "crew_started":
            fields.update(crew=get("crew") or "", description="", pieces="")
        elif kind == "partial":
            fields["pieces"] = pieces_label(data)
        elif kind in ("succeeded", "failed", "cancelled"):
            fields["description"] = kind
        if fields:
            self.progress.update(self.bar, **fields)
        line = describe_event(str(kind), get("crew"), get("message") or "", data)
        if line:
            self.progress.console.print(line)

    def usage_calls(self, calls: int) -> None:
        """Correct the call count from the job's usage (which also counts calls that emitted
        no event)."""
        if calls > self.calls:
            self.calls = calls
            self.progress.update(self.bar, calls=calls)


def pieces_label(data: Mapping[str, Any]) -> str:
    """``scenes 3/40`` from a ``partial`` event: the crew's progress by scene (or chunk)."""
    total = data.get("total")
    return f"{data.get('kind', 'piece')}s {data.get('done', 0)}" + (f"/{total}" if total else "")


def describe_event(kind: str, crew: str | None, message: str,
                   data: Mapping[str, Any]) -> str | None:
    """One line for the events worth a line of their own (the rest move the bar)."""
    if kind == "crew_started":
        return f"[cyan]▶ {crew}[/] started"
    if kind == "crew_finished":
        seconds = data.get("seconds")
        took = f" in {seconds:.1f}s" if isinstance(seconds, int | float) else ""
        return f"[green]✔ {crew}[/] finished{took}"
    if kind == "partial":
        return f"[green]·[/] {crew} {data.get('kind', 'piece')} {data.get('key', '')} " \
            f"ready ({pieces_label(data)})"
    if kind in ("warning", "retrying"):
        return f"[yellow]! {kind}:[/] {message}"
    if kind == "failed":  # the error itself is shown once, after the progress (``render_job``)
        return f"[bold red]✘ failed[/]{f' in {crew}' if crew else ''}"
    if kind == "cancelled":
        return "[magenta]■ cancelled[/]"
    if kind == "succeeded":
        return "[bold green]✔ job succeeded[/]"
    return None
