"""The inline backend's ``ReplyStore``: one SQLite file (WAL) beside the job store.

A file of its own, so caching answers never contends with the job store's single writer. A
write is committed before it returns (a checkpoint must survive a SIGKILL right after the
call it keeps). Expired answers are skipped on read and deleted when the store opens and
every ``PRUNE_EVERY`` writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from novelcrew.llm.replies import CHECKPOINT_TTL_SECONDS, ReplyStore

__all__ = ["REPLIES_FILE", "SQLiteReplies"]

REPLIES_FILE = "llm_replies.sqlite3"
#: expired answers are deleted when the store opens and after every this many writes
PRUNE_EVERY = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    entry TEXT NOT NULL,
    expires_at REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    job_id TEXT NOT NULL,
    name TEXT NOT NULL,
    entry TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (job_id, name)
) WITHOUT ROWID;
"""


class SQLiteReplies(ReplyStore):
    """Cached answers and job checkpoints in the SQLite file at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._puts = 0

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                 timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            now = time.time()
            db.execute("DELETE FROM answers WHERE expires_at IS NOT NULL AND expires_at <= ?",
                       (now,))
            db.execute("DELETE FROM checkpoints WHERE at <= ?", (now - CHECKPOINT_TTL_SECONDS,))
            self._db = db
        return self._db

    def _one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn().execute(sql, params).fetchone()
        return json.loads(row[0]) if row else None

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn().execute(sql, params)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._one("SELECT entry FROM answers WHERE key = ?"
                         " AND (expires_at IS NULL OR expires_at > ?)", (key, time.time()))

    def put(self, key: str, entry: dict[str, Any], ttl_seconds: float | None) -> None:
        now = time.time()
        expires = now + ttl_seconds if ttl_seconds else None
        self._write("INSERT OR REPLACE INTO answers (key, entry, expires_at) VALUES (?, ?, ?)",
                    (key, json.dumps(entry), expires))
        self._puts += 1
        if self._puts % PRUNE_EVERY == 0:  # a long-running server's file stops growing
            self._write("DELETE FROM answers WHERE expires_at IS NOT NULL AND expires_at <= ?",
                        (now,))

    def checkpoint_get(self, job_id: str, name: str) -> dict[str, Any] | None:
        return self._one("SELECT entry FROM checkpoints WHERE job_id = ? AND name = ?",
                         (job_id, name))

    def checkpoint_put(self, job_id: str, name: str, entry: dict[str, Any]) -> None:
        self._write("INSERT OR REPLACE INTO checkpoints (job_id, name, entry, at)"
                    " VALUES (?, ?, ?, ?)", (job_id, name, json.dumps(entry), time.time()))

    def checkpoint_drop(self, job_id: str) -> None:
        self._write("DELETE FROM checkpoints WHERE job_id = ?", (job_id,))

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            db.close()
