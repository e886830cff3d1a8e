"""The outbox: graph writes the remote PathRAG service could not take, kept until it returns.

A job must not fail, nor lose its analysis, because the graph service is down or hangs (#24).
When a write to the remote service gives up (``GraphUnavailable``), it is stored here, in
SQLite under the data directory (``pathrag-outbox.sqlite3``), and the write answers
``queued``; while anything waits for a service, later writes to it queue behind (their order
matters: a new version, then its inserts). One drainer per process (and, through a file lock,
per data directory) replays them in order with backoff once the service answers. A write the
service refuses (4xx) when replayed is dropped with a warning: retrying it would never help.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DB_NAME = "pathrag-outbox.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS writes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    scope TEXT NOT NULL,
    op TEXT NOT NULL,
    body TEXT NOT NULL,
    queued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS writes_target ON writes (target, id);
"""


@dataclass(frozen=True)
class QueuedWrite:
    id: int
    target: str
    scope: str
    op: str
    body: dict[str, Any]
    attempts: int


class GraphOutbox:
    """Writes waiting for a graph service, in order, per service URL (``target``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                     timeout=10.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def add(self, target: str, scope: str, op: str, body: dict[str, Any]) -> int:
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO writes (target, scope, op, body, queued_at) VALUES (?, ?, ?, ?, ?)",
                (target, scope, op, json.dumps(body, ensure_ascii=False), time.time()))
            return int(cursor.lastrowid or 0)

    def pending(self, target: str) -> int:
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM writes WHERE target = ?",
                                     (target,)).fetchone()
        return int(row[0])

    def first(self, target: str) -> QueuedWrite | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id, target, scope, op, body, attempts FROM writes WHERE target = ? "
                "ORDER BY id LIMIT 1", (target,)).fetchone()
        if row is None:
            return None
        return QueuedWrite(id=row[0], target=row[1], scope=row[2], op=row[3],
                           body=json.loads(row[4]), attempts=row[5])

    def done(self, write_id: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM writes WHERE id = ?", (write_id,))

    def failed(self, write_id: int, error: str) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE writes SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:500], write_id))

    @contextlib.contextmanager
    def draining(self) -> Any:
        """Hold the data directory's drain lock (yields False when another process has it)."""
        with self.path.with_suffix(".lock").open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_outboxes: dict[Path, GraphOutbox] = {}
_outboxes_lock = threading.Lock()


def outbox_at(data_dir: Path) -> GraphOutbox:
    """The process's one outbox of ``data_dir``."""
    path = data_dir / DB_NAME
    with _outboxes_lock:
        box = _outboxes.get(path)
        if box is None:
            box = _outboxes[path] = GraphOutbox(path)
        return box


def forget_outboxes() -> None:
    """Close every outbox (tests, after the data directory moved)."""
    with _outboxes_lock:
        for box in _outboxes.values():
            box.close()
        _outboxes.clear()
