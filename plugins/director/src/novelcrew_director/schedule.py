"""The shooting schedule, computed: stripboard, shooting days, day-out-of-days, company moves.

Nothing here asks a model. The input is one strip per planned scene (its location, INT/EXT,
DAY/NIGHT, page eighths, cast ids and the camera hours its shot list needs, see ``totals.py``):

1. **Group**: day work (DAY, DAWN, DUSK) comes before night work (a unit that goes nocturnal
   stays nocturnal); within each, strips at the same location are shot together (locations in
   order of first appearance in the story), then by INT/EXT + DAY/NIGHT group in order of
   first appearance, then scenes in story order.
2. **Pack** the ordered strips into shooting days, first fit in order: a day closes when the
   next strip would take it over the page budget (``pages_per_day``, default 5 pages) or the
   hour budget (``hours_per_day``, default 10 camera hours, a company move costing 0.75 h), or
   when it would mix day and night work (a night shoot needs its own day for turnaround). A
   strip bigger than a whole day is split over as many days as it needs (``part`` 1/2, 2/2).
3. **Company moves**: each change of location within a shooting day (moving between days
   happens overnight and is not counted).
4. **Day out of days** per cast member (by character id; cast numbers by scene count, then
   first appearance): ``SW`` start work, ``W`` work, ``H`` hold (paid, not working, between
   start and finish), ``WF`` work finish, ``SWF`` a single day; blank before start and after
   finish.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel, Field

from novelcrew_director.pages import EIGHTHS, format_eighths

DEFAULT_PAGES_PER_DAY = 5.0
DEFAULT_HOURS_PER_DAY = 10.0
COMPANY_MOVE_HOURS = 0.75
_NIGHT = "NIGHT"


class Strip(BaseModel):
    """One scene's strip on the board (or part of one, when a scene needs several days)."""

    scene: int
    heading: str = ""
    location: str = ""
    int_ext: str | None = None
    day_night: str | None = None
    story_day: int | None = None
    eighths: int = Field(1, ge=0)
    pages: str = ""
    hours: float = Field(0.0, ge=0)
    cast: list[str] = Field(default_factory=list, description="Character ids.")
    part: str | None = Field(None, description="'1/2', '2/2' when a scene spans days.")


class ShootingDay(BaseModel):
    day: int
    work: str = Field(description="'day' or 'night' work.")
    strips: list[Strip]
    eighths: int
    pages: str
    hours: float
    locations: list[str]
    company_moves: int
    cast: list[str]


class CastDays(BaseModel):
    """One row of the day-out-of-days table."""

    cast_number: int
    character_id: str
    name: str
    codes: list[str] = Field(description="One code per shooting day: SW, W, H, WF, SWF or ''.")
    start_day: int
    finish_day: int
    work_days: int
    hold_days: int


class Schedule(BaseModel):
    """A stripboard ordered into shooting days, with a day-out-of-days table."""

    days: list[ShootingDay] = Field(default_factory=list)
    day_out_of_days: list[CastDays] = Field(default_factory=list)
    shooting_days: int = 0
    company_moves: int = 0
    total_eighths: int = 0
    total_pages: str = "0"
    total_hours: float = 0.0
    pages_per_day: float = DEFAULT_PAGES_PER_DAY
    hours_per_day: float = DEFAULT_HOURS_PER_DAY
    method: str = ""


def _work(strip: Strip) -> str:
    return "night" if (strip.day_night or "").upper() == _NIGHT else "day"


def _place(strip: Strip) -> str:
    return " ".join(strip.location.lower().split())


def stripboard(strips: Iterable[Strip]) -> list[Strip]:
    """``strips`` in shooting order: day then night work, location, INT/EXT + DAY/NIGHT group
    (step 1)."""
    ordered = sorted(strips, key=lambda s: s.scene)
    place_rank: dict[str, int] = {}
    group_rank: dict[tuple[str, str, str], int] = {}
    for strip in ordered:
        place_rank.setdefault(_place(strip), len(place_rank))
        group = (_place(strip), strip.int_ext or "", strip.day_night or "")
        group_rank.setdefault(group, len(group_rank))
    return sorted(ordered, key=lambda s: (
        _work(s) == "night", place_rank[_place(s)],
        group_rank[(_place(s), s.int_ext or "", s.day_night or "")], s.scene))


def _split(strip: Strip, page_budget: int, hour_budget: float) -> list[Strip]:
    """A strip bigger than a day, cut into equal parts that each fit one."""
    parts = max(1, math.ceil(strip.eighths / page_budget) if page_budget else 1,
                math.ceil(strip.hours / hour_budget) if hour_budget else 1)
    if parts == 1:
        return [strip]
    out = []
    for i in range(parts):
        share = strip.eighths // parts + (1 if i < strip.eighths % parts else 0)
        out.append(strip.model_copy(update={
            "eighths": share, "pages": format_eighths(share),
            "hours": round(strip.hours / parts, 2), "part": f"{i + 1}/{parts}"}))
    return out


