"""Where kept model answers live: the interface a job backend implements, and a test double.

A ``ReplyStore`` holds two things, both as JSON objects (``answers.encode_answer`` plus usage):
- the response cache, shared by every job: answer by request key, each with a time to live;
- each job's checkpoint: the answers its calls already got, by call name, so a job run again
  after a crash, a lost worker or a transient failure asks the model only what is new. A job's
  checkpoint is dropped when the job ends.

The job store provides it (``JobStore.reply_store()``): SQLite beside the inline backend's job
file, Redis under the arq backend's key root. Its methods are synchronous and thread-safe
(model calls run on crewAI's threads); the model layer treats any error of a store as a miss,
so a cache that is down never fails a job.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Any

__all__ = ["CHECKPOINT_TTL_SECONDS", "MemoryReplies", "ReplyStore"]

#: how long a job's checkpoint outlives its last write if the job never ends (a store drops
#: it at once when the job ends)
CHECKPOINT_TTL_SECONDS = 7 * 24 * 3600.0


class ReplyStore(ABC):
    """The response cache and the per-job checkpoints of one backend."""

    @abstractmethod
    def get(self, key: str) -> dict[str, Any] | None:
        """The cached answer for a request key (None: none, or it expired)."""

    @abstractmethod
    def put(self, key: str, entry: dict[str, Any], ttl_seconds: float | None) -> None:
        """Cache an answer for ``ttl_seconds`` (None: until evicted)."""

    @abstractmethod
    def checkpoint_get(self, job_id: str, name: str) -> dict[str, Any] | None:
        """The answer call ``name`` of job ``job_id`` got in an earlier run."""

    @abstractmethod
    def checkpoint_put(self, job_id: str, name: str, entry: dict[str, Any]) -> None:
        """Remember the answer of call ``name`` of job ``job_id`` (durable when it returns)."""

    @abstractmethod
    def checkpoint_drop(self, job_id: str) -> None:
        """Forget job ``job_id``'s checkpoint (the job ended)."""

    def close(self) -> None:  # noqa: B027 - optional: most stores hold no connection
        """Release connections; the default has none."""


class MemoryReplies(ReplyStore):
    """A ``ReplyStore`` in a dict: for tests and for stores without a durable place."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cache: dict[str, tuple[dict[str, Any], float | None]] = {}
        self.checkpoints: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.cache.get(key)
            if found is None:
                return None
            entry, expires = found
            if expires is not None and expires <= time.time():
                del self.cache[key]
                return None
            return dict(entry)

    def put(self, key: str, entry: dict[str, Any], ttl_seconds: float | None) -> None:
        expires = time.time() + ttl_seconds if ttl_seconds else None
        with self._lock:
            self.cache[key] = (dict(entry), expires)

    def checkpoint_get(self, job_id: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.checkpoints.get(job_id, {}).get(name)
            return dict(entry) if entry is not None else None

    def checkpoint_put(self, job_id: str, name: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.checkpoints.setdefault(job_id, {})[name] = dict(entry)

    def checkpoint_drop(self, job_id: str) -> None:
        with self._lock:
            self.checkpoints.pop(job_id, None)
