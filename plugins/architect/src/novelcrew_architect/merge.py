"""Merging per-chunk analyses into one, in plain Python (a model never sees the whole story).

One character is one entry however many chunks mention it and under whichever name: entries
are grouped when they share a name or alias, when a lone first name or surname belongs to
exactly one fuller name ("Maya" -> "Maya Okafor"), or when one full name contains another
("Maya Okafor" -> "Maya Adaeze Okafor"). Places merge on their name without articles. Scenes
keep story order and are renumbered across chunks; everything they name resolves to the merged
entries, and names a scene uses that no list declared are added, so the graph stays whole.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from novelcrew_architect.models import (
    Character,
    CharacterRelationship,
    ChunkAnalysis,
    KeyObject,
    Location,
    Scene,
    Span,
    day_night_of,
    int_ext_of,
    slug,
)
from novelcrew_architect.names import (
    has_title,
    name_key,
    name_tokens,
    place_key,
    text_key,
    title_genders,
)
from novelcrew_architect.scenes import (
    join_continuations,
    place_scenes,
    scene_dialogue,
    story_days,
)

ROLE_RANK = {"protagonist": 5, "antagonist": 4, "deuteragonist": 3, "supporting": 2, "minor": 1}
#: texts (one per chunk that wrote one) an arc or description is summarised to
MAX_TEXT_PARTS = 6
STOPWORDS = frozenset({"a", "an", "the", "of", "and", "or", "in", "on", "to", "for", "with", "vs",
                       "versus", "as", "is", "its", "by", "from"})


@dataclass
class MergedAnalysis:
    """The merged structure, before the overview is written; ``scene_chunks`` maps scene
    numbers to the chunk id each came from, ``theme_chunks`` theme keys to chunk ids."""

    characters: list[Character]
    locations: list[Location]
    objects: list[KeyObject]
    scenes: list[Scene]
    themes: list[str]
    scene_chunks: dict[int, str] = field(default_factory=dict)
    first_chunk: dict[str, str] = field(default_factory=dict)  #: entity name -> chunk id
    theme_chunks: dict[str, list[str]] = field(default_factory=dict)
    scene_counts: Counter[str] = field(default_factory=Counter)  #: scenes per character
    story_language: str = ""  #: the language most parts reported the story is written in


def merge_text(parts: Iterable[str], limit: int = MAX_TEXT_PARTS) -> str:
    """Join distinct non-empty texts in story order, skipping ones another already contains.

    More than ``limit`` texts are summarised, not cut: the first and the last are kept and the
    rest sampled evenly between them, so an arc keeps its beginning, middle and end however
    many chunks wrote a part of it. Long sets keep the first sentence of each sampled text.
    """
    kept: list[str] = []
    keys: list[str] = []
    for part in parts:
        part = (part or "").strip()
        key = text_key(part)
        if not key or any(key in k for k in keys):
            continue
        # a later, fuller text replaces the shorter one it contains
        for i, k in enumerate(keys):
            if k in key:
                kept[i], keys[i] = part, key
                break
        else:
            kept.append(part)
            keys.append(key)
    if len(kept) > limit:
        last = len(kept) - 1
        picks = sorted({round(i * last / (limit - 1)) for i in range(limit)})
        kept = [_first_sentence(kept[i]) for i in picks]
    if len(kept) == 1:
        return kept[0]  # one chunk's "quiet, expectant" reads as written, with no full stop
    return " ".join(p if p.endswith(_CLOSED) else p + "." for p in kept)


#: a text that ends so needs no full stop of its own (a closing quote ends one)
_CLOSED = (".", "!", "?", "\u2026", '"', "'", "\u201d", "\u2019")


def _first_sentence(text: str) -> str:
    match = re.search(r"(?<=[.!?\u2026])\s+(?=[A-Z\u201c\"])", text)
    return text[: match.start()] if match else text


def _unique(items: Iterable[str], key=text_key) -> list[str]:  # type: ignore[no-untyped-def]
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        item = (item or "").strip()
        k = key(item)
        if item and k and k not in seen:
            seen.add(k)
            out.append(item)
    return out


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the earliest mention stays the root


class CharacterIndex:
    """Resolves any name a chunk used to the merged character it means."""

    def __init__(self, characters: Sequence[Character]) -> None:
        self.characters = list(characters)
        self._by_key: dict[str, int] = {}
        self._by_token: dict[str, set[int]] = {}
        for i, char in enumerate(self.characters):
            for name in (char.name, *char.aliases):
                key = name_key(name)
                if key:
                    self._by_key.setdefault(key, i)
                tokens = name_tokens(name)
                if len(tokens) > 1:
                    for token in (tokens[0], tokens[-1]):
                        self._by_token.setdefault(token, set()).add(i)

    def resolve(self, name: str) -> Character | None:
        key = name_key(name)
        if not key:
            return None
        if key in self._by_key:
            return self.characters[self._by_key[key]]
        tokens = name_tokens(name)
        if len(tokens) == 1:
            found = self._by_token.get(tokens[0], set())
            if len(found) == 1:
                char = self.characters[next(iter(found))]
                first_names = {name_tokens(n)[0] for n in (char.name, *char.aliases)
                               if name_tokens(n)}
                if tokens[0] in first_names or _surname_fits(title_genders(name), [char]):
                    return char
        else:
            containing = {
                i for i, c in enumerate(self.characters)
                if any(set(tokens) <= set(name_tokens(n)) or set(name_tokens(n)) <= set(tokens)
                       for n in (c.name, *c.aliases) if len(name_tokens(n)) > 1)
            }
            if len(containing) == 1:
                return self.characters[next(iter(containing))]
        return None


def _group_characters(entries: list[tuple[Character, str]]) -> list[list[int]]:
    """Indices of ``entries`` grouped so that each group is one character."""
    uf = _UnionFind(len(entries))
    # the same name means the same person, unless gendered titles say otherwise
    # ("Mr. Pike" and "Mrs. Pike" share the key "pike")
    by_key: dict[str, list[tuple[int, set[str]]]] = {}
    for i, (char, _chunk) in enumerate(entries):
        for name in (char.name, *char.aliases):
            key = name_key(name)
            if not key:
                continue
            genders = title_genders(name)
            seen = by_key.setdefault(key, [])
            match = next((j for j, g in seen if not genders or not g or genders & g), None)
            if match is not None:
                uf.union(match, i)
            seen.append((i, genders))

    def groups() -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(entries)):
            out.setdefault(uf.find(i), []).append(i)
        return out

    def token_sets(members: list[int]) -> list[tuple[str, ...]]:
        return [name_tokens(n) for i in members
                for n in (entries[i][0].name, *entries[i][0].aliases) if name_tokens(n)]

    # one full name containing another ("Maya Okafor" in "Maya Adaeze Okafor"), then lone
    # first names or surnames that belong to exactly one full name
    for single in (False, True):
        current = groups()
        full = {root: [t for t in token_sets(m) if len(t) > 1] for root, m in current.items()}
        for root, members in current.items():
            names = token_sets(members)
            if single and any(len(t) > 1 for t in names):
                continue
            candidates = set()
            genders = {g for i in members for g in title_genders(entries[i][0].name)}
            for other, other_full in full.items():
                if other == root:
                    continue
                for mine in names:
                    if single and len(mine) == 1:
                        if any(mine[0] == t[0] for t in other_full) or (
                            any(mine[0] == t[-1] for t in other_full)
                            and _surname_fits(genders, [entries[i][0] for i in current[other]])
                        ):
                            candidates.add(other)
                    elif not single and len(mine) > 1 and any(
                        set(mine) <= set(t) or set(t) <= set(mine) for t in other_full
                    ):
                        candidates.add(other)
            if len(candidates) == 1:
                uf.union(root, candidates.pop())
    return sorted(groups().values(), key=lambda members: members[0])


def _surname_fits(genders: set[str], others: Sequence[Character]) -> bool:
    """Whether a surname-only mention ("Mr. Ashby") may mean a fuller name's bearer: not when
    its title says a gender that no name of theirs carries (Mr. Ashby is not Nell Ashby)."""
    if not genders:
        return True
    theirs = {g for c in others for n in (c.name, *c.aliases) for g in title_genders(n)}
    return bool(genders & theirs)


def _canonical_name(names: list[str]) -> str:
    """The fullest name used (most name tokens), then the most frequent, then the first."""
    counts = Counter(names)
    order = {n: i for i, n in reversed(list(enumerate(names)))}
    return min(
        counts,
        key=lambda n: (-len(name_tokens(n)), has_title(n), -counts[n], order[n]),
    )


def _role(roles: Iterable[str]) -> str:
    best, rank = "minor", 0
    for role in roles:
        r = (role or "").strip().lower()
        score = ROLE_RANK.get(r, 2 if r else 0)
        if score > rank:
            best, rank = r, score
    return best


def merge_characters(
    entries: list[tuple[Character, str]],
) -> tuple[list[Character], dict[str, str]]:
    """Merge ``(character, chunk_id)`` entries; returns the characters and first chunk per name."""
    merged: list[Character] = []
    first_chunk: dict[str, str] = {}
    for members in _group_characters(entries):
        chars = [entries[i][0] for i in members]
        names = [c.name.strip() for c in chars if c.name.strip()]
        name = _canonical_name(names)
        aliases = [
            a for a in _unique((n for c in chars for n in (c.name, *c.aliases)),
                               key=lambda n: n.lower())
            if a != name
        ]
        merged.append(Character(
            name=name,
            aliases=aliases,
            role=_role(c.role for c in chars),
            description=merge_text(c.description for c in chars),
            arc=merge_text(c.arc for c in chars),
            relationships=[r for c in chars for r in c.relationships],
        ))
        first_chunk[name] = entries[members[0]][1]
    return merged, first_chunk


def _resolve_relationships(characters: list[Character], index: CharacterIndex) -> None:
    for char in characters:
        grouped: dict[tuple[str, str], list[CharacterRelationship]] = {}
        for rel in char.relationships:
            target = index.resolve(rel.to)
            if target is None or target.name == char.name:
                continue
            kind = (rel.kind or "related").strip().lower()
            grouped.setdefault((target.name, kind), []).append(rel)
        char.relationships = [
            CharacterRelationship(to=to, kind=kind,
                                  description=merge_text((r.description for r in rels), 2))
            for (to, kind), rels in grouped.items()
        ]


def _merge_places(entries: list[tuple[Location, str]]) -> tuple[list[Location], dict[str, str]]:
    """One location per place: entries sharing a name or an alias (without articles) merge."""
    uf = _UnionFind(len(entries))
    by_key: dict[str, int] = {}
    for i, (loc, _chunk) in enumerate(entries):
        for name in (loc.name, *loc.aliases):
            key = place_key(name)
            if key:
                if key in by_key:
                    uf.union(by_key[key], i)
                else:
                    by_key[key] = i
    groups: dict[int, list[tuple[Location, str]]] = {}
    for i, item in enumerate(entries):
        groups.setdefault(uf.find(i), []).append(item)
    out: list[Location] = []
    first: dict[str, str] = {}
    for items in groups.values():
        name = Counter(loc.name.strip() for loc, _ in items).most_common(1)[0][0]
        aliases = [a for a in _unique((n for loc, _ in items for n in (loc.name, *loc.aliases)),
                                      key=place_key) if place_key(a) != place_key(name)]
        out.append(Location(
            name=name, aliases=aliases,
            description=merge_text(loc.description for loc, _ in items),
            atmosphere=merge_text((loc.atmosphere for loc, _ in items), 3),
        ))
        first[name] = items[0][1]
    return out, first


def _merge_objects(entries: list[tuple[KeyObject, str]]) -> tuple[list[KeyObject], dict[str, str]]:
    groups: dict[str, list[tuple[KeyObject, str]]] = {}
    for obj, chunk in entries:
        key = place_key(obj.name)
        if key:
            groups.setdefault(key, []).append((obj, chunk))
    out: list[KeyObject] = []
    first: dict[str, str] = {}
    for items in groups.values():
        name = Counter(obj.name.strip() for obj, _ in items).most_common(1)[0][0]
        out.append(KeyObject(
            name=name,
            description=merge_text(obj.description for obj, _ in items),
            significance=merge_text((obj.significance for obj, _ in items), 3),
        ))
        first[name] = items[0][1]
    return out, first


def _with_same_as(names: list[str], pairs: Sequence[tuple[str, str]], key: Any) -> list[str]:
    """``names`` plus every name a "same as" pair ties to one of them."""
    keys = {key(n) for n in names if key(n)}
    extra = []
    for a, b in pairs:
        if key(a) in keys and key(b) not in keys:
            extra.append(b.strip())
        elif key(b) in keys and key(a) not in keys:
            extra.append(a.strip())
    return [*names, *extra]


def one_protagonist(characters: list[Character], scene_counts: Counter[str],
                    named: str = "", ensemble: bool = False) -> None:
    """At most one protagonist unless the story is an ensemble: the one the synthesis named,
    else the one in most scenes; the others become deuteragonists."""
    leads = [c for c in characters if c.role == "protagonist"]
    if ensemble:
        return
    index = CharacterIndex(characters)
    chosen = index.resolve(named) if named.strip() else None
    if chosen is None and not leads:
        return
    if chosen is None:
        chosen = max(leads, key=lambda c: (scene_counts[c.name], -characters.index(c)))
    for char in characters:
        if char is chosen:
            char.role = "protagonist"
        elif char.role == "protagonist":
            char.role = "deuteragonist"


def assign_ids(names: Iterable[str]) -> dict[str, str]:
    """A unique slug per name, in order (``maya``, ``maya-2`` for a second Maya)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = slug(name)
        ident, n = base, 2
        while ident in used:
            ident, n = f"{base}-{n}", n + 1
        used.add(ident)
        out[name] = ident
    return out


