"""Where the graph lives: ``embedded`` (SQLite in the data directory) or ``remote`` (HTTP)."""

from novelcrew_pathrag.backends.base import GraphBackend, backend_for, reset_backends

__all__ = ["GraphBackend", "backend_for", "reset_backends"]
