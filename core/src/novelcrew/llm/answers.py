"""A model's answer as JSON and back, so it can be kept (cache, checkpoint, recording).

crewAI's providers answer a call with text, with an instance of the call's ``response_model``,
or with a list of tool calls for crewAI's executor to run. Each is kept as a small JSON object
with its usage (tokens and cost: what answering it again from storage saves). Anything else
(notably the result of a tool that a provider ran itself because the call passed
``available_functions``) is not kept: replaying it would skip the tool's side effects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["decode_answer", "encode_answer"]


def _tool_call(call: Any) -> dict[str, Any] | None:
    if isinstance(call, Mapping):
        return dict(call)
    if isinstance(call, BaseModel):
        dumped = call.model_dump(mode="json", exclude_none=True)
        return dumped if "function" in dumped else None
    return None


def encode_answer(result: Any, response_model: Any = None) -> dict[str, Any] | None:
    """``result`` as JSON, or None if it is not an answer that can be given again."""
    if isinstance(result, str):
        return {"kind": "text", "text": result}
    if isinstance(result, BaseModel) and isinstance(response_model, type) \
            and isinstance(result, response_model):
        return {"kind": "model", "json": result.model_dump_json()}
    if isinstance(result, list) and result:
        calls = [_tool_call(call) for call in result]
        if all(call is not None for call in calls):
            return {"kind": "tool_calls", "calls": calls}
    return None


def decode_answer(entry: Mapping[str, Any], response_model: Any = None) -> Any:
    """The answer kept by ``encode_answer`` (tool calls come back as OpenAI-style dicts,
    which crewAI's executor reads like the SDK's objects). ``ValueError`` if it does not fit
    this call (e.g. a structured answer kept for another schema)."""
    kind = entry.get("kind")
    if kind == "text" and isinstance(entry.get("text"), str):
        return entry["text"]
    if kind == "model" and isinstance(response_model, type) \
            and issubclass(response_model, BaseModel):
        return response_model.model_validate_json(entry["json"])
    if kind == "tool_calls" and isinstance(entry.get("calls"), list):
        return [dict(call) for call in entry["calls"]]
    raise ValueError(f"a kept answer of kind {kind!r} does not fit this call")
