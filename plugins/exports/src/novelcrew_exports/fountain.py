"""The story as a screenplay in Fountain (https://fountain.io), the plain-text format that
Highland, Slugline, Fade In, WriterDuet and Final Draft open.

Each scene becomes a scene heading (INT./EXT., location, DAY/NIGHT), its source text as action,
and its dialogue as character cues with their lines, in the order the text has them. It is an
adaptation draft to write from, not a finished script: prose stays prose.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from novelcrew_exports._data import dialogue, heading, offline, spoken, story_scenes, title

_QUOTE = re.compile(r"“([^”]+)”|\"([^\"]+)\"")
_VERBS = (r"(?i:said|says|asked|asks|replied|answered|whispered|shouted|called|added|muttered|"
          r"told|cried|snapped|murmured|repeated)")
_NAME = r"(?:(?:[A-Z][\w'\u2019-]*\.?|the|a|his|her|their)\s+){0,3}"
#: a speech tag after a quote: ", Rosa said." / " said Theo, pulling on his coat."
_TAG_AFTER = re.compile(
    rf"^\s*[,;:\u2014\u2013-]?\s*(?:{_NAME}{_VERBS}|{_VERBS}\s+{_NAME})[^.!?]*[.!?]?")
#: a speech tag before a quote: "Rosa said, " / "Theo asked:"
_TAG_BEFORE = re.compile(rf"(?:^|(?<=[.!?]\s)){_NAME}{_VERBS}[^.!?\u201c\"]*[,:]\s*$")
_SPECIAL_START = re.compile(r"^(?:[!@#~=>.\[]|INT|EXT|EST|I/E)", re.I)


def _escape(line: str) -> str:
    line = line.replace("*", "\\*").replace("_", "\\_")
    if _SPECIAL_START.match(line) or (line.isupper() and len(line) < 40):
        return "!" + line  # forced action: never read as a heading, cue or transition
    return line


def _cue(speaker: str) -> str:
    cue = re.sub(r"\s+", " ", speaker).strip().upper()
    return cue if re.search(r"[A-Z]", cue) and cue.isupper() else "@" + cue


def _blocks(scene: dict[str, Any]) -> list[str]:
    """Action paragraphs and dialogue blocks in text order; one speech per run of a speaker's
    lines with nothing between them ('They've never run. Not once in eleven years.')."""
    lines = dialogue(scene)
    by_line = {re.sub(r"\s+", " ", line).strip(" ,.?!").lower(): speaker
               for speaker, line in lines}
    used: set[str] = set()
    body = str(scene.get("text") or "").strip()
    if not body:
        body = str(scene.get("summary") or "").strip()
    out: list[str] = []
    speech = -1  # the index in ``out`` of the last dialogue block, if it is the last block

    def speak(speaker: str, line: str) -> None:
        nonlocal speech
        cue = _cue(speaker)
        if out and speech == len(out) - 1 and out[speech].split("\n", 1)[0] == cue:
            out[speech] += " " + spoken(line)
        else:
            out.append(f"{cue}\n{spoken(line)}")
            speech = len(out) - 1

    for paragraph in re.split(r"\n\s*\n", body):
        paragraph = re.sub(r"\s+", " ", paragraph).strip()
        if not paragraph:
            continue
        pos = 0
        pending: list[str] = []
        for match in _QUOTE.finditer(paragraph):
            quoted = (match.group(1) or match.group(2) or "").strip()
            key = quoted.strip(" ,.?!").lower()
            speaker = by_line.get(key)
            if speaker is None:
                continue
            before = paragraph[pos:match.start()]
            if pos:  # text right after an earlier line: its tag goes
                before = _TAG_AFTER.sub("", before, count=1)
            before = _TAG_BEFORE.sub("", before).strip()
            if before:
                pending.append(before)
            if pending:
                out.append(_escape(" ".join(pending)))
                pending = []
            speak(speaker, quoted)
            used.add(key)
            pos = match.end()
        rest = paragraph[pos:]
        if pos:
            rest = _TAG_AFTER.sub("", rest, count=1)
        rest = rest.strip()
        if rest:
            pending.append(rest)
        if pending:
            out.append(_escape(" ".join(pending)))
    # lines the text did not quote as such (a model's paraphrase): after the action, in order
    for speaker, line in lines:
        key = re.sub(r"\s+", " ", line).strip(" ,.?!").lower()
        if key not in used:
            speak(speaker, line)
            used.add(key)
    return out


def render(job: dict[str, Any]) -> str:
    all_scenes = story_scenes(job)
    page = [f"Title: {title(job)}", "Credit: Adaptation draft", "Source: novelcrew"]
    if offline(job):
        page.append("Notes: Made by the offline stand-in (plain extraction, no model): "
                    "a pipeline preview, not an adaptation.")
    page.append(f"Draft date: {date.today().isoformat()}")
    parts = ["\n".join(page), ""]
    for scene in all_scenes:
        parts.append("")
        parts.append(heading(scene))
        parts.append("")
        for block in _blocks(scene):
            parts.append(block)
            parts.append("")
        transition = str(scene.get("transition") or "").strip().upper()
        if transition.endswith("TO:"):
            parts.append(f"> {transition}")
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"
