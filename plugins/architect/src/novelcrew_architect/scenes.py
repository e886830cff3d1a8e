"""Scenes grounded in the text: spans located in Python, dialogue read from the text.

A model reports each scene's first and last words; here they are found in the story (word by
word, ignoring punctuation, quote styles and line breaks), so every scene carries its exact
source text and character offsets. A scene whose opening words are not found gets the text
between its neighbours (``located: false``). Dialogue is every quoted line of the scene's own
text, in order, verbatim; speakers come from the model's list where its line matches, else from
a "said Mara" next to the quote. A scene that carries on over a chunk boundary (the model says
so, or the place and time run on unbroken) becomes one scene.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from novelcrew_architect.models import ChunkScene, DialogueLine, day_night_of, int_ext_of

_TOKEN = re.compile(r"\w+", re.UNICODE)
#: what may precede a scene's first word on its line (quote marks, dashes, asterisks)
_LEAD = "\"'\u201c\u2018\u00ab([*_-\u2014\u2013"
#: what may follow a scene's last word (closing punctuation and quote marks)
_TRAIL = ".,!?;:\"'\u201d\u2019\u00bb)]*_\u2026-\u2014\u2013"
_QUOTES = re.compile(
    r"\u201c([^\u201c\u201d]{1,1200}?)\u201d"  # curly double
    r'|"([^"\n]{1,1200}?)"'  # "straight" (within a paragraph)
    r"|\u00ab([^\u00ab\u00bb]{1,1200}?)\u00bb"  # guillemets
    r"|(?<!\w)\u2018([^\u2018\u2019]{1,600}?)\u2019(?!\w)",  # curly single
)
_SPEECH_VERBS = (r"said|says|asked|asks|replied|whispered|shouted|called|told|answered|"
                 r"murmured|cried|muttered|snapped|added|went on|began|yelled|breathed|"
                 r"sighed|laughed")
_NAME = r"((?:[A-Z][\w'\u2019-]+)(?:\s+[A-Z][\w'\u2019-]+){0,2})"
_SAID_AFTER = re.compile(rf"^\W{{0,3}}\s*(?:{_SPEECH_VERBS})\s+{_NAME}"
                         rf"|^\W{{0,3}}\s*{_NAME}\s+(?:{_SPEECH_VERBS})\b")
_SAID_BEFORE = re.compile(rf"{_NAME}\s+(?:{_SPEECH_VERBS})\W{{0,3}}\s*$")
_BLANK_LINE = re.compile(r"\n\s*\n")
_PRONOUNS = frozenset({"he", "she", "they", "i", "we", "you", "it", "the", "a", "an", "his",
                       "her"})


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text or "")]


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)",
                      re.IGNORECASE)


def find_words(text: str, words: str, lo: int, hi: int, *, last: bool = False
               ) -> tuple[int, int] | None:
    """Where ``words`` occur in ``text[lo:hi]``, ignoring punctuation and spacing.

    Tries the first twelve words, then fewer (a model may change the end of a quotation);
    ``last`` tries the last words instead and prefers the last occurrence.
    """
    found = tokens(words)
    if not found:
        return None
    tried: set[int] = set()
    for size in (12, 8, 5, 3):
        part = found[-size:] if last else found[:size]
        if len(part) in tried:
            continue
        tried.add(len(part))
        matches = list(_pattern(part).finditer(text, lo, hi))
        if matches:
            match = matches[-1] if last else matches[0]
            return match.start(), match.end()
    return None


def _widen_start(text: str, start: int) -> int:
    while start > 0 and text[start - 1] in _LEAD:
        start -= 1
    return start


def _widen_end(text: str, end: int) -> int:
    while end < len(text) and text[end] in _TRAIL:
        end += 1
    return end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _snap(text: str, at: int, lo: int, hi: int) -> int:
    """``at`` moved to the nearest paragraph start within ``[lo, hi]`` (or left alone)."""
    best, distance = at, None
    for match in re.finditer(r"\n\s*\n", text[lo:hi]):
        pos = lo + match.end()
        if distance is None or abs(pos - at) < distance:
            best, distance = pos, abs(pos - at)
    return best


@dataclass
class Placed:
    """A chunk's scene with its place in the story."""

    raw: ChunkScene
    chunk: str
    start: int = 0
    end: int = 0
    located: bool = False
    parts: list[ChunkScene] = field(default_factory=list)  #: merged continuations


def place_scenes(text: str, chunk_scenes: Sequence[tuple[str, tuple[int, int],
                                                         Sequence[ChunkScene]]]
                 ) -> list[Placed]:
    """Every chunk's scenes with spans in ``text`` (the story as analysed), in story order.

    ``chunk_scenes`` holds ``(chunk id, (start, end) of the chunk in text, scenes)`` in story
    order. Spans never overlap and never leave the chunk they were reported for.
    """
    placed: list[Placed] = []
    for chunk_id, (lo, hi), scenes in chunk_scenes:
        ordered = [s for s in sorted(scenes, key=lambda s: s.number) if s.summary.strip()]
        here = [Placed(raw=s, chunk=chunk_id) for s in ordered]
        cursor = lo
        for item in here:  # openings, in order
            hit = find_words(text, item.raw.opening, cursor, hi)
            if hit is not None:
                item.start, item.located = _widen_start(text, hit[0]), True
                cursor = hit[1]
        if here and not here[0].located:
            here[0].start = lo
        # scenes whose opening was not found share the gap between located neighbours
        i = 0
        while i < len(here):
            if here[i].located or i == 0:
                i += 1
                continue
            j = i
            while j < len(here) and not here[j].located:
                j += 1
            gap_lo = here[i - 1].start
            gap_hi = here[j].start if j < len(here) else hi
            count = j - i + 1
            for k in range(i, j):
                share = gap_lo + (gap_hi - gap_lo) * (k - i + 1) // count
                here[k].start = _snap(text, share, gap_lo + 1, gap_hi)
            i = j
        for n, item in enumerate(here):  # closings, inside the room each scene has
            limit = here[n + 1].start if n + 1 < len(here) else hi
            item.start = min(max(item.start, lo), limit)
            hit = find_words(text, item.raw.closing, item.start, limit, last=True) \
                if item.raw.closing else None
            end = _widen_end(text, hit[1]) if hit is not None else limit
            item.start, item.end = _trim(text, item.start, min(end, limit))
        placed.extend(here)
    return placed


