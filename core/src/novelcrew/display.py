"""Text helpers a result renderer needs (``register_renderers``), public so every plugin's
renderer writes cells, lists, durations and the offline stand-in's label the same way.

Imports rich only inside ``model_note``, so a plugin may import this at its top.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["CELL_CHARS", "join", "model_note", "seconds", "short"]

#: longest text shown in a table cell; ``--json`` has everything
CELL_CHARS = 160


def short(value: Any, limit: int = CELL_CHARS) -> str:
    """``value`` as text, cut at a word boundary to ``limit`` characters."""
    text = " ".join(str(value or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(",;:.") + "…"


def join(items: Iterable[Any] | None, sep: str = ", ") -> str:
    """The items as text between ``sep``, leaving out ``None`` and empty strings."""
    return sep.join(str(i) for i in items or [] if i not in (None, ""))


def seconds(value: Any) -> str:
    """A duration in seconds as ``8s`` or, from 90 s on, ``2.0 min``; other values as text."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value or "")
    return f"{number:.0f}s" if number < 90 else f"{number / 60:.1f} min"


def model_note(result: Mapping[str, Any]) -> Text | None:
    """A result's ``model`` note as a line: loud (yellow) when the ``offline`` stand-in made
    it, which must be said wherever its output appears; dim otherwise; ``None`` without one."""
    from rich.text import Text

    model = result.get("model")
    if not isinstance(model, Mapping):
        return None
    note = model.get("note")
    if model.get("offline"):
        return Text(note or "made by the offline stand-in model: it extracts, it does not "
                    "understand the story", style="yellow")
    return Text(note, style="dim") if note else None
