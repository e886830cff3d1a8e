"""The breakdown sheet, assembled in Python from the story's facts and the model's answer.

What the text says is fact; what the model adds is marked. An item is ``suggested`` unless its
head noun (the last word before any "of"/"with"/"for" phrase, or the item's last word; plurals
folded) occurs in the scene's source text (or, with no text stored, its summary, dialogue and
objects): "coil of rope" and "old Bedford van" are the text's, "thermos flask" and "soaked
wool jumper" (when only "soaked" is written) are the model's. Cast
comes from the scene's characters (by id), page eighths from the text (``pages.py``), and
continuity notes from comparing each scene with the one before it in story order.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable

from novelcrew_director.models import (
    CATEGORIES,
    PER_CHARACTER,
    AnswerItem,
    BreakdownItem,
    BreakdownSheet,
    PlannedScene,
    SceneBreakdown,
)
from novelcrew_director.pages import EIGHTHS, format_eighths, page_eighths
from novelcrew_director.story import SceneFacts, StoryContext
from novelcrew_director.wardrobe import scene_wardrobe

_STOP = frozenset({"with", "from", "that", "this", "their", "there", "into", "onto", "over",
                   "under", "some", "each", "very", "small", "large", "old", "new", "pair"})
_WORD = re.compile(r"[^\W\d_]{3,}", re.U)


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def grounding(facts: SceneFacts) -> set[str]:
    """The stems a scene's own material contains (what counts as 'the text says so')."""
    material = facts.text or " ".join([facts.summary, *facts.dialogue, *facts.objects,
                                       facts.location or ""])
    return {_stem(w) for w in _WORD.findall(material)}


_HEAD_SPLIT = re.compile(r"\b(?:of|with|for|from|on|in)\b|[(,:;]", re.I)


def is_grounded(item: str, stems: set[str]) -> bool:
    """Whether ``item``'s head noun (or last word) is in the scene's material."""
    heads = []
    for part in (_HEAD_SPLIT.split(item, maxsplit=1)[0], item):
        words = [w for w in re.findall(r"[^\W\d_]+", part, re.U) if w.lower() not in _STOP]
        if words:
            heads.append(_stem(words[-1]))
    return any(head in stems for head in heads)


def _cast_id(story: StoryContext, name: str | None) -> str | None:
    if not name:
        return None
    return story.character_id(name)


#: an object of the story that is an animal: it needs a wrangler, not a props master
_ANIMAL = re.compile(
    r"\b(?:pony|ponies|horses?|mares?|foals?|donkeys?|mules?|dogs?|collies?|sheepdogs?|"
    r"terriers?|spaniels?|lurchers?|greyhounds?|hounds?|pupp(?:y|ies)|cats?|kittens?|cows?|"
    r"heifers?|calf|calves|bulls?|bullocks?|oxen|goats?|sheep|ewes?|rams?|lambs?|pigs?|hens?|"
    r"chickens?|geese|goose|ducks?|parrots?|hawks?|falcons?|owls?|eagles?|ravens?|rabbits?|"
    r"ferrets?|cattle|flock|herd)\b", re.I)

#: an object of the story that is a picture vehicle
_VEHICLE = re.compile(
    r"\b(?:cars?|vans?|trucks?|lorr(?:y|ies)|tractors?|motorbikes?|motorcycles?|bicycles?|"
    r"bikes?|scooters?|boats?|punts?|ferr(?:y|ies)|dinghy|canoes?|buses|bus|taxis?|trains?|"
    r"tankers?|ambulances?|carts?|land rover|range rover|pick-?up trucks?|pick-?ups?|"
    r"quad bikes?|"
    r"minibus(?:es)?|coach(?:es)?|caravans?|trailers?|helicopters?|planes?|yachts?|"
    r"rowing boats?|lifeboats?)\b(?!\s+(?:park|stop|shelter|station|ride|journey|fare))",
    re.I)
#: wild and kept animals a scene can show, beyond those a breakdown names as objects
_WILD = re.compile(
    r"\b(?:birds?|gulls?|seagulls?|crows?|rooks?|swans?|pigeons?|robins?|petrels?|gannets?|"
    r"puffins?|seals?|deer|stags?|foxes|fox|badgers?|mice|mouse|rats?|bees|wasps?|"
    r"sheepdog|budgies?|tortoises?)\b", re.I)
_DETERMINED = (r"(?:\b(?:the|a|an|his|her|their|its|my|our|your|two|three|four|some)\s+|"
               r"['\u2019]s\s+)(?:(?P<mod>(?-i:[a-z][a-z-]+))\s+)?")
