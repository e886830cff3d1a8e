"""How a story analysis reads in a terminal (``novelcrew run``, the demo): title, logline,
themes, then characters, locations and scenes as tables. Registered by the plugin through
``register_renderers`` for the ``architect`` crew and any result of the same shape; imported
only when a result is printed (it imports rich).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
        parts.append(_Scenes(scenes))
    stats = result.get("statistics")
    if isinstance(stats, Mapping):
        parts.append(Text(
            f"{stats.get('words', '?')} words in {stats.get('chunks', '?')} chunk(s), "
            f"{stats.get('model_calls', '?')} model calls", style="dim"))
    return Group(*parts)


class _Adaptive:
    """A table where the terminal is wide enough (``TABLE_MIN_WIDTH``), else one block per
    row: a heading line, then its other cells as indented lines."""

    title = ""

    def table(self) -> Table:
        raise NotImplementedError

    def blocks(self) -> Iterable[tuple[Text, list[Text]]]:
        raise NotImplementedError

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= TABLE_MIN_WIDTH:
            yield self.table()
            return
        yield Text(self.title, style="italic")
        for head, lines in self.blocks():
            yield head
            for line in lines:
                yield Padding(line, (0, 0, 0, 2))


class _Characters(_Adaptive):
    """The cast: name and role, then who, arc and relationships."""

    def __init__(self, characters: list[Any]) -> None:
        people = [c for c in characters if isinstance(c, Mapping)]
        self.title = f"Characters ({len(people)})"
        self.rows = [(str(c.get("name", "")), str(c.get("role", "")),
                      short(c.get("description")), short(c.get("arc")),
                      short(_relationships(c))) for c in people]

    def table(self) -> Table:
        table = Table(title=self.title, title_justify="left", show_lines=False, expand=True)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("role")
        table.add_column("who", ratio=2)
        table.add_column("arc", ratio=2)
        table.add_column("relationships", ratio=1)
        for row in self.rows:
            table.add_row(*row)
        return table

    def blocks(self) -> Iterable[tuple[Text, list[Text]]]:
        for name, role, who, arc, rels in self.rows:
            head = Text.assemble((name, "bold"), (f"  {role}" if role else "", "dim"))
            yield head, [Text.assemble((label, "dim"), value) for label, value in
                         (("", who), ("arc: ", arc), ("relationships: ", rels)) if value]


class _Scenes(_Adaptive):
    """The scenes: number, where and when, and beat; then who, what happens and a line."""

    def __init__(self, scenes: list[Any]) -> None:
        found = [s for s in scenes if isinstance(s, Mapping)]
        self.title = f"Scenes ({len(found)})"
        self.rows = [(str(s.get("number", "")),
                      join([s.get("int_ext"), s.get("location"),
                            s.get("day_night") or s.get("time_of_day")], " · "),
                      join(s.get("characters")), short(s.get("summary"), 240), _first_line(s),
                      str(s.get("emotional_beat") or "")) for s in found]

    def table(self) -> Table:
        table = Table(title=self.title, title_justify="left", expand=True)
        table.add_column("#", justify="right")
        table.add_column("where / when", ratio=1)
        table.add_column("who", ratio=1)
        table.add_column("what happens", ratio=3)
        table.add_column("beat", ratio=1)
        for number, where, who, what, line, beat in self.rows:
            cell = Text(what)
            if line:
                cell.append(f"\n{line}", style="italic dim")
            table.add_row(number, where, who, cell, beat)
        return table

    def blocks(self) -> Iterable[tuple[Text, list[Text]]]:
        for number, where, who, what, line, beat in self.rows:
            head = Text.assemble((f"{number}. {where}", "bold"), (f"  {beat}" if beat else "",
                                                                  "dim"))
            yield head, [Text(x, style=style) for x, style in
                         ((who, "dim"), (what, ""), (line, "italic dim")) if x]


def _first_line(scene: Mapping[str, Any]) -> str:
    """The scene's first line of dialogue as a script reads it: 'Clare: “Tuck!”', its
    prose comma before a tag made a full stop."""
    for item in (scene.get("dialogue") or [])[:1]:
        speaker, line = ((item.get("speaker"), item.get("line", "")) if isinstance(item, Mapping)
                         else (None, item))
        line = str(line or "").strip().strip('"\u201c\u201d').strip()
        if line.endswith(","):
            line = line[:-1] + "."
        if line:
            return f"{speaker}: \u201c{line}\u201d" if speaker else f"\u201c{line}\u201d"
    return ""


def _relationships(character: Mapping[str, Any]) -> str:
    return join(f"{r.get('kind', '')} of {r.get('to', '')}"
                for r in character.get("relationships") or [] if isinstance(r, Mapping))
