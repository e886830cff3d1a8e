"""A result's warnings given out both ways, as the director and the storyboard give them.

A crew that leaves "check this" notes in its result gives them twice: ``warnings``, a list of
strings (what people and older readers read), and ``warning_details``, one model per warning at
the same position with the same ``message``, its ``kind`` and what it concerns; and it flags each
part of the result a warning concerns with that warning's kind (``warning_kinds``), so an app can
skip or mark exactly those parts without reading English.

The crew owns its warning model: its kinds (a ``Literal``), the fields saying what a warning
concerns and their descriptions are its output schema, and pydantic keeps a base model's fields
first, so a shared base would reorder them. This module owns the rules every such result keeps,
so they hold alike in every crew: the list that gathers the warnings in order
(``WarningList``), the kinds that flag a part (``kinds_of``), the check that the details are the
words (``check_messages``) and how a renderer says them (``kind_label``, ``warning_lines``).

Public (docs/hooks.md, docs/plugin-author-guide.md). No pydantic, crewAI or rich here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["WarningDetail", "WarningList", "check_messages", "kind_label", "kinds_of",
           "warning_lines"]


#: a crew's warning kinds, usually a ``Literal`` of them
K = TypeVar("K", bound=str, covariant=True)


class WarningDetail(Protocol[K]):
    """What these helpers read of a crew's warning model (a pydantic model with these fields,
    among those saying what the warning concerns)."""

    @property
    def kind(self) -> K: ...

    @property
    def message(self) -> str: ...


W = TypeVar("W", bound=WarningDetail[Any])


class WarningList(Generic[W]):
    """Warnings in the order they were given. A crew subclasses it to add its own ``add``
    (building its model) and ``resolve`` (flagging the parts once they are final)."""

    def __init__(self) -> None:
        self.items: list[W] = []

    def append(self, item: W) -> W:
        """Record a warning built elsewhere; returns it, so a caller can keep it."""
        self.items.append(item)
        return item

    @property
    def messages(self) -> list[str]:
        """The ``warnings`` entries: each warning's message, in order."""
        return [item.message for item in self.items]


def kinds_of(details: Iterable[WarningDetail[K]]) -> list[K]:
    """A part's ``warning_kinds`` from the warnings that concern it: each kind once, in the
    order of its first warning."""
    return list(dict.fromkeys(item.kind for item in details))


def check_messages(warnings: Sequence[str], details: Sequence[WarningDetail[Any]]) -> None:
    """Raise ``ValueError`` (for a model validator) unless ``details`` is empty (a result made
    before details existed) or holds one entry per warning with its message, in order."""
    if details and [item.message for item in details] != list(warnings):
        raise ValueError("warning_details must hold one entry per warning, with its message, "
                         "in the same order")


def kind_label(kind: Any, labels: Mapping[str, str]) -> str:
    """A kind as a reader says it: its label, or the kind's own words for one the renderer does
    not know (a newer crew's)."""
    return labels.get(str(kind), str(kind).replace("_", " "))


def warning_lines(result: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """A result's warnings as a renderer prints them: ``warning (<kind>): <message>``, or
    ``warning: <message>`` when the result has no matching details (one made before them)."""
    messages = [str(w) for w in result.get("warnings") or []]
    details = result.get("warning_details")
    kinds: list[Any] = [None] * len(messages)
    if isinstance(details, list) and len(details) == len(messages):
        kinds = [d.get("kind") if isinstance(d, Mapping) else None for d in details]
    return [f"warning ({kind_label(kind, labels)}): {message}" if kind else f"warning: {message}"
            for message, kind in zip(messages, kinds, strict=True)]
