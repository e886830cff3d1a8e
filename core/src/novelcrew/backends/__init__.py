"""Job backends: where job records live and where jobs run."""

from novelcrew.backends.base import IdempotencyClaim, JobBackend, JobStore
from novelcrew.backends.memory import MemoryStore

__all__ = ["IdempotencyClaim", "JobBackend", "JobStore", "MemoryStore"]
