"""Job backends: where job records live and where jobs run."""

from novelcrew.backends.base import JobBackend, JobStore
from novelcrew.backends.memory import MemoryStore

__all__ = ["JobBackend", "JobStore", "MemoryStore"]
