"""A ``JobStore`` in one SQLite file (WAL), so nothing submitted is lost across a restart.

The record is kept whole as JSON; the columns beside it exist to filter, sort and count, and
two of them (``events_count``, ``cancel_requested``) are owned by the store rather than by
whoever saves a record, so a ``save`` from a stale copy can neither rewind the event count nor
undo a cancellation (the same rules as ``MemoryStore``).

Waiters on a job's events wake at once on events appended in this process (an
``asyncio.Condition``) and poll the file otherwise, since another process may write it too.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import json
import sqlite3
import time
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from novelcrew.backends.base import JobStore
from novelcrew.jobs import Job, JobEvent, JobStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    events_count INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created_at ON jobs (created_at);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at);
CREATE INDEX IF NOT EXISTS jobs_project ON jobs (project_id, created_at);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS job_inputs (
    job_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    inputs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    job_id TEXT PRIMARY KEY,
    delivered INTEGER NOT NULL,
    detail TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_count AFTER INSERT ON events BEGIN
    UPDATE jobs SET events_count = NEW.seq WHERE id = NEW.job_id;
END;
"""

#: One statement appends an event: it numbers it, and the trigger moves the job's count, all
#: in the statement's own transaction (so no round trips for BEGIN/COMMIT, and no gaps).
APPEND = (
    "INSERT INTO events (job_id, seq, record)"
    " SELECT ?, COALESCE(MAX(seq), 0) + 1, ? FROM events WHERE job_id = ?"
    " RETURNING seq"
)

CREATE = (
    "INSERT INTO jobs (project_id, status, created_at, record, id, events_count,"
    " cancel_requested) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
    " status = excluded.status, created_at = excluded.created_at,"
    " record = excluded.record, events_count = excluded.events_count,"
    " cancel_requested = excluded.cancel_requested"
)
#: a save from a stale copy neither rewinds the event count nor undoes a cancellation
SAVE = (
    "INSERT INTO jobs (project_id, status, created_at, record, id, events_count,"
    " cancel_requested) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
    " status = excluded.status, created_at = excluded.created_at,"
    " record = excluded.record,"
    " cancel_requested = jobs.cancel_requested OR excluded.cancel_requested"
)

COLUMNS = "j.record, j.events_count, j.cancel_requested, i.inputs, i.digest"

#: One SQL statement and its parameters
Statement = tuple[str, tuple[Any, ...]]
#: Writes waiting for a transaction: one caller's statements (all or none) and its future
Pending = tuple[list[Statement], "asyncio.Future[list[list[Any]]]"]


