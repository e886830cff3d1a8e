"""For tests of the logging set-up: a stream like stderr, and putting logging back after."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

import structlog


class Stream(io.TextIOWrapper):
    """A text stream over bytes, as stderr is: structlog writes its JSON lines to the bytes
    beneath, stdlib records go through the text layer."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", write_through=True)

    def getvalue(self) -> str:
        return self.buffer.getvalue().decode()  # type: ignore[attr-defined]


@contextlib.contextmanager
def kept_logging() -> Iterator[None]:
    """The root logger's handlers and level, and structlog's defaults, as they were before."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
