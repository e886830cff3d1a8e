"""Usage of one model call, handed from the LLM that made it to the router that records it.

The router opens a slot (a ContextVar holding a dict) around each call; our LLMs write what the
provider reported into it, so concurrent calls never mix their counts. LLMs that do not know
the slot are measured by the change in crewAI's per-instance counters instead.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_slot: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "novelcrew_usage_slot", default=None
)


@contextmanager
def usage_slot() -> Iterator[dict[str, Any]]:
    """Collect the usage reported by the LLM call made inside the block."""
    slot: dict[str, Any] = {}
    token = _slot.set(slot)
    try:
        yield slot
    finally:
        _slot.reset(token)


def report_usage(usage: dict[str, Any]) -> None:
    """Add a provider's usage (``prompt_tokens``, ``completion_tokens``, ``cost``) to the slot."""
    slot = _slot.get()
    if slot is None:
        return
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        if isinstance(value, int | float):
            slot[key] = int(slot.get(key, 0) + value)
    cost = usage.get("cost")
    if isinstance(cost, int | float):
        slot["cost"] = float(slot.get("cost", 0.0) + cost)
    slot["reported"] = True


def token_snapshot(llm: Any) -> tuple[int, int]:
    """crewAI's lifetime token counters of an LLM instance (prompt, completion)."""
    try:
        summary = llm.get_token_usage_summary()
        return int(summary.prompt_tokens), int(summary.completion_tokens)
    except Exception:
        return 0, 0
