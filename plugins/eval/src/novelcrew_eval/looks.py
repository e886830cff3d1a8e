"""The storyboard's looks against gold: are the looks it says the story states the right ones?

Every image prompt repeats a character's bible entry, so a look the bible marks ``stated`` but
the story gives someone else (Mara Quill with the moustache of the man on the rope) is a wrong
face in every generated shot. ``looks_precision`` judges the stated looks against the gold
``looks`` of the person the entry is (by name, as the character scores match); ``looks_recall``
counts the gold looks the bible carries at all, stated or inferred.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novelcrew_eval.gold import GoldCharacter, LoadedGold
from novelcrew_eval.matching import content_tokens, looks_match, match_name
from novelcrew_eval.result import ResultView

__all__ = ["LOOK_FIELDS", "bible_characters", "looks_precision", "looks_recall", "trait_text"]

#: the bible's single-trait look fields (``distinguishing_features`` is a list of traits)
LOOK_FIELDS = ("age_range", "build", "skin", "hair", "eyes")


def trait_text(trait: Any) -> str:
    """A trait's value, whether given as ``{value, stated, evidence}`` or a bare string."""
    value = trait.get("value") if isinstance(trait, dict) else trait
    return value.strip() if isinstance(value, str) else ""


def bible_characters(view: ResultView) -> list[dict[str, Any]]:
    """The storyboard bible's character entries (empty without a storyboard)."""
    board = view.storyboard or {}
    bible = board.get("bible") if isinstance(board.get("bible"), dict) else {}
    return [c for c in (bible or {}).get("characters") or [] if isinstance(c, dict)]


#: fields whose name is part of the look: hair "grey" is grey hair, not the gold's grey eyes
_NOUNS = ("hair", "eyes")


def _traits(entry: dict[str, Any]) -> list[tuple[str, Any]]:
    """(look as compared, trait) for each look field and feature the entry fills."""
    features = entry.get("distinguishing_features")
    pairs = [(key, entry.get(key)) for key in LOOK_FIELDS]
    pairs += [("feature", f) for f in features] if isinstance(features, list) else []
    out = []
    for key, trait in pairs:
        value = trait_text(trait)
        if value and key in _NOUNS and not content_tokens(key) <= content_tokens(value):
            value = f"{value} {key}"
        out.append((value, trait))
    return out


@dataclass
class _Entry:
    name: str
    gold: GoldCharacter
    traits: list[tuple[str, Any]]


def _matched(loaded: LoadedGold, view: ResultView) -> list[_Entry]:
    """Bible entries that are a gold character: by the entry's name, or the names of the
    architect character its id is."""
    gold = loaded.gold.characters
    out: list[_Entry] = []
    for entry in bible_characters(view):
        name = str(entry.get("name") or entry.get("id") or "")
        names = [name]
        if str(entry.get("id")) in view.character_ids:
            names += view.character_names(str(entry.get("id")))
        index = match_name(names, [c.names for c in gold])
        if index is not None:
            out.append(_Entry(name, gold[index], _traits(entry)))
    return out


def looks_precision(loaded: LoadedGold, view: ResultView) -> tuple[float | None, list[str]]:
    """The share of stated looks that the gold says of that person.

    A stated trait with a value is right when its value (a hair or eyes value read with its
    noun) or its evidence matches one of the person's gold looks; a stated look on someone the
    story never describes, or matching none of their looks, is wrong. Entries that are no gold
    character are left out (the character scores count them). n/a without a storyboard or
    without a stated look.
    """
    stated = 0
    wrong: list[str] = []
    for entry in _matched(loaded, view):
        for value, trait in entry.traits:
            if not (isinstance(trait, dict) and trait.get("stated") is True and value):
                continue
            stated += 1
            evidence = trait_text({"value": trait.get("evidence")})
            if not any(looks_match(value, look) or (evidence and looks_match(evidence, look))
                       for look in entry.gold.looks):
                wrong.append(f"{entry.name}: {value}")
    if not stated:
        return None, []
    return 1 - len(wrong) / stated, wrong


def looks_recall(loaded: LoadedGold, view: ResultView) -> tuple[float | None, list[str]]:
    """The share of gold looks the bible gives their person, stated or inferred (by value).

    Over the gold characters with looks that the bible has an entry for: one left out of the
    bible is the character scores' loss, not this one's. n/a without such a character.
    """
    values: dict[str, list[str]] = {}
    people: dict[str, GoldCharacter] = {}
    for entry in _matched(loaded, view):
        if entry.gold.looks:
            people[entry.gold.name] = entry.gold
            values.setdefault(entry.gold.name, []).extend(v for v, _ in entry.traits if v)
    total = sum(len(person.looks) for person in people.values())
    if not total:
        return None, []
    missed = [f"{name}: {look}" for name, person in people.items() for look in person.looks
              if not any(looks_match(value, look) for value in values[name])]
    return 1 - len(missed) / total, missed