#: what makes the noun before it a modifier: "lamb racks" are the kitchen's, "horse racing" is
#: on the television
_COMPOUND = (r"(?:racing|racks?|chops?|stew|shanks?|steaks?|roast|cutlets?|fillets?|loin|mince|"
             r"pie|sausages?|burgers?|flap|food|bowl|hair|show|stings?|hives?|keeper)\b")
#: a vehicle or animal only compared to ("a sound like a train", "the way a horse's does")
_LIKE = re.compile(r"\b(?:like|as|than|way)\s+(?:a|an|the|some)?\s*$", re.I)
_SPEECH = re.compile(r"[\"\u201c][^\"\u201c\u201d\n]*[\"\u201d]")
#: words before a vehicle or animal that are no part of its name: "the same van"
_NOT_MODIFIERS = frozenset({"same", "other", "only", "first", "last", "next", "whole", "one",
                            "and", "or", "of", "was", "were", "is", "had", "very", "own"})


def category(item: str) -> str:
    """The sheet's category of one of the story's objects: an animal needs a wrangler, a
    vehicle a picture-vehicle coordinator, the rest the props master."""
    return "animals" if _ANIMAL.search(item) else "vehicles" if _VEHICLE.search(item) \
        else "props"


def _kind(noun: str) -> str:
    """One key for a noun's singular and plural: "eagles" and "eagle", "ponies" and "pony"."""
    word = noun.split()[-1].lower()
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def without_speech(text: str) -> str:
    """The scene's narration: its text without quoted speech (what is shown, not said)."""
    return _SPEECH.sub(" ", text)


def shown(text: str) -> list[tuple[str, str]]:
    """``(category, item)`` for each vehicle and animal the scene's narration names, once per
    kind, as the text words it ("quad bike", "delivery van", "cats"). Quoted speech is left
    out: the tractor someone asks for is not in the scene, the van a line remembers is not
    on the truck list.
    """
    narration = without_speech(text)
    found: dict[str, tuple[str, str]] = {}
    for key, pattern in (("vehicles", _VEHICLE), ("animals", _ANIMAL), ("animals", _WILD)):
        for match in re.finditer(rf"(?:{_DETERMINED})?(?P<noun>{pattern.pattern})"
                                 rf"(?![-\u2019']|\s+{_COMPOUND})", narration, re.I):
            noun, mod = match.group("noun"), match.group("mod")
            if _LIKE.search(narration[max(0, match.start("noun") - 30):match.start("noun")]):
                continue
            noun = noun if noun.istitle() and " " in noun else noun.lower()  # "Land Rover"
            if mod and (mod in _NOT_MODIFIERS or _VEHICLE.fullmatch(mod)
                        or _ANIMAL.fullmatch(mod)):
                mod = None
            found.setdefault(_kind(noun), (key, f"{mod} {noun}" if mod else noun))
    return list(found.values())


def sheet(facts: SceneFacts, story: StoryContext, answer: SceneBreakdown | None,
          screen_seconds: float, *, trust: bool = True) -> BreakdownSheet:
    """The breakdown sheet of one scene; ``answer`` is None for an untrusted model."""
    stems = grounding(facts)
    cast = list(dict.fromkeys(story.character_id(name) for name in facts.characters))
    if answer is not None and trust:
        known = {story.character_id(n) for n in story.characters} | set(
            story.character_ids.values())
        for name in answer.characters:
            cid = story.character_id(name)
            if cid in known and cid not in cast:
                cast.append(cid)
    categories: dict[str, list[BreakdownItem]] = {key: [] for key in CATEGORIES}
    if answer is not None and trust:
        for key in CATEGORIES:
            items: list[AnswerItem] = getattr(answer, key)
            for entry in items:
                character = _cast_id(story, entry.character) if key in PER_CHARACTER else None
                categories[key].append(BreakdownItem(
                    item=entry.item, character=character,
                    suggested=not is_grounded(entry.item, stems)))
    if not trust and facts.text:
        # an untrusted model's wardrobe is not taken: what the text says a cast member wears is
        categories["wardrobe"] = stated_wardrobe(facts, story, cast)
    # the story's own objects are on the sheet whatever the model said: an animal ("geese",
    # "Biscuit (Shetland pony)") under animals for a wrangler, a motorbike under vehicles for
    # the picture-vehicle coordinator, the rest as props
    have = {item.item.lower() for items in categories.values() for item in items}
    for obj in facts.objects:
        if obj.lower() not in have:
            key = category(obj)
            categories[key].append(BreakdownItem(item=obj, suggested=not is_grounded(obj, stems)))
    # and every vehicle and animal the narration shows, whoever listed it or did not: each
    # is a booking (a picture car and its driver, a wrangler), not a prop to be found later
    listed = {_kind(w) for items in categories.values() for i in items
              for w in _WORD.findall(i.item)}
    for key, item in shown(facts.text):
        if _kind(item) not in listed:
            categories[key].append(BreakdownItem(item=item, suggested=False))
    if facts.text:
        eighths = page_eighths(facts.text, [line.line for line in facts.lines])
    else:  # no text stored: a page is about a minute of screen time
        eighths = max(1, math.ceil(screen_seconds / 60 * EIGHTHS))
    notes = [line for line in (answer.continuity if answer is not None and trust else [])
             if line.strip()]
    return BreakdownSheet(cast=cast, page_eighths=eighths, pages=format_eighths(eighths),
                          continuity=notes, **categories)