def _day(number: int, strips: list[Strip]) -> ShootingDay:
    locations: list[str] = []
    moves = 0
    for strip in strips:
        if locations and _place(strip) != _place_of(locations[-1]):
            moves += 1
        if not locations or _place(strip) != _place_of(locations[-1]):
            locations.append(strip.location)
    cast: list[str] = []
    for strip in strips:
        cast += [c for c in strip.cast if c not in cast]
    eighths = sum(s.eighths for s in strips)
    hours = sum(s.hours for s in strips) + COMPANY_MOVE_HOURS * moves
    return ShootingDay(day=number, work=_work(strips[0]), strips=strips, eighths=eighths,
                       pages=format_eighths(eighths), hours=round(hours, 2),
                       locations=list(dict.fromkeys(locations)), company_moves=moves,
                       cast=cast)


def _place_of(location: str) -> str:
    return " ".join(location.lower().split())


def pack(ordered: list[Strip], pages_per_day: float = DEFAULT_PAGES_PER_DAY,
         hours_per_day: float = DEFAULT_HOURS_PER_DAY) -> list[ShootingDay]:
    """Ordered strips into shooting days under the budgets (step 2)."""
    page_budget = max(1, round(pages_per_day * EIGHTHS))
    days: list[list[Strip]] = []
    current: list[Strip] = []
    eighths, hours = 0, 0.0
    for whole in ordered:
        for strip in _split(whole, page_budget, hours_per_day):
            move = COMPANY_MOVE_HOURS if current and _place(current[-1]) != _place(strip) else 0
            if current and (_work(current[-1]) != _work(strip)
                            or eighths + strip.eighths > page_budget
                            or hours + move + strip.hours > hours_per_day + 1e-9):
                days.append(current)
                current, eighths, hours, move = [], 0, 0.0, 0
            current.append(strip)
            eighths += strip.eighths
            hours += strip.hours + move
    if current:
        days.append(current)
    return [_day(i, strips) for i, strips in enumerate(days, start=1)]


def day_out_of_days(days: list[ShootingDay], names: dict[str, str] | None = None
                    ) -> list[CastDays]:
    """The day-out-of-days table (step 4). Cast numbers go by scenes worked, then by the
    analysis's order of the characters (``names``' order: the lead first), so of two people in
    every scene the lead is number 1, not whoever's id sorts first."""
    names = names or {}
    billing = {cid: i for i, cid in enumerate(names)}
    scenes: dict[str, set[int]] = {}
    first_seen: dict[str, int] = {}
    worked: dict[str, set[int]] = {}
    for day in days:
        for strip in day.strips:
            for cast_id in strip.cast:
                scenes.setdefault(cast_id, set()).add(strip.scene)
                first_seen[cast_id] = min(strip.scene, first_seen.get(cast_id, strip.scene))
                worked.setdefault(cast_id, set()).add(day.day)
    order = sorted(scenes, key=lambda c: (-len(scenes[c]), billing.get(c, len(billing)),
                                          first_seen[c], c))
    rows = []
    for number, cast_id in enumerate(order, start=1):
        on = worked[cast_id]
        start, finish = min(on), max(on)
        codes = []
        for day in days:
            d = day.day
            if d < start or d > finish:
                codes.append("")
            elif start == finish:
                codes.append("SWF")
            elif d == start:
                codes.append("SW")
            elif d == finish:
                codes.append("WF")
            else:
                codes.append("W" if d in on else "H")
        rows.append(CastDays(
            cast_number=number, character_id=cast_id, name=names.get(cast_id, cast_id),
            codes=codes, start_day=start, finish_day=finish, work_days=len(on),
            hold_days=sum(1 for c in codes if c == "H")))
    return rows


def build_schedule(strips: Iterable[Strip], pages_per_day: float | None = None,
                   hours_per_day: float | None = None,
                   names: dict[str, str] | None = None) -> Schedule:
    """The whole schedule for ``strips`` (see the module docstring for every rule)."""
    pages_budget = pages_per_day or DEFAULT_PAGES_PER_DAY
    hours_budget = hours_per_day or DEFAULT_HOURS_PER_DAY
    days = pack(stripboard(strips), pages_budget, hours_budget)
    eighths = sum(d.eighths for d in days)
    moves = sum(d.company_moves for d in days)
    hours = round(sum(d.hours for d in days), 1)
    return Schedule(
        days=days, day_out_of_days=day_out_of_days(days, names), shooting_days=len(days),
        company_moves=moves, total_eighths=eighths, total_pages=format_eighths(eighths),
        total_hours=hours, pages_per_day=pages_budget, hours_per_day=hours_budget,
        method=(f"{plural(len(days), 'day')}: scenes grouped by location, then INT/EXT and "
                f"DAY/NIGHT, day work before night work, packed in order into days of at most "
                f"{pages_budget:g} pages and {hours_budget:g} camera hours (a company move "
                f"{COMPANY_MOVE_HOURS:g} h); {plural(moves, 'company move')} within days"),
    )


def plural(n: int, word: str) -> str:
    """``1 day``, ``2 days``."""
    return f"{n} {word}" + ("" if n == 1 else "s")
