"""The key of a model request: what the response cache, a job's checkpoint and a recording
share.

Two calls with the same key are the same question: the same model id, the same messages, the
same response schema and tools, the same sampling parameters. The key is a SHA-256 of a
canonical JSON of exactly those (sorted keys, no spaces), so it is stable across processes,
machines and Python versions. Nothing that identifies a caller goes in (no API key, header,
job id or agent object), so the same question asked by two jobs shares one cached answer.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["KEY_VERSION", "canonical_request", "key_of"]

#: part of every key: bump it when the answer format or the key's parts change, so answers
#: stored by an older version are never read as this one's
KEY_VERSION = 1


@functools.cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """A response model's name and JSON schema, built once per class (callers only read it)."""
    return {"name": model.__name__, "schema": model.model_json_schema()}


def _plain(value: Any) -> Any:
    """JSON for what crewAI may put in a message or tool list (pydantic objects, classes)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, type) and issubclass(value, BaseModel):
        return _schema(value)
    return str(value)


def _messages(messages: Any) -> list[Any]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return [dict(m) if isinstance(m, Mapping) else m for m in messages or []]


def canonical_request(model_id: str, messages: Any, *, response_model: Any = None,
                      tools: Any = None, params: Mapping[str, Any] | None = None) -> str:
    """The canonical JSON the key is a hash of (also what a recording stores as the request)."""
    question = {
        "v": KEY_VERSION,
        "model": model_id,
        "messages": _messages(messages),
        "response_schema": None if response_model is None else _plain(response_model),
        "tools": tools or None,
        "params": {k: v for k, v in sorted((params or {}).items()) if v is not None},
    }
    return json.dumps(question, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_plain)


def key_of(canonical: str) -> str:
    """The key of a canonical request (``canonical_request``)."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]
