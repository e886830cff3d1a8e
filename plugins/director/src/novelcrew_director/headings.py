"""Screenplay scene headings: ``INT. HARBOUR KITCHEN - NIGHT``.

A model's heading is kept when it has the screenplay shape (normalised to capitals and a spaced
hyphen); otherwise one is built from the graph's location and time, guessing interior or
exterior from the location's name and description.
"""

from __future__ import annotations

import re

_HEADING_RE = re.compile(
    r"^\s*(INT\.?\s*/\s*EXT\.?|EXT\.?\s*/\s*INT\.?|I\s*/\s*E\.?|INT\.?|EXT\.?)\s+(.+?)"
    r"\s+[-\u2013\u2014]+\s+(.+?)\s*$",
    re.I,
)
_EXTERIOR = ("street", "road", "forest", "wood", "beach", "shore", "sea", "ocean", "field",
             "garden", "yard", "park", "rooftop", "roof", "cliff", "harbour", "harbor", "dock",
             "pier", "mountain", "river", "lake", "desert", "outside", "exterior", "square",
             "bridge", "rocks", "jungle", "village green", "courtyard", "alley", "highway",
             "sky", "meadow", "hill", "coast", "trail", "cemetery", "graveyard")
_INTERIOR = ("room", "kitchen", "office", "house", "apartment", "flat", "hall", "bar", "cafe",
             "café", "shop", "store", "car", "train", "ship's cabin", "cabin", "church",
             "hospital", "school", "inside", "interior", "bedroom", "corridor", "basement",
             "attic", "studio", "library", "restaurant", "lab", "tower", "lighthouse")
_TIMES = ("night", "dawn", "dusk", "morning", "evening", "afternoon", "sunset", "sunrise",
          "midnight", "noon", "day")


def _prefix(raw: str) -> str:
    letters = re.sub(r"[^A-Z/]", "", raw.upper())
    if letters in ("INT/EXT", "EXT/INT", "I/E"):
        return "INT./EXT."
    return "EXT." if letters.startswith("EXT") else "INT."


def normalise(heading: str) -> str | None:
    """The heading in canonical form, or None when it does not look like one."""
    match = _HEADING_RE.match(heading or "")
    if not match:
        return None
    place = re.sub(r"\s+", " ", match.group(2)).strip(" .-").upper()
    time = re.sub(r"\s+", " ", match.group(3)).strip(" .").upper()
    if not place or not time:
        return None
    return f"{_prefix(match.group(1))} {place} - {time}"


def guess_time(*texts: str) -> str:
    joined = " ".join(t.lower() for t in texts if t)
    for word in _TIMES:
        if re.search(rf"\b{word}\b", joined):
            return "NIGHT" if word == "midnight" else word.upper()
    return "DAY"


def interior_or_exterior(location: str, description: str = "") -> str:
    name = location.lower()
    for words, prefix in ((_INTERIOR, "INT."), (_EXTERIOR, "EXT.")):
        if any(re.search(rf"\b{re.escape(w)}\b", name) for w in words):
            return prefix
    text = description.lower()
    ext = sum(1 for w in _EXTERIOR if re.search(rf"\b{re.escape(w)}\b", text))
    inner = sum(1 for w in _INTERIOR if re.search(rf"\b{re.escape(w)}\b", text))
    return "EXT." if ext > inner else "INT."


def build(location: str | None, time: str | None, location_description: str = "",
          summary: str = "") -> str:
    """A heading from the graph's facts."""
    place = (location or "UNKNOWN LOCATION").strip()
    when = (time or "").strip().upper() or guess_time(summary, location_description)
    return f"{interior_or_exterior(place, location_description)} {place.upper()} - {when}"


_STOP = frozenset({"the", "a", "an", "of", "at", "in", "on", "and", "int", "ext", "s"})


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP}


def choose(proposed: str, location: str | None, time: str | None,
           location_description: str = "", summary: str = "", *, trust: bool = True) -> str:
    """The model's heading when well formed and set where the graph says the scene is.

    A heading naming a place that shares no word with the scene's location keeps the model's
    INT./EXT. and time but takes the graph's location; an untrusted model (``offline``) or a
    malformed heading gets one built from the facts.
    """
    heading = normalise(proposed) if trust else None
    if heading is None:
        return build(location, time, location_description, summary)
    prefix, rest = heading.split(" ", 1)
    place, when = rest.rsplit(" - ", 1)
    if location and not (_words(place) & _words(location)):
        return f"{prefix} {location.strip().upper()} - {when}"
    return heading
