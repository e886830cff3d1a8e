"""The story crews' results read as plain data, the same way for every export.

The exports never import a plugin: they read ``result[<crew>]`` dicts and take what is there,
so a field a crew does not (yet) write is simply left out of the file.
"""

from __future__ import annotations

import re
from typing import Any

from novelcrew import ExportUnavailable


def result(job: dict[str, Any], crew: str) -> dict[str, Any]:
    value = (job.get("result") or {}).get(crew)
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items() if text(v))
    if isinstance(value, list | tuple):
        return "; ".join(t for t in (text(v) for v in value) if t)
    return str(value)


def names(value: Any) -> list[str]:
    """A list of things as display names (strings, or dicts with a name/id)."""
    if not value:
        return []
    if isinstance(value, dict):
        return [f"{k}: {text(v)}" if text(v) else str(k) for k, v in value.items()]
    out = []
    for item in value if isinstance(value, list | tuple) else [value]:
        if isinstance(item, dict):
            label = item.get("name") or item.get("item") or item.get("id") or text(item)
            out.append(str(label))
        elif text(item):
            out.append(text(item))
    return out


def spoken(line: str) -> str:
    """A quoted line as a script writes it: prose ends a line that runs into its tag with a
    comma ('"They've never run," Tuck said'); a script line ends with a full stop."""
    line = line.strip()
    return line[:-1].rstrip() + "." if line.endswith(",") else line


def offline(job: dict[str, Any]) -> bool:
    """True when any crew's result says the offline stand-in made it."""
    for crew_result in (job.get("result") or {}).values():
        if not isinstance(crew_result, dict):
            continue
        model = crew_result.get("model")
        if isinstance(model, dict) and model.get("offline"):
            return True
        if crew_result.get("offline") is True:
            return True
    return any(str(m) == "offline" for m in job.get("models_used") or [])


_INT_EXT = re.compile(r"^\s*(INT\.?/EXT\.?|EXT\.?/INT\.?|I/E\.?|INT\.?|EXT\.?)\s", re.I)


def int_ext(scene: dict[str, Any]) -> str:
    value = str(scene.get("int_ext") or "").upper().replace(".", "")
    if value:
        return value
    found = _INT_EXT.match(str(scene.get("heading") or ""))
    return found.group(1).upper().replace(".", "") if found else ""


def day_night(scene: dict[str, Any]) -> str:
    return str(scene.get("day_night") or scene.get("time") or scene.get("time_of_day")
               or "").upper()


def heading(scene: dict[str, Any]) -> str:
    """``INT. THE KITCHEN - NIGHT``: the director's heading, else built from the fields."""
    given = str(scene.get("heading") or "").strip()
    if given and _INT_EXT.match(given + " "):
        return given.upper()
    ie = int_ext(scene) or "INT"
    ie = {"INT/EXT": "INT./EXT."}.get(ie, f"{ie}.")
    where = str(scene.get("location") or "").strip().upper() or "UNKNOWN"
    when = day_night(scene)
    return f"{ie} {where}" + (f" - {when}" if when else "")


def dialogue(scene: dict[str, Any]) -> list[tuple[str, str]]:
    """``(speaker, line)`` pairs; lines without a speaker are left out."""
    out = []
    for item in scene.get("dialogue") or []:
        if isinstance(item, dict):
            speaker = str(item.get("speaker") or item.get("character") or "").strip()
            line = str(item.get("line") or item.get("text") or "").strip()
        else:
            speaker, _, line = str(item).partition(":")
            speaker, line = speaker.strip(), line.strip()
            if not line or len(speaker.split()) > 4:
                continue
        if speaker and line:
            out.append((speaker, line))
    return out


