"""The three places where novelcrew reaches into crewAI, each needed for correctness.

Everything else uses crewAI's public API. Each shim names what it relies on, does nothing when
that is absent, and has a test in ``core/tests/llm/test_crewai_compat.py`` that fails with a
message naming the shim when a crewAI release changes it.

1. ``let_errors_through``: crewAI's agent re-runs a failed task ``max_retry_limit`` times
   unless the error is in ``crewai.agent.core._passthrough_exceptions``. Our model layer has
   already retried and fallen back, and a cancelled job must stop, so novelcrew's errors pass.
2. ``no_inner_retry`` / ``ours_only``: crewAI (1.14+) wraps every LLM's ``call``/``acall`` in
   its own rate-limit retry (``crewai.llms.retry``). Stacked on ours it would multiply waits
   and retry errors we decided to give up on, so it is off inside our calls.
3. ``without_replay_log``: every ``Crew`` records each task's output in one process-wide SQLite
   file, under a file lock, for ``crewai replay``. A server never replays, and that lock
   serialises the tasks of all concurrent jobs, so a job's crew gets a log that keeps nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: the name crewAI's ``BaseLLM.__init_subclass__`` checks before wrapping ``call``/``acall``
RETRY_WRAPPED_MARK = "_crewai_rate_limit_wrapped"


def let_errors_through(error_type: type[Exception]) -> bool:
    """Add ``error_type`` to the errors crewAI's agent re-raises at once (shim 1)."""
    try:
        from crewai.agent import core
    except ImportError:
        return False
    current = getattr(core, "_passthrough_exceptions", None)
    if not isinstance(current, tuple):
        return False
    if error_type not in current:
        core._passthrough_exceptions = (*current, error_type)
    return True


def _inner_retry_flag() -> contextvars.ContextVar[bool] | None:
    try:
        from crewai.llms import retry
    except ImportError:  # crewAI before 1.14 has no inner retry
        return None
    flag = getattr(retry, "_active_llm_rate_limit_retry", None)
    return flag if isinstance(flag, contextvars.ContextVar) else None


@contextlib.contextmanager
def no_inner_retry() -> Iterator[None]:
    """Inside the block crewAI's rate-limit retry runs the call once, as if already retrying
    (shim 2: crewAI checks this flag to avoid nesting its own retries)."""
    flag = _inner_retry_flag()
    if flag is None:
        yield
        return
    token = flag.set(True)
    try:
        yield
    finally:
        flag.reset(token)


def ours_only(fn: F) -> F:
    """Mark a ``BaseLLM`` subclass's ``call``/``acall`` so crewAI does not wrap it in its
    rate-limit retry (shim 2)."""
    setattr(fn, RETRY_WRAPPED_MARK, True)
    return fn


class NoReplayLog:
    """Stands in for crewAI's ``TaskOutputStorageHandler``: keeps nothing (shim 3)."""

    def update(self, task_index: int, log: dict[str, Any]) -> None:
        return None

    def add(self, *args: Any, **kwargs: Any) -> None:
        return None

    def reset(self) -> None:
        return None

    def load(self) -> list[dict[str, Any]] | None:
        return None


def without_replay_log(crew: Any) -> bool:
    """Give ``crew`` a replay log that keeps nothing (shim 3)."""
    if not hasattr(crew, "_task_output_handler"):
        return False
    crew._task_output_handler = NoReplayLog()
    return True
