"""Chat requests made of plain JSON skip the OpenAI SDK's type-directed transform.

Before every ``chat.completions.create`` the SDK walks the request against its TypedDict
annotations (``maybe_transform``) to rename aliased keys, format dates and files, dump pydantic
models and drop omitted values. The chat request types have no aliases or formats, and crewAI
sends plain dicts, lists and strings, so the walk returns what it was given, at about 0.6 ms
of interpreter time per call (15% of a call's client-side cost), which concurrent jobs pay
one after another under the interpreter lock.

``install()`` wraps the SDK's ``maybe_transform`` as the chat-completions module sees it: a
request for the chat types whose values are all plain JSON (dict with string keys, list, str,
int, float, bool, None) goes through with only the omitted top-level values dropped, which is
what the walk would return; anything else (a pydantic model, a date, an omitted value deeper
down, another request type) takes the SDK's own path. It applies only after checking that no
type reachable from the chat request types carries an alias or a format, so an SDK that adds
one degrades to its own transform.
"""

from __future__ import annotations

import logging
import threading
import typing
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict[str, bool] = {"tried": False, "installed": False}


def install() -> bool:
    """Wrap the chat-completions transform (idempotent); False when it does not apply."""
    with _lock:
        if _state["tried"]:
            return _state["installed"]
        _state["tried"] = True
        try:
            from openai._types import NotGiven, Omit
            from openai._utils import _transform
            from openai.resources.chat.completions import completions as module
            from openai.types.chat import completion_create_params as params
        except ImportError:
            return False
        original = getattr(module, "maybe_transform", None)
        chat_types = tuple(getattr(params, name, None) for name in (
            "CompletionCreateParamsNonStreaming", "CompletionCreateParamsStreaming"))
        property_info = getattr(_transform, "PropertyInfo", None)
        if original is None or None in chat_types or property_info is None:
            return False
        try:
            if any(_transforms(tp, property_info, set()) for tp in chat_types):
                return False
        except Exception:
            log.debug("cannot inspect the OpenAI chat request types", exc_info=True)
            return False
        given = (NotGiven, Omit)

        def maybe_transform(data: object, expected_type: object) -> Any:
            if expected_type in chat_types and isinstance(data, dict):
                body = {k: v for k, v in data.items() if not isinstance(v, given)}
                if _plain(body):
                    return body
            return original(data, expected_type)

        maybe_transform.__wrapped__ = original  # type: ignore[attr-defined]
        module.maybe_transform = maybe_transform
        _state["installed"] = True
        return True


def uninstall() -> None:
    """Put the SDK's own transform back (for tests and comparisons)."""
    with _lock:
        from openai.resources.chat.completions import completions as module

        wrapped = getattr(module.maybe_transform, "__wrapped__", None)
        if wrapped is not None:
            module.maybe_transform = wrapped
        _state["tried"] = _state["installed"] = False


def _plain(value: object, depth: int = 0) -> bool:
    """JSON the SDK's walk would leave as it is."""
    if value is None or type(value) in (str, int, float, bool):
        return True
    if depth > 32:
        return False
    if type(value) is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _transforms(tp: Any, property_info: type, seen: set[int]) -> bool:
    """Whether anything reachable from the annotation ``tp`` has an alias or a format."""
    if id(tp) in seen:
        return False
    seen.add(id(tp))
    for meta in getattr(tp, "__metadata__", ()) or ():
        if isinstance(meta, property_info) and (getattr(meta, "alias", None) is not None
                                                or getattr(meta, "format", None) is not None):
            return True
    if typing.is_typeddict(tp) or _is_typeddict_ext(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        return any(_transforms(h, property_info, seen) for h in hints.values())
    return any(_transforms(arg, property_info, seen) for arg in typing.get_args(tp)
               if not isinstance(arg, str | int | float | bool | type(None)))


def _is_typeddict_ext(tp: Any) -> bool:
    try:
        import typing_extensions
    except ImportError:
        return False
    return bool(typing_extensions.is_typeddict(tp))
