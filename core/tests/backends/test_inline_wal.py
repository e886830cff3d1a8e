"""The SQLite store's WAL is checkpointed beside the writer, never inside a write.

SQLite's default checkpoints in the commit that crosses 1,000 pages of WAL, on the writing
connection: with one writer thread, every submission then waited for a copy of megabytes and
two fsyncs (seconds on a busy disk). These tests hold the checkpointer's thread and count
what reached which file, so they need no clock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from novelcrew.backends.inline.store import SQLiteStore
from novelcrew.jobs import Job

STORY = "Maya opened the door to the lighthouse and the storm came in. " * 50  # ~3 KB


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def test_writes_commit_while_the_checkpointer_is_held_and_it_catches_up_after(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.sqlite3"
    wal = tmp_path / "jobs.sqlite3-wal"
    store = SQLiteStore(path)
    await store.open()
    checkpointer = store._checkpointer
    assert checkpointer is not None
    held = threading.Event()
    checkpointer._thread.submit(held.wait)  # the checkpointer's one thread is busy
    try:
        jobs = [Job(crews=["noop"], inputs={"story_text": f"{i} {STORY}"}) for i in range(1500)]
        for job in jobs:
            await store.create(job)
        page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
        # every write committed, none of them checkpointed: the WAL grew past SQLite's
        # default checkpoint mark (1,000 pages) and the database file holds no job yet
        assert file_size(wal) > 2 * 1000 * page
        assert file_size(path) < 1000 * page
        assert (await store.get(jobs[-1].id)) is not None
        assert checkpointer.checkpoints == 0
    finally:
        held.set()
    pending = checkpointer._pending
    assert pending is not None
    await asyncio.wrap_future(pending)
    assert checkpointer.checkpoints == 1
    # the checkpoint copied the jobs into the database file
    assert file_size(path) > 1500 * len(STORY)
    await store.close()
    reopened = SQLiteStore(path)
    await reopened.open()
    try:
        assert (await reopened.get(jobs[0].id)) is not None
        assert (await reopened.counts())["queued"] == 1500
    finally:
        await reopened.close()
