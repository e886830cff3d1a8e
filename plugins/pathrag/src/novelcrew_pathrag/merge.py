"""How a second write of the same entity or relationship merges into the first.

Writers re-insert (chunks of a long story name one character many times; a retried job writes
its graph again), so merging must be idempotent: descriptions keep every distinct sentence
once, ``Key: value`` lines (the scene format of docs/architecture.md) keep one line per key,
types keep the more specific one, weights keep the maximum, keywords and sources are unions.
"""

from __future__ import annotations

import re

SOURCE_SEP = "<SEP>"
#: Types of the story graph (docs/architecture.md); they win over other and unknown types.
STORY_TYPES = frozenset({"story", "character", "location", "object", "scene", "theme",
                         "shot"})
GENERIC_TYPES = frozenset({"", "unknown", "entity", "other", "none"})
#: ``Key: value`` fields whose values are lists (union on merge); other keys: newer wins.
LIST_FIELDS = {"characters": ", ", "dialogue": " | "}

_KEY_LINE = re.compile(r"^([A-Z][A-Za-z0-9 ]{0,30}):\s*(.*)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])")
_SPACE = re.compile(r"\s+")


def name_key(name: str) -> str:
    """The identity of a name: case and spacing do not make a different entity."""
    return _SPACE.sub(" ", name.strip().strip('"')).casefold()


def type_rank(entity_type: str) -> int:
    if entity_type in GENERIC_TYPES:
        return 0
    return 2 if entity_type in STORY_TYPES else 1


def stronger_type(current: str, new: str) -> str:
    """The more specific type; on a tie the first one written stays."""
    return new if type_rank(new) > type_rank(current) else current


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip()).casefold().rstrip(".")


def _sentences(line: str) -> list[str]:
    return [part.strip() for part in _SENTENCE.split(line) if part.strip()]


def merge_description(current: str, new: str) -> str:
    """``current`` plus what ``new`` adds: distinct sentences, one line per ``Key:``."""
    if not current.strip():
        return new.strip()
    if not new.strip() or _norm(current) == _norm(new):
        return current.strip()
    lines = [line for line in current.strip().splitlines() if line.strip()]
    keyed: dict[str, int] = {}
    for index, line in enumerate(lines):
        match = _KEY_LINE.match(line.strip())
        if match:
            keyed.setdefault(match.group(1).casefold(), index)
    seen = {_norm(s) for line in lines for s in _sentences(line)}
    for line in new.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        match = _KEY_LINE.match(line)
        if match and match.group(1).casefold() in keyed:
            index = keyed[match.group(1).casefold()]
            lines[index] = _merge_field(lines[index], match.group(1), match.group(2))
            continue
        fresh = [s for s in _sentences(line) if _norm(s) not in seen]
        if not fresh:
            continue
        seen.update(_norm(s) for s in fresh)
        if match:
            keyed[match.group(1).casefold()] = len(lines)
        elif lines and not _KEY_LINE.match(lines[-1].strip()):
            # prose continues the prose paragraph
            joint = " " if lines[-1].rstrip().endswith((".", "!", "?", '"', "'")) else ". "
            lines[-1] = lines[-1].rstrip() + joint + " ".join(fresh)
            continue
        lines.append(" ".join(fresh))
    return "\n".join(lines)


def _merge_field(old_line: str, key: str, new_value: str) -> str:
    old_match = _KEY_LINE.match(old_line.strip())
    old_value = old_match.group(2) if old_match else ""
    sep = LIST_FIELDS.get(key.casefold())
    if sep is None:
        return f"{key}: {new_value}" if new_value.strip() else old_line
    items = [item.strip() for item in old_value.split(sep.strip()) if item.strip()]
    known = {_norm(item) for item in items}
    for item in new_value.split(sep.strip()):
        if item.strip() and _norm(item) not in known:
            items.append(item.strip())
            known.add(_norm(item))
    return f"{key}: {sep.join(items)}"


def merge_keywords(current: str, new: str) -> str:
    items: list[str] = []
    seen: set[str] = set()
    for item in [*current.split(","), *new.split(",")]:
        if item.strip() and item.strip().casefold() not in seen:
            seen.add(item.strip().casefold())
            items.append(item.strip())
    return ", ".join(items)


def merge_sources(current: str, new: str) -> str:
    items = [s for s in current.split(SOURCE_SEP) if s]
    for source in new.split(SOURCE_SEP):
        if source and source not in items:
            items.append(source)
    return SOURCE_SEP.join(items)
