"""Quoted speech taken out of prompt text.

Image models paint quoted words as lettering in the picture, and a shot's action (written by
the model, or the plan's notes offline) often holds a line of dialogue. ``without_speech``
removes every quoted passage and says whether it removed any, so the image prompt carries
none and the motion prompt can ask for a person speaking instead of the words.

Double quotes (straight, curly, guillemets) always open a quotation; an unclosed one runs to
the end, as a sentence cut mid-line leaves it. Single quotes are speech only in pairs whose
marks stand at word boundaries, so apostrophes (don't, Ruth's, the dogs' bowls) stay.
What a quotation leaves may be only its tag ("Mali said", "she calls"): ``speech_tag`` finds
who it names, so the prompt can drop the tag and say who speaks, if they are in frame.
"""

from __future__ import annotations

import re

#: curly quotes by code point (ruff flags the characters as look-alikes of ASCII marks)
_LDQ, _RDQ, _LSQ, _RSQ = "\u201c", "\u201d", "\u2018", "\u2019"
_QUOTED = re.compile(
    r"""(?<!\w)"[^"]*(?:"|$)"""  # "..." (a 6" blade is no quotation)
    rf"|{_LDQ}[^{_RDQ}]*(?:{_RDQ}|$)"  # curly double
    r"|«[^»]*(?:»|$)"  # guillemets
    rf"|(?<!\w){_LSQ}(?=\S).*?(?<=\S){_RSQ}(?!\w)"  # curly single (don't keeps its mark)
    r"|(?<![\w'])'(?=\S).*?(?<=\S)'(?!\w)")  # '...' (Ruth's keeps its ')
#: a removed quotation and the comma or colon that led into it (``says, "Push!"`` leaves
#: ``says``); one that ended a sentence before another begins leaves its full stop
_GAP = re.compile(r"\s*[,:;]?\s*\x00(?P<end>\s+(?=[A-Z]))?")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.;:!?])")
_REPEATED_MARKS = re.compile(r"([,;:.])(?:\s*[,;:.])+")
_ENDS = " ,;:.-\u2013\u2014"


def without_speech(text: str) -> tuple[str, bool]:
    """``text`` with its quoted passages removed and the leftover tidied, and whether any
    were removed. ``'"One foot?"'`` gives ``("", True)``; ``'Ruth says, "Push!"'`` gives
    ``("Ruth says", True)``."""
    ends: list[bool] = []

    def mark(match: re.Match[str]) -> str:
        ends.append(bool(re.search(rf"[.!?][\"{_RDQ}»{_RSQ}']?$", match.group())))
        return "\x00"

    marked = _QUOTED.sub(mark, text)
    if not ends:
        return text, False
    stops = iter(ends)
    rest = _GAP.sub(lambda m: ". " if next(stops) and m.group("end") else " ", marked)
    rest = _SPACE_BEFORE_MARK.sub(r"\1", " ".join(rest.split()))
    rest = _REPEATED_MARKS.sub(r"\1", rest).strip(_ENDS)
    return (rest if re.search(r"\w", rest) else ""), True


_VERBS = (r"(?i:say|says|said|ask|asks|asked|call|calls|called|shout|shouts|shouted|whisper|"
          r"whispers|whispered|reply|replies|replied|mutter|mutters|muttered|cry|cries|cried|"
          r"answer|answers|answered|add|adds|added|tell|tells|told|yell|yells|yelled|murmur|"
          r"murmurs|murmured|snap|snaps|snapped|go on|goes on|went on)")
_PERSON = r"(?:[A-Z][\w'\u2019-]*(?:\s+[A-Z][\w'\u2019-]*){0,2}|(?i:he|she|they|I|we|you))"
_TAG = re.compile(rf"(?:(?P<before>{_PERSON})\s+{_VERBS}|{_VERBS}\s+(?P<after>{_PERSON}))"
                  r"(?:\s+\w+ly)?")


def speech_tag(rest: str) -> str | None:
    """Who a bare speech tag names (``"Mali said"`` gives ``"Mali"``, ``"she calls"``
    ``"she"``), or None when ``rest`` says more than who spoke."""
    match = _TAG.fullmatch(rest.strip(" .,;:!?"))
    return (match.group("before") or match.group("after")) if match else None
