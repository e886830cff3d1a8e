"""The ``inline`` backend: jobs run inside the server process, records in SQLite."""

from novelcrew.backends.inline.backend import InlineBackend
from novelcrew.backends.inline.store import SQLiteStore

__all__ = ["InlineBackend", "SQLiteStore"]
