"""Page counts in eighths, computed from a scene's text as it would lie on a screenplay page.

A screenplay page (Courier 12, US letter) holds about **55 lines**; schedules count scenes in
eighths of a page (a line count of 55/8, about 7 lines, is one eighth). The scene's text is laid
out in screenplay terms:

- the scene heading: 2 lines (heading and the blank after it);
- each line of dialogue: 1 line for the speaker's cue, its words wrapped at **35 characters**
  (the dialogue column), and 1 blank line;
- everything else is action: each paragraph wrapped at **60 characters**, plus 1 blank line.

Dialogue is recognised from the architect's ``dialogue`` lines (their text is taken out of the
action) or, without them, from quoted passages. A novel's descriptive prose counted as action is
an upper bound: an adaptation usually cuts description. Every scene is at least 1/8.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

LINES_PER_PAGE = 55
ACTION_CHARS_PER_LINE = 60
DIALOGUE_CHARS_PER_LINE = 35
HEADING_LINES = 2
EIGHTHS = 8
METHOD = (f"screenplay lines / ({LINES_PER_PAGE} lines a page / {EIGHTHS}): heading "
          f"{HEADING_LINES} lines, action wrapped at {ACTION_CHARS_PER_LINE} characters plus "
          f"a blank line per paragraph, each dialogue line a cue, its words wrapped at "
          f"{DIALOGUE_CHARS_PER_LINE} characters and a blank line; at least 1/8")

_QUOTED = re.compile(r"[\"\u201c]([^\"\u201d]{1,2000})[\"\u201d]")


def _wrapped(text: str, width: int) -> int:
    words = text.split()
    if not words:
        return 0
    lines, used = 1, 0
    for word in words:
        extra = len(word) if used == 0 else len(word) + 1
        if used + extra > width and used > 0:
            lines += 1
            used = len(word)
        else:
            used += extra
    return lines


def screenplay_lines(text: str, dialogue: Iterable[str] = ()) -> int:
    """Lines ``text`` fills laid out as a screenplay scene (see the module docstring)."""
    lines = [d.strip() for d in dialogue if d and d.strip()]
    action = text or ""
    if lines:
        for line in lines:
            action = action.replace(line, " ", 1)
    else:
        lines = [m.group(1).strip() for m in _QUOTED.finditer(action)]
        action = _QUOTED.sub(" ", action)
    total = HEADING_LINES
    for line in lines:
        total += 1 + max(1, _wrapped(line, DIALOGUE_CHARS_PER_LINE)) + 1
    for paragraph in re.split(r"\n\s*\n|\n", action):
        # punctuation left behind by a lifted quote ("she said.") is not a paragraph
        if len(re.sub(r"[\W_]+", "", paragraph)) >= 3:
            total += _wrapped(paragraph, ACTION_CHARS_PER_LINE) + 1
    return total


def page_eighths(text: str, dialogue: Iterable[str] = ()) -> int:
    """The scene's length in eighths of a page, at least 1."""
    lines = screenplay_lines(text, dialogue)
    return max(1, math.ceil(lines * EIGHTHS / LINES_PER_PAGE))


def format_eighths(eighths: int) -> str:
    """``11`` -> ``"1 3/8"``, ``8`` -> ``"1"``, ``3`` -> ``"3/8"`` (as a stripboard prints it)."""
    pages, rest = divmod(max(0, int(eighths)), EIGHTHS)
    if rest == 0:
        return str(pages)
    return f"{pages} {rest}/8" if pages else f"{rest}/8"