def scenes(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Each scene once, in story order: the architect's scene with the director's plan over it.

    Matched by scene number (both crews number scenes from 1 in story order).
    """
    planned = {s.get("number"): s for s in result(job, "director").get("scenes") or []
               if isinstance(s, dict)}
    analysed = [s for s in result(job, "architect").get("scenes") or [] if isinstance(s, dict)]
    merged: list[dict[str, Any]] = []
    seen = set()
    for index, scene in enumerate(analysed, start=1):
        number = scene.get("number") or index
        plan = planned.get(number) or {}
        merged.append({**scene, **{k: v for k, v in plan.items() if v not in (None, "", [])},
                       "number": number, "_plan": bool(plan)})
        seen.add(number)
    for number, plan in sorted(planned.items(), key=lambda kv: kv[0] or 0):
        if number not in seen:
            merged.append({**plan, "_plan": True})
    return merged


def story_scenes(job: dict[str, Any]) -> list[dict[str, Any]]:
    """``scenes(job)``; ``ExportUnavailable`` when there is none to export."""
    found = scenes(job)
    if not found:
        raise ExportUnavailable("the job has no scenes: run the architect crew first")
    return found


def title(job: dict[str, Any]) -> str:
    """The story's title: the architect's, else the director's, else "Untitled"."""
    return text(result(job, "architect").get("title")
                or result(job, "director").get("title")) or "Untitled"


def breakdown(scene: dict[str, Any]) -> dict[str, Any]:
    value = scene.get("breakdown")
    return value if isinstance(value, dict) else {}


def shots(scene: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in scene.get("shots") or [] if isinstance(s, dict)]


class Cast:
    """Who a character id is: the day out of days numbers and names the cast, the analysis
    (and the storyboard's bible) names the rest. A sheet or a report names people, never ids."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.names: dict[str, str] = {}
        self.numbers: dict[str, int] = {}
        people = [*(result(job, "architect").get("characters") or []),
                  *((result(job, "storyboard").get("bible") or {}).get("characters") or [])]
        for c in people:
            if isinstance(c, dict) and c.get("id"):
                self.names.setdefault(str(c["id"]), str(c.get("name") or c["id"]))
        for scene in result(job, "architect").get("scenes") or []:  # named only in a scene
            for name in (scene.get("characters") or []) if isinstance(scene, dict) else []:
                if isinstance(name, str) and name.strip():
                    self.names.setdefault(re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"),
                                          name.strip())
        schedule = result(job, "director").get("schedule")
        for row in (schedule.get("day_out_of_days") if isinstance(schedule, dict) else None) or []:
            if isinstance(row, dict) and row.get("character_id"):
                cid = str(row["character_id"])
                self.names[cid] = str(row.get("name") or cid)
                if isinstance(row.get("cast_number"), int):
                    self.numbers[cid] = row["cast_number"]

    def who(self, cid: Any) -> str:
        return self.names.get(str(cid), str(cid))

    def ordered(self, ids: Any) -> list[str]:
        """Ids in cast-number order (the unnumbered after, as they came)."""
        found = [str(i) for i in (ids if isinstance(ids, list | tuple) else [ids]) if i]
        return sorted(found, key=lambda cid: self.numbers.get(cid, 10**9))

    def names_of(self, ids: Any) -> list[str]:
        """The people's names in cast-number order."""
        return [self.who(cid) for cid in self.ordered(ids)]

    def numbered(self, ids: Any) -> str:
        return ", ".join(f"{self.numbers[c]} {self.who(c)}" if c in self.numbers else self.who(c)
                         for c in self.ordered(ids))

    def items(self, value: Any) -> list[str]:
        """A breakdown list as a sheet prints it: 'Rosa Amati: apron', '*' if suggested."""
        if isinstance(value, dict):  # {character id: item}
            return [f"{self.who(k)}: {text(v)}" for k, v in value.items() if text(v)]
        out = []
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, dict) and item.get("item") is not None:
                owner = f"{self.who(item['character'])}: " if item.get("character") else ""
                out.append(f"{owner}{item['item']}" + ("*" if item.get("suggested") else ""))
            else:
                out.extend(names([item]))
        return out
