"""How a story analysis reads in a terminal (``novelcrew run``, the demo): title, logline,
themes, then characters, locations and scenes as tables. Registered by the plugin through
``register_renderers`` for the ``architect`` crew and any result of the same shape; imported
only when a result is printed (it imports rich).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from novelcrew.display import join, model_note, short

#: narrower than this, five columns of prose break every few words: one block per character
TABLE_MIN_WIDTH = 120


def is_analysis(result: Mapping[str, Any]) -> bool:
    """A title, scenes, and characters or a logline; not a scene plan or storyboard (scenes
    with production totals or a visual bible: the director and storyboard plugins render
    those)."""
    return "title" in result and isinstance(result.get("scenes"), list) and (
        "characters" in result or "logline" in result
    ) and not any(isinstance(result.get(key), Mapping) for key in ("totals", "bible"))


def analysis(result: Mapping[str, Any]) -> RenderableType:
    """A story analysis: title, logline, themes, characters, locations, scenes."""
    parts: list[RenderableType] = []
    title = Text(str(result.get("title") or "Untitled"), style="bold")
    if result.get("genre") or result.get("tone"):
        title.append(f"   {join([result.get('genre'), result.get('tone')], ' · ')}",
                     style="dim")
    parts.append(title)
    if result.get("logline"):
        parts.append(Text(str(result["logline"]), style="italic"))
    if result.get("themes"):
        parts.append(Text.assemble(("Themes: ", "bold"), join(result["themes"])))
    note = model_note(result)
    if note is not None:
        parts.append(note)

    characters = result.get("characters") or []
    if characters:
        parts.append(_Characters(characters))

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
            where = join([s.get("int_ext"), s.get("location"),
                           s.get("day_night") or s.get("time_of_day")], " · ")
            what = Text(short(s.get("summary"), 240))
            for line in (s.get("dialogue") or [])[:1]:
                if isinstance(line, Mapping):  # {speaker, line}
                    who = f"{line.get('speaker')}: " if line.get("speaker") else ""
                    line = f"{who}{line.get('line', '')}"
                what.append(f"\n“{str(line).strip(chr(34))}”", style="italic dim")
            table.add_row(str(s.get("number", "")), where, join(s.get("characters")), what,
                          str(s.get("emotional_beat", "")))
        parts.append(table)
    stats = result.get("statistics")
    if isinstance(stats, Mapping):
        parts.append(Text(
            f"{stats.get('words', '?')} words in {stats.get('chunks', '?')} chunk(s), "
            f"{stats.get('model_calls', '?')} model calls", style="dim"))
    return Group(*parts)


class _Characters:
    """The cast as a table where the terminal is wide enough, else one block per character
    (name and role, then who, arc and relationships as indented lines)."""

    def __init__(self, characters: list[Any]) -> None:
        self.characters = [c for c in characters if isinstance(c, Mapping)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        title = f"Characters ({len(self.characters)})"
        rows = [(str(c.get("name", "")), str(c.get("role", "")), short(c.get("description")),
                 short(c.get("arc")), short(_relationships(c))) for c in self.characters]
        if options.max_width >= TABLE_MIN_WIDTH:
            table = Table(title=title, title_justify="left", show_lines=False, expand=True)
            table.add_column("name", style="bold", no_wrap=True)
            table.add_column("role")
            table.add_column("who", ratio=2)
            table.add_column("arc", ratio=2)
            table.add_column("relationships", ratio=1)
            for row in rows:
                table.add_row(*row)
            yield table
            return
        yield Text(title, style="italic")
        for name, role, who, arc, rels in rows:
            yield Text.assemble((name, "bold"), (f"  {role}" if role else "", "dim"))
            for label, value in (("", who), ("arc: ", arc), ("relationships: ", rels)):
                if value:
                    line = Text.assemble((label, "dim"), value)
                    yield Padding(line, (0, 0, 0, 2))


def _relationships(character: Mapping[str, Any]) -> str:
    return join(f"{r.get('kind', '')} of {r.get('to', '')}"
                for r in character.get("relationships") or [] if isinstance(r, Mapping))
