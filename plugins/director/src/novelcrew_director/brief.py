"""One scene's brief: the only story material a scene's prompts carry.

The breakdown prompt gets the scene's own source text (trimmed, with a note, when longer than
the budget), its facts (INT/EXT, DAY/NIGHT, story day, dialogue with speakers), the full
entries of its characters (with their ids) and location, one-line summaries of the scenes
before and after it (for transitions and continuity), the project's notes, preferences and
constraints. The shot-list prompt gets the same header and the dialogue, not the prose again:
the approved breakdown (blocking, beats) stands for it, which keeps the director's prompts
within about 1.5x the story.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from novelcrew_director.inputs import Constraints, Preferences
from novelcrew_director.story import SceneFacts, StoryContext

#: bounds that keep one scene's prompt small whatever the story holds
MAX_SCENE_TEXT_CHARS = 20_000
MAX_ENTRY_CHARS = 600
MAX_DIALOGUE_LINES = 40
MAX_CHARACTERS = 24
SHOT_DIALOGUE_LINES = 10

#: lines an earlier plan added to the scene entity; a new plan starts from the story alone
PLAN_KEYS = frozenset({"heading", "mood", "shots", "text"})


class SceneBrief(BaseModel):
    number: int
    facts: SceneFacts
    #: the breakdown prompt's material (with the scene's text)
    text: str
    #: the shot-list prompt's material (header and dialogue, no prose)
    shot_text: str = ""
    location_description: str = ""
    unavailable_location: bool = False
    cast_ids: dict[str, str] = Field(default_factory=dict, description="name -> id")
    text_trimmed: bool = False
    previous: SceneFacts | None = None


#: characters every scene's prompts carry besides the brief: task and agent texts are measured,
#: this covers crewAI's framing of two calls and the breakdown digest the shot list gets
FRAMING_CHARS = 1400
#: a scene's text is never trimmed below this for the budget
MIN_SCENE_TEXT_CHARS = 1500


#: entry lengths tried, fullest first, when the prompts would exceed the budget
ENTRY_STEPS = (MAX_ENTRY_CHARS, 300, 150, 60)


class Budget(BaseModel):
    """How the scenes' prompts fit the prompt budget (see ``text_limits``)."""

    limits: dict[int, int]
    entry_chars: int = MAX_ENTRY_CHARS
    attainable: bool = True


def text_limits(story: StoryContext, numbers: list[int], preferences: Preferences,
                constraints: Constraints, *, cap: int, budget: float,
                template_chars: int) -> Budget:
    """Per scene, the most text its prompt may carry, and the length of the character and
    location entries, so that all the director's prompts stay within ``budget`` times the
    planned scenes' text.

    Entries are shortened first (fullest, then 300, 150, 60 characters) until the prompts'
    fixed part takes at most half the budget; then every scene's text is trimmed in
    proportion (never below ``MIN_SCENE_TEXT_CHARS``). With room to spare: ``cap`` and full
    entries. When even the shortest entries and texts cannot fit (scenes far shorter than
    the prompts' fixed part, as in a short story), nothing is cut: the budget is for long
    stories, and cutting would cost the plan without meeting it (``attainable`` is False).
    """
    lengths = {n: min(len(story.scenes[n].text.strip()), cap) for n in numbers}
    story_chars = sum(len(story.scenes[n].text.strip()) for n in numbers)
    full = Budget(limits={n: cap for n in numbers})
    if not story_chars:
        return full
    allowed = budget * story_chars

    def fixed_part(entry_chars: int) -> int:
        total = 0
        for n in numbers:
            brief = build_brief(story, n, preferences, constraints, text_limit=cap,
                                entry_chars=entry_chars)
            total += (len(brief.text) - lengths[n] + len(brief.shot_text) + template_chars
                      + FRAMING_CHARS)
        return total

    floor = sum(min(length, MIN_SCENE_TEXT_CHARS) for length in lengths.values())
    if fixed_part(ENTRY_STEPS[-1]) + floor > allowed:
        return full.model_copy(update={"attainable": False})
    fixed, entry_chars = 0, MAX_ENTRY_CHARS
    for entry_chars in ENTRY_STEPS:
        fixed = fixed_part(entry_chars)
        if fixed + sum(lengths.values()) <= allowed or fixed <= allowed / 2:
            break
    available = allowed - fixed
    wanted = sum(lengths.values())
    if available >= wanted:
        return Budget(limits={n: cap for n in numbers}, entry_chars=entry_chars)
    factor = max(available, 0) / wanted
    return Budget(limits={n: min(cap, max(MIN_SCENE_TEXT_CHARS, int(length * factor)))
                          for n, length in lengths.items()}, entry_chars=entry_chars)