def stated_wardrobe(facts: SceneFacts, story: StoryContext,
                    cast: list[str]) -> list[BreakdownItem]:
    """The wardrobe the scene's text gives its cast by name (``wardrobe.py``), as facts."""
    names = dict(story.character_ids)
    for name in story.characters:
        names.setdefault(name, story.character_id(name))
    texts = [scene.text for scene in story.scenes.values() if scene.text]
    return [BreakdownItem(item=item, character=cid, suggested=False)
            for cid, item in scene_wardrobe(facts.text, cast, names, texts)]


def _items(scene: PlannedScene, key: str) -> list[BreakdownItem]:
    return list(getattr(scene.breakdown, key))


def add_continuity(scenes: Iterable[PlannedScene],
                   name: Callable[[str], str] = lambda cid: cid) -> None:
    """Notes on what must match the previous scene, computed from both breakdowns; people by
    ``name`` (their id by default), since the notes are read by the crew, not a program.

    Same story day (or unknown) and shared cast: wardrobe and makeup/hair carry over; props,
    vehicles and animals in both scenes are carried; a change of DAY/NIGHT within one story
    day is a time jump to show; exterior weather carries within a story day.
    """
    ordered = sorted(scenes, key=lambda s: s.number)
    for before, scene in itertools.pairwise(ordered):
        computed: list[str] = []
        same_day = (before.story_day is None or scene.story_day is None
                    or before.story_day == scene.story_day)
        shared = [c for c in scene.breakdown.cast if c in before.breakdown.cast]
        if shared and same_day:
            worn: dict[str, list[str]] = {}
            for i in _items(before, "wardrobe"):
                if i.character is not None and i.character in shared:
                    worn.setdefault(i.character, []).append(i.item)
            wardrobe = [f"{name(who)}: {', '.join(items)}" for who, items in worn.items()]
            computed.append(
                f"from scene {before.number}: {', '.join(map(name, shared))} in the same "
                "wardrobe and makeup/hair" + (f" ({'; '.join(wardrobe)})" if wardrobe else ""))
            injuries = [i.item for i in _items(before, "makeup_hair")
                        if i.character in shared and re.search(
                            r"blood|bruise|cut|wound|scar|bandage|injur|burn", i.item, re.I)]
            if injuries:
                computed.append(f"injuries carried from scene {before.number}: "
                                + "; ".join(injuries))
        for key in ("props", "vehicles", "animals"):  # the same lantern, motorbike, pony
            had = {i.item.lower() for i in _items(before, key)}
            carried = [i.item for i in _items(scene, key) if i.item.lower() in had]
            if carried:
                computed.append(f"{key} carried from scene {before.number}: "
                                f"{', '.join(carried)}")
        if (same_day and before.day_night and scene.day_night
                and before.day_night != scene.day_night):
            computed.append(f"time moves from {before.day_night.value} (scene {before.number}) "
                            f"to {scene.day_night.value}")
        if (same_day and before.story_day is not None and scene.story_day is not None
                and "EXT" in str(getattr(before.int_ext, "value", ""))
                and "EXT" in str(getattr(scene.int_ext, "value", ""))):
            computed.append(f"weather and light continue from scene {before.number} "
                            f"(story day {scene.story_day})")
        if before.story_day is not None and scene.story_day is not None \
                and scene.story_day > before.story_day:
            computed.append(f"new story day {scene.story_day} (scene {before.number} was day "
                            f"{before.story_day}): wardrobe changes")
        scene.breakdown.continuity = computed + [
            n for n in scene.breakdown.continuity if n not in computed]


def total_eighths(scenes: Iterable[PlannedScene]) -> tuple[int, str]:
    eighths = sum(scene.breakdown.page_eighths for scene in scenes)
    return eighths, format_eighths(eighths)
