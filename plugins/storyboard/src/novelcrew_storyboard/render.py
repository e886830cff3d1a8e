"""How a storyboard reads in a terminal (``novelcrew run``, the demo): its readiness for media
generation, the visual bible, then per scene every shot with its prompts and clips. Registered
by the plugin through ``register_renderers`` for the ``storyboard`` crew and any result of the
same shape; imported only when a result is printed (it imports rich).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from novelcrew.display import join, seconds, short
from novelcrew.warnings import kind_label, warning_lines


def is_storyboard(result: Mapping[str, Any]) -> bool:
    scenes = result.get("scenes")
    return isinstance(result.get("bible"), Mapping) and isinstance(scenes, list) and all(
        isinstance(s, Mapping) and isinstance(s.get("shots"), list) for s in scenes
    )


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
            text = join(value) if isinstance(value, list) else str(value or "")
            if text:
                grid.add_row(label, text)
        if grid.row_count:
            parts += [Text("Style guide", style="bold"), grid]
    return parts


#: a warning kind (``StoryboardWarning.kind``) as a shot's line says it
KIND_LABELS = {
    "not_in_frame": "someone named is not in frame",
    "time_of_day_clash": "time of day clash",
    "no_usable_answer": "from the plan's words only",
    "graph_read_failed": "graph not read",
    "graph_write_failed": "graph not written",
    "payload_read_failed": "Payload not read",
}


def _kind(kind: Any) -> str:
    return kind_label(kind, KIND_LABELS)


def _warnings(result: Mapping[str, Any]) -> list[RenderableType]:
    """Each warning with its kind when the result gives it as data (an older one does not)."""
    return [Text(line, style="yellow") for line in warning_lines(result, KIND_LABELS)]


def _clips(shot: Mapping[str, Any]) -> str:
    clips = [c for c in shot.get("clips") or [] if isinstance(c, Mapping)]
    spans = join(f"{float(c.get('start_seconds') or 0):g}-"
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
    people = {str(c.get("id")): str(c.get("name") or c.get("id"))
              for c in (bible.get("characters") or [] if isinstance(bible, Mapping) else [])
              if isinstance(c, Mapping) and c.get("id")}
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
            movement = join(dict.fromkeys([shot.get("movement"), shot.get("support")]), " / ")
            head = Text(f"  {shot.get('id') or shot.get('number', '')}  ", style="bold")
            head.append(join([shot.get("size"), shot.get("angle"), movement, lens], " · "))
            duration = shot.get("duration_seconds")
            head.append(f"   {duration:g}s" if isinstance(duration, int | float)
                        else f"   {duration or ''}", style="bold")
            if shot.get("subjects"):
                names = (people.get(str(s), str(s)) for s in shot["subjects"])
                head.append(f"   in frame: {join(names)}", style="dim")
            flags = [k for k in shot.get("warning_kinds") or [] if k]
            if flags:  # what to look at before generating this shot (the warnings say why)
                head.append(f"   check: {join(_kind(k) for k in flags)}", style="bold yellow")
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
    parts += _warnings(result)
    totals = result.get("totals")
    if isinstance(totals, Mapping):
        clip = result.get("clip_seconds")
        parts.append(Text(
            f"{totals.get('scenes', '?')} scenes · {totals.get('shots', '?')} shots · "
            f"{totals.get('clips', '?')} clips"
            + (f" of at most {float(clip):g}s" if isinstance(clip, int | float) else "")
            + f" · {seconds(totals.get('seconds'))} on screen", style="bold"))
    if result.get("offline") is True:  # said again at the end, where a long board is read
        parts.append(Text("offline stand-in storyboard: not for media generation",
                          style="bold yellow"))
    return Group(*parts)