def clip(text: str, limit: int = MAX_ENTRY_CHARS) -> str:
    """``text`` cut at a word boundary near ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " ..."


def trim_scene_text(text: str, limit: int = MAX_SCENE_TEXT_CHARS) -> tuple[str, bool]:
    """The scene's text, or its opening and ending with a note saying how much is left out."""
    text = text.strip()
    if len(text) <= limit:
        return text, False
    head = text[: limit * 2 // 3].rsplit(" ", 1)[0]
    tail = text[len(text) - limit // 3:].split(" ", 1)[-1]
    omitted = len(text.split()) - len(head.split()) - len(tail.split())
    note = (f"\n[... {omitted} words of the middle of this scene are left out here to fit the "
            "prompt budget; plan what is given and mark what you infer as suggested ...]\n")
    return head + note + tail, True


def _neighbour(label: str, facts: SceneFacts | None) -> str:
    if facts is None:
        return ""
    where = f" (location: {facts.location})" if facts.location else ""
    return f"{label} (Scene {facts.number}){where}: {clip(facts.summary, 160) or 'no summary'}"


def _available(location: str | None, constraints: Constraints) -> bool:
    if not location or not constraints.locations_available:
        return True
    wanted = location.lower()
    return any(wanted in option.lower() or option.lower() in wanted
               for option in constraints.locations_available)


def _dialogue(facts: SceneFacts, limit: int = MAX_DIALOGUE_LINES,
              chars: int = 300) -> list[str]:
    if facts.lines:
        return [f"- {line.speaker or '?'}: {clip(line.line, chars)}"
                for line in facts.lines[:limit]]
    return [f"- {clip(d, chars)}" for d in facts.dialogue[:limit]]


def build_brief(story: StoryContext, number: int, preferences: Preferences,
                constraints: Constraints, *, text_limit: int = MAX_SCENE_TEXT_CHARS,
                entry_chars: int = MAX_ENTRY_CHARS) -> SceneBrief:
    """The brief for scene ``number`` of ``story``."""
    facts = story.scenes[number]
    order = sorted(story.scenes)
    index = order.index(number)
    before = story.scenes[order[index - 1]] if index > 0 else None
    after = story.scenes[order[index + 1]] if index + 1 < len(order) else None
    head: list[str] = []
    if story.title:
        head.append(f"Title: {story.title}")
    if story.language:
        head.append(f"Language of the story: {story.language}")
    for label, value in story.project.items():
        if label not in ("Title", "Project"):
            head.append(f"{label}: {value}")
    if head:
        head.append("")
    head.append(f"SCENE {number}" + (f" (id {facts.id})" if facts.id else ""))
    slug_parts = [facts.int_ext, facts.location, facts.day_night or facts.time]
    if any(slug_parts):
        head.append("Set: " + " / ".join(p for p in slug_parts if p)
                    + (f", story day {facts.story_day}" if facts.story_day else ""))
    location_text = clip(story.location(facts.location), entry_chars)
    if facts.location and location_text:
        head.append(f"Location entry: {location_text}")
    cast_ids: dict[str, str] = {}
    if facts.characters:
        head.append("Characters (id = name: entry):")
        for name in facts.characters[:MAX_CHARACTERS]:
            cast_ids[name] = story.character_id(name)
            described = clip(story.character(name), entry_chars)
            head.append(f"- {cast_ids[name]} = {name}" + (f": {described}" if described else ""))
    body: list[str] = []
    trimmed = False
    if facts.text:
        scene_text, trimmed = trim_scene_text(facts.text, text_limit)
        body += ["Scene text:", scene_text]
    else:
        body.append(f"Summary (no source text stored): {clip(facts.summary, 1200) or 'none'}")
    extra: list[str] = []
    if facts.emotional_beat:
        extra.append(f"Emotional beat: {facts.emotional_beat}")
    if facts.purpose:
        extra.append(f"Purpose: {facts.purpose}")
    if facts.objects:
        extra.append("Objects: " + "; ".join(
            f"{o} ({clip(story.objects[o], 200)})" if story.objects.get(o) else o
            for o in facts.objects))
    for key, value in facts.extra.items():
        if key.lower() not in PLAN_KEYS:
            extra.append(f"{key}: {clip(value)}")
    dialogue = _dialogue(facts)
    around = [_neighbour("Previous scene", before) or "This is the first scene.",
              _neighbour("Next scene", after) or "This is the last scene."]
    taste = preferences.lines()
    tail: list[str] = []
    if taste:
        tail += ["Preferences: " + "; ".join(taste)]
    tail.append("Constraints: " + "; ".join(constraints.lines()))
    unavailable = not _available(facts.location, constraints)
    if unavailable:
        tail.append(f"Note: {facts.location} is not among the available locations; plan it "
                    "for the closest available one and say so in set dressing.")
    text = "\n".join([*head, *body, *extra,
                      *(["Dialogue:", *dialogue] if dialogue and not facts.text else []),
                      "", *around, *tail])
    # the shot list's header: the set and who is who (ids for "subjects"), not the entries
    cast_line = "Characters: " + ", ".join(f"{cid} = {name}" for name, cid in cast_ids.items())
    lines = _dialogue(facts, SHOT_DIALOGUE_LINES, 120)
    shot_text = "\n".join([
        *(line for line in head if line.startswith(("SCENE", "Set:", "Language"))),
        *([cast_line] if cast_ids else []),
        *(["Dialogue:", *lines] if lines else []),
        *(line for line in tail if not line.startswith("Note:"))])
    return SceneBrief(number=number, facts=facts, text=text, shot_text=shot_text,
                      location_description=location_text, unavailable_location=unavailable,
                      cast_ids=cast_ids, text_trimmed=trimmed, previous=before)