def _connect_writer(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def _run_group(conn: sqlite3.Connection, statements: list[Statement]) -> list[list[Any]]:
    if len(statements) == 1:  # a failing statement is undone alone by SQLite itself
        sql, params = statements[0]
        return [conn.execute(sql, params).fetchall()]
    conn.execute("SAVEPOINT novelcrew_group")
    try:
        rows = [conn.execute(sql, params).fetchall() for sql, params in statements]
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK TO novelcrew_group")
            conn.execute("RELEASE novelcrew_group")
        raise
    conn.execute("RELEASE novelcrew_group")
    return rows


def _run_batch(conn: sqlite3.Connection, groups: list[list[Statement]]) -> list[Any]:
    """Runs in the connection's thread: every caller's statements in one transaction. A
    caller's failing statements are undone alone and its error is returned in its place;
    the other callers' statements still commit."""
    results: list[Any] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statements in groups:
            try:
                results.append(_run_group(conn, statements))
            except Exception as exc:
                if not conn.in_transaction:
                    raise  # SQLite rolled the whole transaction back (disk full, I/O error)
                results.append(exc)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


#: How often a waiter re-reads the file for events written by another process (events
#: appended through this store wake waiters at once).
POLL_SECONDS = 1.0


class SQLiteStore(JobStore):
    """Job records and event logs in ``path`` (created with its folder on ``open``)."""

    def __init__(self, path: str | Path, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.path = Path(path)
        self.poll_seconds = poll_seconds
        self._db: aiosqlite.Connection | None = None
        #: digest of each job's inputs as last written or read, to skip rewriting them
        self._digests: dict[str, str] = {}
        self._changed: dict[str, asyncio.Condition] = {}
        self._versions: dict[str, int] = {}
        #: writes waiting for the next transaction, and the task that runs them
        self._pending: builtins.list[Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._writer: sqlite3.Connection | None = None

    # connection ---------------------------------------------------------------------------
    async def open(self) -> None:
        if self._db is not None:
            return
        self._changed.clear()  # conditions belong to the event loop that opened the store
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=10000")
        await db.executescript(SCHEMA)
        # writes go through a connection of their own (same thread), so a cursor left
        # unfinished on ``db`` by a reader can never hold a write transaction open
        self._writer = await db._execute(_connect_writer, self.path)
        self._db = db

    async def close(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flusher)
        db, self._db = self._db, None
        writer, self._writer = self._writer, None
        if db is not None:
            if writer is not None:
                await db._execute(writer.close)
            await db.close()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("SQLiteStore is not open; call open() first")
        return self._db

    async def _write(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Run one statement and return its rows once it is committed."""
        return (await self._write_many([(sql, params)]))[0]

    async def _write_many(self, statements: builtins.list[Statement],
                          ) -> builtins.list[builtins.list[Any]]:
        """Run statements, all or none, and return their rows once committed (group commit).

        Writes wait in one queue; one connection-thread round trip runs everything waiting in
        one ``BEGIN IMMEDIATE`` transaction, so concurrent submissions and running jobs share
        commits and thread hops instead of paying one each. A caller still returns only after
        its statements are committed (a job answered 202 is on disk), and one caller's failing
        statement undoes only its own.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[builtins.list[builtins.list[Any]]] = loop.create_future()
        self._pending.append((statements, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self._commit([statements for statements, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue  # its caller was cancelled; the statements still ran
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _commit(self, groups: builtins.list[builtins.list[Statement]]) -> builtins.list[Any]:
        """One transaction in the connection's thread. A writer in another process holding
        the lock past ``busy_timeout`` (``SQLITE_BUSY``) is waited for here."""
        for attempt in range(50):
            try:
                return await self.db._execute(_run_batch, self._writer, groups)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        return await self.db._execute(_run_batch, self._writer, groups)

    # records ------------------------------------------------------------------------------
    # A job's inputs (the story: up to megabytes) never change while it runs, but its record
    # is saved at every step; so they live in their own table, written only when they change.
    @staticmethod
    def _row(job: Job) -> tuple[Any, ...]:
        return (job.project_id, job.status.value, job.created_at.timestamp(),
                job.model_dump_json(exclude={"inputs"}))

    def _job(self, row: Any) -> Job:
        record, events_count, cancel_requested, inputs, digest = row
        data = json.loads(record)
        data["inputs"] = json.loads(inputs) if inputs else {}
        job = Job.model_validate(data)
        job.events_count = events_count
        job.cancel_requested = bool(cancel_requested)
        if digest:
            self._digests[job.id] = digest
        return job

    def _inputs_statement(self, job: Job, *, force: bool = False,
                          ) -> tuple[Statement, str] | None:
        """The statement writing a job's inputs, and their digest; None when unchanged."""
        inputs = json.dumps(job.model_dump(mode="json", include={"inputs"})["inputs"],
                            separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.blake2b(inputs.encode(), digest_size=16).hexdigest()
        if not force and self._digests.get(job.id) == digest:
            return None
        return ((
            "INSERT INTO job_inputs (job_id, digest, inputs) VALUES (?, ?, ?)"
            " ON CONFLICT (job_id) DO UPDATE SET digest = excluded.digest,"
            " inputs = excluded.inputs WHERE job_inputs.digest != excluded.digest",
            (job.id, digest, inputs),
        ), digest)

    async def _write_job(self, job: Job, record_sql: str, *, force_inputs: bool) -> None:
        """The record and (when changed) the inputs, in one transaction."""
        inputs = self._inputs_statement(job, force=force_inputs)
        record = (record_sql, (*self._row(job), job.id, job.events_count,
                               int(job.cancel_requested)))
        await self._write_many([inputs[0], record] if inputs else [record])
        if inputs:
            self._digests[job.id] = inputs[1]

    async def create(self, job: Job) -> None:
        await self._write_job(job, CREATE, force_inputs=True)

    async def get(self, job_id: str) -> Job | None:
        rows = await self.db.execute_fetchall(
            f"SELECT {COLUMNS} FROM jobs j LEFT JOIN job_inputs i ON i.job_id = j.id"
            " WHERE j.id = ?", (job_id,)
        )
        return self._job(next(iter(rows))) if rows else None

    async def save(self, job: Job) -> None:
        await self._write_job(job, SAVE, force_inputs=False)

    async def list(self, *, project_id: str | None = None, status: JobStatus | None = None,
                   limit: int = 50, offset: int = 0) -> tuple[list[Job], int]:
        where, params = [], []
        if project_id is not None:
            where.append("j.project_id = ?")
            params.append(project_id)
        if status is not None:
            where.append("j.status = ?")
            params.append(JobStatus(status).value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        ((total,),) = await self.db.execute_fetchall(
            f"SELECT COUNT(*) FROM jobs j{clause}", params
        )
        rows = await self.db.execute_fetchall(
            f"SELECT {COLUMNS} FROM jobs j LEFT JOIN job_inputs i ON i.job_id = j.id{clause}"
            " ORDER BY j.created_at DESC, j.rowid ASC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [self._job(row) for row in rows], int(total)

    async def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in JobStatus}
        for status, count in await self.db.execute_fetchall(
            "SELECT status, COUNT(*) FROM jobs GROUP BY status"
        ):
            out[status] = count
        return out

    # webhook outbox -----------------------------------------------------------------------
    async def webhook_finished(self, job_id: str, delivered: bool, detail: str) -> None:
        """Record that a job's webhook delivery is settled (``novelcrew.webhooks``)."""
        await self._write(
            "INSERT INTO webhook_deliveries (job_id, delivered, detail, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (job_id) DO UPDATE SET delivered = excluded.delivered,"
            " detail = excluded.detail, at = excluded.at",
            (job_id, int(delivered), detail[:500], time.time()),
        )

    async def unsettled_webhooks(self, since: float) -> builtins.list[Job]:
        """Ended jobs created after ``since`` (a timestamp) whose webhook was never settled:
        the process stopped or died while delivering it."""
        rows = await self.db.execute_fetchall(
            f"SELECT {COLUMNS} FROM jobs j LEFT JOIN job_inputs i ON i.job_id = j.id"
            " WHERE j.created_at >= ? AND j.status IN ('succeeded', 'failed', 'cancelled')"
            " AND json_extract(j.record, '$.webhook_url') IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.job_id = j.id)"
            " ORDER BY j.created_at",
            (since,),
        )
        return [self._job(row) for row in rows]

    # events -------------------------------------------------------------------------------
    def _cond(self, job_id: str) -> asyncio.Condition:
        return self._changed.setdefault(job_id, asyncio.Condition())

    async def append_event(self, job_id: str, type: str, *, crew: str | None = None,
                           message: str = "", data: dict[str, Any] | None = None) -> JobEvent:
        event = JobEvent(seq=0, job_id=job_id, type=type, crew=crew, message=message,
                         data=data or {})
        rows = await self._write(APPEND, (job_id, event.model_dump_json(exclude={"seq"}),
                                          job_id))
        event.seq = rows[0][0]
        self._versions[job_id] = self._versions.get(job_id, 0) + 1
        cond = self._cond(job_id)
        async with cond:
            cond.notify_all()
        return event

    async def events(self, job_id: str, after: int = 0,
                     limit: int = 1000) -> builtins.list[JobEvent]:
        rows = await self.db.execute_fetchall(
            "SELECT seq, record FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, after, limit),
        )
        return [JobEvent.model_validate({**json.loads(record), "seq": seq})
                for seq, record in rows]

    async def wait_events(self, job_id: str, after: int,
                          timeout: float) -> builtins.list[JobEvent]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        cond = self._cond(job_id)
        while True:
            seen = self._versions.get(job_id, 0)
            batch = await self.events(job_id, after)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return batch
            async with cond:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        cond.wait_for(partial(self._moved, job_id, seen)),
                        min(remaining, self.poll_seconds),
                    )

    def _moved(self, job_id: str, seen: int) -> bool:
        return self._versions.get(job_id, 0) != seen
