"""The arq backend's ``ReplyStore``: cached answers and job checkpoints in Redis, so every
worker answers from what any worker asked before.

Keys (``keys.py``): ``<root>:llm:answer:<key>`` (a string with an expiry) and
``<root>:llm:checkpoint:<job id>`` (a hash, call name -> answer; it expires
``CHECKPOINT_TTL_SECONDS`` after its last write unless the job ends first). A synchronous
client of its own: model calls run on crewAI's threads, not on the worker's event loop.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import redis

from novelcrew.backends.arq.keys import Keys
from novelcrew.llm.replies import CHECKPOINT_TTL_SECONDS, ReplyStore

__all__ = ["RedisReplies"]


class RedisReplies(ReplyStore):
    """Cached answers and job checkpoints under ``keys.root`` in the Redis at ``url``."""

    def __init__(self, url: str, keys: Keys) -> None:
        self.url = url
        self.keys = keys
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None

    @property
    def client(self) -> redis.Redis:
        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(self.url, socket_connect_timeout=5,
                                                    socket_timeout=10)
            return self._client

    def get(self, key: str) -> dict[str, Any] | None:
        raw: Any = self.client.get(self.keys.llm_answer(key))
        return json.loads(raw) if raw else None

    def put(self, key: str, entry: dict[str, Any], ttl_seconds: float | None) -> None:
        ttl = max(1, int(ttl_seconds)) if ttl_seconds else None
        self.client.set(self.keys.llm_answer(key), json.dumps(entry), ex=ttl)

    def checkpoint_get(self, job_id: str, name: str) -> dict[str, Any] | None:
        raw: Any = self.client.hget(self.keys.llm_checkpoint(job_id), name)
        return json.loads(raw) if raw else None

    def checkpoint_put(self, job_id: str, name: str, entry: dict[str, Any]) -> None:
        key = self.keys.llm_checkpoint(job_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, name, json.dumps(entry))
            pipe.expire(key, int(CHECKPOINT_TTL_SECONDS))
            pipe.execute()

    def checkpoint_drop(self, job_id: str) -> None:
        self.client.delete(self.keys.llm_checkpoint(job_id))

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
