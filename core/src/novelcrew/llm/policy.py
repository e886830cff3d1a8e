"""What to do after a failed model call: retry (and after how long), fall back, or give up.

Errors are judged by walking the exception's cause chain, because crewAI re-wraps the OpenAI
SDK's errors (``APIConnectionError`` becomes ``ConnectionError``, 404 becomes ``ValueError``).
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from novelcrew.errors import NovelcrewError, causes

Action = Literal["retry", "fallback", "raise"]

#: statuses worth trying again on the same model
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


class MalformedResponse(Exception):
    """The provider answered, but not with a chat completion we can read."""


class CallTimeout(TimeoutError):
    """A model call took longer than ``model_timeout_seconds``."""


@dataclass
class Verdict:
    action: Action
    reason: str
    retry_after: float | None = None
    status: int | None = None


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (``Retry-After``/``retry-after-ms``), if any."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000.0)
        value = headers.get("retry-after")
    except Exception:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_transport(exc: BaseException) -> bool:
    """A lost connection or timeout; httpx's ``TransportError`` is the base of its own (the
    OpenAI SDK's client raises them under its ``APIConnectionError``)."""
    if isinstance(exc, TimeoutError | ConnectionError | httpx.TransportError):
        return True
    return type(exc).__module__.startswith("openai") and type(exc).__name__ in {
        "APIConnectionError", "APITimeoutError"}


def judge(exc: BaseException) -> Verdict:
    """Decide what a failed call deserves."""
    chain = list(causes(exc))
    for err in chain:
        if isinstance(err, NovelcrewError):  # cancellation, our own give-up: never retried
            return Verdict("raise", f"{type(err).__name__}: {err}")
    for err in chain:
        status = status_of(err)
        if status is not None:
            reason = f"HTTP {status}: {_short(err)}"
            if status in RETRY_STATUSES or status >= 500:
                return Verdict("retry", reason, retry_after_of(err), status)
            return Verdict("fallback", reason, None, status)
    for err in chain:
        if isinstance(err, MalformedResponse):
            return Verdict("retry", f"malformed response: {_short(err)}")
        if _is_transport(err):
            kind = "timeout" if "timeout" in type(err).__name__.lower() or isinstance(
                err, TimeoutError) else "connection error"
            return Verdict("retry", f"{kind}: {_short(err)}")
        if type(err).__module__.startswith("openai") and type(err).__name__ in {
            "APIResponseValidationError", "LengthFinishReasonError",
        }:
            return Verdict("retry", f"malformed response: {_short(err)}")
    for err in chain:
        # missing key or unknown model on this provider: another model may still work
        if isinstance(err, ValueError) and any(
            marker in str(err) for marker in ("API key required", "model_not_found",
                                              "does not exist", "Unknown OpenAI-compatible")
        ):
            return Verdict("fallback", _short(err))
    return Verdict("raise", f"{type(exc).__name__}: {_short(exc)}")


def backoff_delay(retry_number: int, base: float, cap: float,
                  retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a provider's ``Retry-After`` wins (capped)."""
    if retry_after is not None:
        return min(retry_after, max(cap, base))
    ceiling = min(cap, base * (2 ** max(0, retry_number - 1)))
    return random.uniform(ceiling / 2, ceiling)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(exc: BaseException) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": _short(exc)}
