"""One scene's brief: the only story text a scene's prompts carry.

A brief holds the scene's own facts, its characters' and location's descriptions, the one-line
summaries of the scenes before and after it (for transitions), the project's notes,
preferences and constraints. Nothing else from the story goes in, which keeps prompts small
and stops a model mixing up scenes.
"""

from __future__ import annotations

from pydantic import BaseModel

from novelcrew_director.inputs import Constraints, Preferences
from novelcrew_director.story import SceneFacts, StoryContext

#: bounds that keep one scene's prompt small whatever the graph holds
MAX_DESCRIPTION_CHARS = 600
MAX_DIALOGUE_LINES = 12
MAX_CHARACTERS = 24

#: lines an earlier plan added to the scene entity; a new plan starts from the story alone
PLAN_KEYS = frozenset({"heading", "mood", "shots"})


class SceneBrief(BaseModel):
    number: int
    facts: SceneFacts
    text: str
    location_description: str = ""
    unavailable_location: bool = False


def clip(text: str, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    """``text`` cut at a word boundary near ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " ..."


def _neighbour(label: str, facts: SceneFacts | None) -> str:
    if facts is None:
        return ""
    where = f" (location: {facts.location})" if facts.location else ""
    return f"{label} (Scene {facts.number}){where}: {clip(facts.summary, 300) or 'no summary'}"


def _available(location: str | None, constraints: Constraints) -> bool:
    if not location or not constraints.locations_available:
        return True
    wanted = location.lower()
    return any(wanted in option.lower() or option.lower() in wanted
               for option in constraints.locations_available)


def build_brief(story: StoryContext, number: int, preferences: Preferences,
                constraints: Constraints) -> SceneBrief:
    """The brief for scene ``number`` of ``story``."""
    facts = story.scenes[number]
    order = sorted(story.scenes)
    index = order.index(number)
    before = story.scenes[order[index - 1]] if index > 0 else None
    after = story.scenes[order[index + 1]] if index + 1 < len(order) else None
    lines: list[str] = []
    if story.title:
        lines.append(f"Story: {story.title}")
    for label, value in story.project.items():
        if label not in ("Title", "Project"):
            lines.append(f"{label}: {value}")
    if lines:
        lines.append("")
    lines.append(f"SCENE {number}")
    lines.append(f"Summary: {clip(facts.summary, 1200) or 'not given'}")
    location_text = clip(story.location(facts.location))
    if facts.location:
        suffix = f" - {location_text}" if location_text else ""
        lines.append(f"Location: {facts.location}{suffix}")
    if facts.time:
        lines.append(f"Time: {facts.time}")
    if facts.characters:
        lines.append("Characters:")
        for name in facts.characters[:MAX_CHARACTERS]:
            described = clip(story.character(name))
            lines.append(f"- {name}: {described}" if described else f"- {name}")
    if facts.emotional_beat:
        lines.append(f"Emotional beat: {facts.emotional_beat}")
    if facts.purpose:
        lines.append(f"Purpose: {facts.purpose}")
    if facts.dialogue:
        lines.append("Dialogue: " + " | ".join(clip(d, 300)
                                               for d in facts.dialogue[:MAX_DIALOGUE_LINES]))
    if facts.objects:
        objects = [f"{o} ({clip(story.objects[o], 200)})" if story.objects.get(o) else o
                   for o in facts.objects]
        lines.append("Objects: " + "; ".join(objects))
    for key, value in facts.extra.items():
        if key.lower() not in PLAN_KEYS:
            lines.append(f"{key}: {clip(value)}")
    lines.append("")
    lines.append(_neighbour("Previous scene", before) or "This is the first scene of the story.")
    lines.append(_neighbour("Next scene", after) or "This is the last scene of the story.")
    taste = preferences.lines()
    if taste:
        lines += ["", "Preferences:", *taste]
    lines += ["", "Production constraints:", *constraints.lines()]
    unavailable = not _available(facts.location, constraints)
    if unavailable:
        lines.append(
            f"Note: {facts.location} is not among the available locations; plan it for the "
            "closest available one and say so in the visual needs."
        )
    return SceneBrief(number=number, facts=facts, text="\n".join(lines),
                      location_description=location_text, unavailable_location=unavailable)