def _same_key(a: str, b: str) -> bool:
    return bool(a.strip()) and " ".join(tokens(a)) == " ".join(tokens(b))


def join_continuations(placed: list[Placed], chunk_of: Callable[[Placed], str],
                       place_key: Callable[[str], str]) -> list[Placed]:
    """Scenes carried on over a chunk boundary made one: the model marked the later part
    ``continues_previous``, or it is the first scene of its chunk and goes on at the same place
    and time with some of the same people."""
    out: list[Placed] = []
    for item in placed:
        prev = out[-1] if out else None
        first_of_chunk = prev is not None and chunk_of(prev) != chunk_of(item)
        if prev is not None and first_of_chunk:
            raw, before = item.raw, prev.raw
            same_place = bool(raw.location.strip()) and \
                place_key(raw.location) == place_key(before.location)
            when = day_night_of(raw.day_night)
            same_time = when is not None and when == day_night_of(before.day_night)
            shared = {" ".join(tokens(c)) for c in raw.characters} & \
                {" ".join(tokens(c)) for c in before.characters}
            if raw.continues_previous or (same_place and same_time and not raw.new_day
                                          and shared):
                prev.parts.append(raw)
                prev.end = max(prev.end, item.end)
                continue
        out.append(item)
    return out


def quoted_lines(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, line)`` of every quoted stretch of ``text`` (the words inside)."""
    out = []
    for match in _QUOTES.finditer(text):
        inner = next(g for g in match.groups() if g is not None)
        line = " ".join(inner.split())
        if len(tokens(line)) >= 1:
            out.append((match.start(), match.end(), line))
    return out


def _attribution(text: str, start: int, end: int) -> str:
    after = _SAID_AFTER.match(text[end:end + 60])
    if after:
        return next(g for g in after.groups() if g)
    before = _SAID_BEFORE.search(_BLANK_LINE.split(text[max(0, start - 60):start])[-1])
    if before:
        return before.group(1)
    return ""


def _matches(line: str, model_line: str) -> bool:
    a, b = " ".join(tokens(line)), " ".join(tokens(model_line))
    if not a or not b:
        return False
    if a == b:
        return True
    # one contains the other (a model trims or joins lines), but not a short line that merely
    # occurs inside a longer one ("Next year" in "Same time next year")
    short, long = sorted((a, b), key=len)
    return len(short) >= 8 and short in long and len(short) >= 0.6 * len(long)


def scene_dialogue(text: str, reported: Sequence[DialogueLine],
                   resolve: Callable[[str], str]) -> list[DialogueLine]:
    """Every line spoken in ``text``, verbatim and in order, with its speaker.

    Without quote marks in the text (dialogue set off by dashes, or reported speech), the
    model's lines are kept when their words are found in the text.
    """
    quoted = quoted_lines(text)
    out: list[DialogueLine] = []
    if quoted:
        previous_end, previous_speaker = -1, ""
        for start, end, line in quoted:
            speaker = next((d.speaker for d in reported if _matches(line, d.line)), "")
            if not speaker:
                guess = _attribution(text, start, end)
                if guess and guess.split()[0].lower() not in _PRONOUNS:
                    speaker = guess
            same_paragraph = previous_end >= 0 and not _BLANK_LINE.search(text, previous_end,
                                                                           start)
            if not speaker and same_paragraph:
                speaker = previous_speaker  # the paragraph goes on in the same voice
            speaker = resolve(speaker) if speaker else ""
            out.append(DialogueLine(speaker=speaker, line=line))
            previous_end, previous_speaker = end, speaker
        # a quotation inside narration (a sign, a title) is kept: only the text says which
        return out
    for item in reported:
        hit = find_words(text, item.line, 0, len(text))
        if hit is not None and len(tokens(item.line)) == len(tokens(text[hit[0]:hit[1]])):
            out.append(DialogueLine(speaker=resolve(item.speaker) if item.speaker else "",
                                    line=text[hit[0]:hit[1]]))
    return out


def story_days(day_nights: Sequence[str | None], new_days: Sequence[bool]) -> list[int]:
    """Story day per scene: a scene marked 'later day' starts the next day, and so does a
    morning (DAWN or DAY) that follows a NIGHT scene."""
    days: list[int] = []
    day = 1
    previous: str | None = None
    for index, (when, new) in enumerate(zip(day_nights, new_days, strict=True)):
        if index and (new or (previous == "NIGHT" and when in ("DAWN", "DAY"))):
            day += 1
        days.append(day)
        previous = when or previous
    return days


__all__ = ["Placed", "find_words", "int_ext_of", "join_continuations", "place_scenes",
           "quoted_lines", "scene_dialogue", "story_days"]
