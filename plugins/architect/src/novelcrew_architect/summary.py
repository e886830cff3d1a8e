"""The merged analysis as compact text for the synthesis step, within a token budget.

The synthesis model never gets the story again, only this. Long stories produce hundreds of
scenes, so detail is shed in steps (descriptions, then dialogue-free scene lines, then every
other scene) until the summary fits.
"""

from __future__ import annotations

from novelcrew_architect.merge import MergedAnalysis
from novelcrew_architect.tokens import estimate_tokens


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def render(merged: MergedAnalysis, detail: int) -> str:
    """``detail`` 3 is the fullest, 0 the barest."""
    lines: list[str] = ["CHARACTERS"]
    desc_words = (0, 12, 25, 50)[detail]
    for c in merged.characters:
        line = f"- {c.name} ({c.role})"
        if c.aliases and detail >= 2:
            line += f", also {', '.join(c.aliases[:4])}"
        if desc_words and c.description:
            line += f": {_clip(c.description, desc_words)}"
        if desc_words and c.arc:
            line += f" Arc: {_clip(c.arc, desc_words)}"
        if detail >= 2 and c.relationships:
            line += " Relationships: " + "; ".join(
                f"{r.kind} of {r.to}" for r in c.relationships[:6])
        lines.append(line)
    lines.append("LOCATIONS")
    for loc in merged.locations:
        extra = f": {_clip(loc.atmosphere or loc.description, desc_words)}" if desc_words else ""
        also = f", also {', '.join(loc.aliases[:4])}" if loc.aliases and detail >= 2 else ""
        lines.append(f"- {loc.name}{also}{extra}")
    if merged.objects:
        lines.append("KEY OBJECTS")
        for obj in merged.objects:
            extra = f": {_clip(obj.significance or obj.description, desc_words)}" \
                if desc_words else ""
            lines.append(f"- {obj.name}{extra}")
    lines.append("SCENES IN ORDER")
    step = 1 if detail >= 1 else 2
    summary_words = (20, 25, 40, 60)[detail]
    for scene in merged.scenes[::step]:
        line = f"{scene.number}. [{scene.location or '?'}"
        line += f", {scene.day_night}]" if scene.day_night else "]"
        line += f" {_clip(scene.summary, summary_words)}"
        if scene.emotional_beat and detail >= 1:
            line += f" (beat: {_clip(scene.emotional_beat, 8)})"
        if scene.characters and detail >= 2:
            line += f" With: {', '.join(scene.characters[:6])}."
        lines.append(line)
    if step > 1:
        lines.append(f"(every other scene shown; {len(merged.scenes)} scenes in all)")
    return "\n".join(lines)


def summarise(merged: MergedAnalysis, max_tokens: int) -> str:
    """The fullest rendering that fits ``max_tokens`` (the barest one, cut, if none does)."""
    for detail in (3, 2, 1, 0):
        text = render(merged, detail)
        if estimate_tokens(text) <= max_tokens:
            return text
    text = render(merged, 0)
    return text[: max(0, max_tokens * 4 - 40)] + "\n(summary cut to fit the prompt budget)"