def merge_analyses(parts: Sequence[tuple[str, ChunkAnalysis]], story: str = "",
                   ranges: dict[str, tuple[int, int]] | None = None,
                   same_as: Sequence[tuple[str, str]] = ()) -> MergedAnalysis:
    """Merge ``(chunk_id, analysis)`` pairs given in story order.

    ``story`` and ``ranges`` (each chunk's offsets in it) let scenes carry their text; without
    them spans are empty. ``same_as`` pairs (from the synthesis) tie names to one entry.
    """
    ranges = ranges or {}
    characters, first_chunk = merge_characters([
        (c.model_copy(update={"aliases": _with_same_as(c.aliases, same_as, name_key)
                              + [n for n in _with_same_as([c.name], same_as, name_key)[1:]]}),
         chunk)
        for chunk, part in parts for c in part.characters if c.name.strip()
    ])
    index = CharacterIndex(characters)
    _resolve_relationships(characters, index)
    locations, loc_first = _merge_places([
        (loc.model_copy(update={"aliases": _with_same_as([loc.name, *loc.aliases], same_as,
                                                         place_key)[1:]}), chunk)
        for chunk, part in parts for loc in part.locations if loc.name.strip()
    ])
    objects, obj_first = _merge_objects(
        [(o, chunk) for chunk, part in parts for o in part.objects if o.name.strip()]
    )
    loc_by_key = {place_key(n): loc for loc in locations for n in (loc.name, *loc.aliases)}
    obj_by_key = {place_key(o.name): o for o in objects}

    def resolve_place(name: str) -> str:
        key = place_key(name)
        return loc_by_key[key].name if key in loc_by_key else name.strip()

    placed = place_scenes(story, [
        (chunk, ranges.get(chunk, (0, 0)), part.scenes) for chunk, part in parts
    ])
    placed = join_continuations(placed, lambda p: p.chunk,
                                lambda name: place_key(resolve_place(name)))

    scenes: list[Scene] = []
    scene_chunks: dict[int, str] = {}
    scene_counts: Counter[str] = Counter()
    new_days: list[bool] = []
    last_summary = ""
    for item in placed:
        raw, chunk = item.raw, item.chunk
        pieces = [raw, *item.parts]
        if text_key(raw.summary) == last_summary and not story:
            continue  # the same scene reported from the overlap of two chunks
        last_summary = text_key(raw.summary)
        text = story[item.start:item.end] if story else ""
        if story and not text.strip():
            continue  # reported, but not in its part of the text (from the context before it)
        present: list[str] = []

        def person(who: str, chunk: str = chunk) -> Character | None:
            nonlocal index
            char = index.resolve(who)
            if char is None and who.strip():
                char = Character(name=who.strip(), role="minor")
                characters.append(char)
                first_chunk[char.name] = chunk
                index = CharacterIndex(characters)
            return char

        for piece in pieces:
            for who in piece.characters:
                char = person(who)
                if char is not None and char.name not in present:
                    present.append(char.name)
        location = ""
        where = next((p.location for p in pieces if p.location.strip()), "")
        if where.strip():
            key = place_key(where)
            if key not in loc_by_key:
                loc_by_key[key] = Location(name=where.strip())
                locations.append(loc_by_key[key])
                loc_first[where.strip()] = chunk
            location = loc_by_key[key].name
        objs: list[str] = []
        for thing in (t for p in pieces for t in p.objects):
            key = place_key(thing)
            if not key:
                continue
            if key not in obj_by_key:
                obj_by_key[key] = KeyObject(name=thing.strip())
                objects.append(obj_by_key[key])
                obj_first[thing.strip()] = chunk
            if obj_by_key[key].name not in objs:
                objs.append(obj_by_key[key].name)

        def speaker(name: str) -> str:
            char = index.resolve(name)
            return char.name if char is not None else name.strip()

        reported = [d for p in pieces for d in p.dialogue]
        dialogue = scene_dialogue(text, reported, speaker) if story else [
            d.model_copy(update={"speaker": speaker(d.speaker) if d.speaker else ""})
            for d in reported]
        for line in dialogue:
            if line.speaker and line.speaker not in present and index.resolve(line.speaker):
                present.append(line.speaker)
        day_night = day_night_of(raw.day_night)
        number = len(scenes) + 1
        scenes.append(Scene(
            id=f"s{number:03d}", number=number, text=text,
            span=Span(start=item.start, end=item.end) if story else Span(start=0, end=0),
            summary=merge_text((p.summary for p in pieces), 3), location=location,
            int_ext=int_ext_of(next((p.int_ext for p in pieces if p.int_ext), None)),
            day_night=day_night, time_of_day=day_night or "",
            characters=present,
            emotional_beat=next((p.emotional_beat.strip() for p in reversed(pieces)
                                 if p.emotional_beat.strip()), ""),
            purpose=merge_text((p.purpose for p in pieces), 2).rstrip("."),
            dialogue=dialogue, objects=objs, located=item.located or not story,
        ))
        scene_counts.update(present)
        scene_chunks[number] = chunk
        new_days.append(raw.new_day)
    days = story_days([s.day_night for s in scenes], new_days)

    char_ids = assign_ids(c.name for c in characters)
    loc_ids = assign_ids(loc.name for loc in locations)
    for char in characters:
        char.id = char_ids[char.name]
    for loc in locations:
        loc.id = loc_ids[loc.name]
    for scene, day in zip(scenes, days, strict=True):
        scene.story_day = day
        scene.character_ids = [char_ids[n] for n in scene.characters if n in char_ids]
        scene.location_id = loc_ids.get(scene.location) if scene.location else None

    theme_chunks: dict[str, list[str]] = {}
    themes: list[str] = []
    for chunk, part in parts:
        for theme in part.themes:
            key = text_key(theme)
            if not key:
                continue
            if key not in theme_chunks:
                themes.append(theme.strip())
                theme_chunks[key] = []
            if chunk not in theme_chunks[key]:
                theme_chunks[key].append(chunk)
    said = Counter(" ".join(p.story_language.split()).capitalize() for _, p in parts
                   if p.story_language.strip() and len(p.story_language) <= 40)
    return MergedAnalysis(
        story_language=said.most_common(1)[0][0] if said else "",
        characters=characters, locations=locations, objects=objects, scenes=scenes,
        themes=themes, scene_chunks=scene_chunks,
        first_chunk={**first_chunk, **loc_first, **obj_first}, theme_chunks=theme_chunks,
        scene_counts=scene_counts,
    )


def chunks_for_theme(theme: str, theme_chunks: dict[str, list[str]]) -> list[str]:
    """Chunks whose themes match ``theme``: same words, or one wording containing the other."""
    key = text_key(theme)
    words = set(key.split()) - STOPWORDS
    found: list[str] = []
    for other, chunks in theme_chunks.items():
        other_words = set(other.split()) - STOPWORDS
        overlap = len(words & other_words) / max(1, min(len(words), len(other_words)))
        if key == other or key in other or other in key or overlap >= 0.5:
            found.extend(c for c in chunks if c not in found)
    return found
