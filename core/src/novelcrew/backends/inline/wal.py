"""Checkpoints of the job store's write-ahead log, on a thread and connection of their own.

SQLite copies the WAL back into the database file every 1,000 pages by default, inside the
commit that crosses the mark, on the writing connection. The store has one writer thread that
every submission waits for, so that copy (megabytes, and an ``fsync`` of both files) stalled
every request for as long as it took: about 0.1 s on an idle disk, seconds on one that other
processes keep busy. Here the writer never checkpoints (``PRAGMA wal_autocheckpoint=0``);
this thread does, as the WAL grows: ``PASSIVE``, which runs beside the writer without taking
its lock, again every ``CATCH_UP_SECONDS`` while writes keep coming and once more after the last,
so the log is fully copied once writes pause and the next write starts it over from the top
(the log never shrinks otherwise). Only a writer that never pauses for long leaves it growing:
past ``RESTART_PAGES`` a ``RESTART`` blocks writes while it copies the frames left.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
import time
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

#: committed writes between checkpoints (a write is about four pages: 1,000 pages of WAL)
CHECKPOINT_EVERY_WRITES = 250
#: pause between passes while writes keep coming (each pass syncs both files)
CATCH_UP_SECONDS = 0.2
#: WAL pages after a passive checkpoint past which the log is reset (about 64 MB)
RESTART_PAGES = 16_000
#: how long the checkpointer waits for the writer's lock to reset the log
RESTART_BUSY_MS = 2_000


class WalCheckpointer:
    """Checkpoints ``path``'s WAL every ``every_writes`` writes the store reports."""

    def __init__(self, path: Path, every_writes: int = CHECKPOINT_EVERY_WRITES) -> None:
        self.path = path
        self.every_writes = every_writes
        self._writes = 0
        #: a write committed since the running pass began
        self._dirty = False
        self._pending: concurrent.futures.Future[None] | None = None
        self._conn: sqlite3.Connection | None = None
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="novelcrew-sqlite-checkpoint")
        #: checkpoints run so far (``stats`` and tests read it)
        self.checkpoints = 0

    def wrote(self) -> None:
        """One write committed (called on the event loop); starts a checkpoint when due,
        unless one is still running (it makes another pass for this write's frames)."""
        self._writes += 1
        self._dirty = True
        if self._writes < self.every_writes:
            return
        if self._pending is not None and not self._pending.done():
            return
        self._writes = 0
        self._pending = self._thread.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, isolation_level=None,
                                             check_same_thread=False)
                self._conn.execute(f"PRAGMA busy_timeout={RESTART_BUSY_MS}")
            while True:
                self._dirty = False
                _, pages, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if pages >= RESTART_PAGES:
                    self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                self.checkpoints += 1
                if not self._dirty:
                    return  # the log is copied whole: the next write starts it over
                time.sleep(CATCH_UP_SECONDS)
        except sqlite3.Error as exc:  # a full disk: the writer's own write reports it
            log.warning("sqlite_checkpoint_failed", path=str(self.path),
                        error=f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Wait for a checkpoint in progress and close (blocking: call it off the loop)."""
        self._thread.submit(self._close).result()
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
