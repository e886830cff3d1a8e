"""A ``JobStore`` in one SQLite file (WAL), so nothing submitted is lost across a restart.

Every operation runs on one thread that owns the store's only connection, each write in one
transaction of its own (``BEGIN IMMEDIATE`` ... ``COMMIT``): SQLite's work stays off the event
loop, and a caller resumes only once its write is committed. The writer never checkpoints the
WAL: ``wal.py`` does, on a thread of its own, so no write waits for a checkpoint's copy and fsync.

The record is kept whole as JSON, without its inputs (the story, up to megabytes), which sit
in their own table and are rewritten only when they change; the columns beside the record exist
to filter, sort and count. The event count (read from the events) and ``cancel_requested``
belong to the store, not to whoever saves a record: a save from a stale copy can neither rewind
the count nor undo a cancellation (the same rules as ``MemoryStore``).

An ended job is final, as in the Redis store: a save of a job whose stored status is terminal
changes nothing (its record nor its inputs), and its event log closes at its terminal event
(``succeeded``, ``failed``, ``cancelled``): a later append, a second ending too, appends nothing
and answers with the terminal event. So a straggling run (a cancelled run's thread still
finishing a model call, a task that outlived a timeout) cannot rewrite an ended job's record
or history. The ending itself goes through whole: its record (final result, usage, error) and
its terminal event are written in one transaction.

Waiters on a job's events wake at once on events appended through this store, and poll the
file otherwise (another process may write it too).

A write that fails because the file cannot grow or be written (a full disk, an I/O error, a
read-only file system) turns the store read-only: every later write is refused at once with
``StoreNotWritable`` (so no job is half-written, and none is marked failed by a small write
that happened to fit) until ``probe()`` finds that it can write again. Reads go on meanwhile.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from novelcrew.backends.base import IdempotencyClaim, JobStore
from novelcrew.backends.inline.replies import REPLIES_FILE, SQLiteReplies
from novelcrew.backends.inline.wal import WalCheckpointer
from novelcrew.errors import BackendUnavailable
from novelcrew.jobs import Job, JobEvent, JobStatus

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    events_count INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    record TEXT NOT NULL,
    tenant TEXT
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
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    job_id TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
CREATE TABLE IF NOT EXISTS store_probe (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL
);
-- files written by an older version kept a copy of the event count up to date by trigger
DROP TRIGGER IF EXISTS events_count;
"""

_ENDED = "('succeeded', 'failed', 'cancelled')"
#: a save from a stale copy neither rewinds the event count nor undoes a cancellation, and
#: an ended job's record is final
SAVE = (
    "INSERT INTO jobs (id, project_id, status, created_at, record, cancel_requested, tenant)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
    " project_id = excluded.project_id, status = excluded.status,"
    " created_at = excluded.created_at, record = excluded.record,"
    " cancel_requested = jobs.cancel_requested OR excluded.cancel_requested"
    f" WHERE jobs.status NOT IN {_ENDED}"
)
CREATE = SAVE.replace("jobs.cancel_requested OR ", "")
_INPUTS_KEY = '{"inputs":'
#: inputs rewritten only when they changed (the comparison costs no page write), and never
#: those of an ended job (run before the record's save, which may be the one that ends it)
INPUTS = (
    "INSERT INTO job_inputs (job_id, digest, inputs) VALUES (?, '', ?)"
    " ON CONFLICT (job_id) DO UPDATE SET inputs = excluded.inputs"
    " WHERE job_inputs.inputs != excluded.inputs AND NOT EXISTS"
    f" (SELECT 1 FROM jobs WHERE jobs.id = job_inputs.job_id AND jobs.status IN {_ENDED})"
)
#: the job's last event, if it is terminal: once written, nothing is appended after it
_CLOSED = (
    "SELECT 1 FROM events WHERE job_id = ?1 AND json_extract(record, '$.type') IN"
    f" {_ENDED} AND seq = (SELECT MAX(seq) FROM events WHERE job_id = ?1)"
)
#: appends an event numbered after the job's last one (one writer: no gaps), unless the log
#: is closed (no row then)
APPEND = (
    "INSERT INTO events (job_id, seq, record)"
    " SELECT ?1, n, ?2 FROM (SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM events"
    f" WHERE job_id = ?1) WHERE NOT EXISTS ({_CLOSED}) RETURNING seq"
)
SELECT = (
    "SELECT j.record, (SELECT COALESCE(MAX(e.seq), 0) FROM events e WHERE e.job_id = j.id),"
    " j.cancel_requested, i.inputs FROM jobs j LEFT JOIN job_inputs i ON i.job_id = j.id"
)

#: SQLite's primary result codes for a file that cannot take writes
NOT_WRITABLE_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY})
#: free bytes the store's file system needs before ``probe()`` calls the store writable again
MIN_FREE_BYTES = 1024 * 1024


class StoreNotWritable(BackendUnavailable):
    """The job store cannot write (disk full, I/O error, read-only): a 503, never a job's
    failure. Accepted jobs wait and resume once ``probe()`` finds space again."""

    error_type = "store_not_writable"


def _not_writable(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in NOT_WRITABLE_CODES


#: how often a waiter re-reads the file for events another process wrote
POLL_SECONDS = 1.0
#: how long a write waits while another process holds the database's write lock
BUSY_SECONDS = 10.0
#: bytes the WAL file is cut back to when the log starts over (a burst can grow it to ~100 MB)
WAL_SIZE_LIMIT = 32 * 1024 * 1024


def _job(row: Any) -> Job:
    record, events_count, cancel_requested, inputs = row
    job = Job.model_validate_json(f'{record[:-1]},"inputs":{inputs or "{}"}}}')
    job.events_count = events_count
    job.cancel_requested = bool(cancel_requested)
    return job


def _event(seq: int, record: str) -> JobEvent:
    return JobEvent.model_validate_json(f'{record[:-1]},"seq":{seq}}}')


class SQLiteStore(JobStore):
    """Job records and event logs in ``path`` (created with its folder on ``open``)."""

    def __init__(self, path: str | Path, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.path = Path(path)
        self.poll_seconds = poll_seconds
        self._conn: sqlite3.Connection | None = None
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        #: wait_events callers per job, woken by an event appended through this store
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        #: why the store refuses writes (``None``: it takes them); set by a failed write,
        #: cleared by a successful ``probe()``
        self.write_error: str | None = None
        self.min_free_bytes = MIN_FREE_BYTES
        self._replies: SQLiteReplies | None = None
        self._checkpointer: WalCheckpointer | None = None

    # the store's thread --------------------------------------------------------------------
    async def open(self) -> None:
        if self._thread is not None:
            return
        self._waiters.clear()  # futures belong to the event loop that opened the store
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="novelcrew-sqlite")
        await self._on_thread(self._connect)
        self._checkpointer = WalCheckpointer(self.path)

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # wal.py's thread checkpoints instead
        conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")  # the file, once reset
        conn.executescript(SCHEMA)
        # a file written before jobs had tenants: its jobs belong to none (admin keys see them)
        if "tenant" not in {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}:
            conn.execute("ALTER TABLE jobs ADD COLUMN tenant TEXT")
        # partial: a job without a tenant (most servers' every job) costs no index write
        conn.execute("CREATE INDEX IF NOT EXISTS jobs_tenant ON jobs (tenant, created_at)"
                     " WHERE tenant IS NOT NULL")
        self._conn = conn

    def reply_store(self) -> SQLiteReplies:
        """Model answers in a file of their own beside this one (``replies.py``)."""
        if self._replies is None:
            self._replies = SQLiteReplies(self.path.parent / REPLIES_FILE)
        return self._replies

    async def close(self) -> None:
        replies, self._replies = self._replies, None
        if replies is not None:
            replies.close()
        if self._thread is None:
            return
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            await asyncio.to_thread(checkpointer.close)
        if self._conn is not None:
            await self._on_thread(self._conn.close)
            self._conn = None
        self._thread.shutdown(wait=True)
        self._thread = None

    async def _on_thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._thread is None:
            raise RuntimeError("SQLiteStore is not open; call open() first")
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _query(self, sql: str, params: tuple[Any, ...]) -> builtins.list[Any]:
        assert self._conn is not None
        return self._conn.execute(sql, params).fetchall()

    def _transaction(self, statements: builtins.list[tuple[str, tuple[Any, ...]]],
                     ) -> builtins.list[builtins.list[Any]]:
        assert self._conn is not None
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            rows = [self._conn.execute(sql, params).fetchall() for sql, params in statements]
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return rows

    async def _read(self, sql: str, params: tuple[Any, ...] = ()) -> builtins.list[Any]:
        return await self._on_thread(self._query, sql, params)

    async def _write(self, *statements: tuple[str, tuple[Any, ...]],
                     ) -> builtins.list[builtins.list[Any]]:
        """Run ``statements`` in one transaction; their rows once it is committed.

        Refused at once while the store is read-only (see the module's docstring)."""
        if self.write_error is not None:
            raise StoreNotWritable(f"the job store cannot write: {self.write_error}",
                                   {"path": str(self.path)})
        try:
            rows = await self._on_thread(self._transaction, list(statements))
        except sqlite3.Error as exc:
            if not _not_writable(exc):
                raise
            self.write_error = f"{type(exc).__name__}: {exc}"
            raise StoreNotWritable(f"the job store cannot write: {self.write_error}",
                                   {"path": str(self.path)}) from exc
        if self._checkpointer is not None:
            self._checkpointer.wrote()
        return rows

    def free_bytes(self) -> int:
        """Free bytes on the store's file system (for unprivileged users)."""
        stat = os.statvfs(self.path.parent)
        return stat.f_bavail * stat.f_frsize

    async def probe(self) -> bool:
        """Whether the store can write again: enough free space and a small write that
        commits. Clears the read-only state when it can."""
        try:
            if self.free_bytes() < self.min_free_bytes:
                return False
            await self._on_thread(self._transaction, [
                ("INSERT OR REPLACE INTO store_probe (id, at) VALUES (1, ?)", (time.time(),)),
            ])
        except (OSError, sqlite3.Error):
            return False
        self.write_error = None
        return True

    # records ------------------------------------------------------------------------------
    @staticmethod
    def _record(job: Job, *, create: bool) -> builtins.list[tuple[str, tuple[Any, ...]]]:
        row = (job.id, job.project_id, job.status.value, job.created_at.timestamp(),
               job.model_dump_json(exclude={"inputs"}), int(job.cancel_requested), job.tenant)
        inputs = (INPUTS, (job.id, job.model_dump_json(include={"inputs"})[len(_INPUTS_KEY):-1]))
        return [inputs, (CREATE if create else SAVE, row)]

    async def create(self, job: Job) -> None:
        await self._write(*self._record(job, create=True))

    async def save(self, job: Job) -> None:
        await self._write(*self._record(job, create=False))

    async def get(self, job_id: str) -> Job | None:
        rows = await self._read(f"{SELECT} WHERE j.id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    async def list(self, *, project_id: str | None = None, status: JobStatus | None = None,
                   limit: int = 50, offset: int = 0,
                   tenant: str | None = None) -> tuple[list[Job], int]:
        where, params = [], []
        if tenant is not None:
            where.append("j.tenant = ?")
            params.append(tenant)
        if project_id is not None:
            where.append("j.project_id = ?")
            params.append(project_id)
        if status is not None:
            where.append("j.status = ?")
            params.append(JobStatus(status).value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        ((total,),) = await self._read(f"SELECT COUNT(*) FROM jobs j{clause}", tuple(params))
        rows = await self._read(
            f"{SELECT}{clause} ORDER BY j.created_at DESC, j.rowid ASC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_job(row) for row in rows], int(total)

    async def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in JobStatus}
        for status, count in await self._read("SELECT status, COUNT(*) FROM jobs GROUP BY status"):
            out[status] = count
        return out

    async def ping(self) -> None:
        """One row read through the store's thread, in constant time (``counts`` reads the
        whole status index, and waits its turn behind every write on the same thread)."""
        await self._read("SELECT 1 FROM jobs LIMIT 1")

    async def crew_timings(self) -> dict[str, builtins.list[float]]:
        """Durations of the last 1,000 succeeded jobs' crews, read without their inputs."""
        out: dict[str, builtins.list[float]] = {}
        for (timings,) in await self._read(
            "SELECT json_extract(record, '$.timings') FROM jobs WHERE status = 'succeeded'"
            " ORDER BY created_at DESC LIMIT 1000"
        ):
            for crew, seconds in json.loads(timings or "{}").items():
                out.setdefault(crew, []).append(float(seconds))
        return out

    # idempotency keys ---------------------------------------------------------------------
    async def claim_idempotency_key(self, key: str, claim: IdempotencyClaim,
                                    ttl: float) -> IdempotencyClaim | None:
        """One transaction (``BEGIN IMMEDIATE``: atomic across processes sharing the file)
        drops expired claims, inserts this one unless the key is held, and reads the holder."""
        now = time.time()
        *_, rows = await self._write(
            ("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,)),
            ("INSERT OR IGNORE INTO idempotency_keys (key, fingerprint, job_id, expires_at)"
             " VALUES (?, ?, ?, ?)", (key, claim.fingerprint, claim.job_id, now + ttl)),
            ("SELECT fingerprint, job_id FROM idempotency_keys WHERE key = ?", (key,)),
        )
        held = IdempotencyClaim(fingerprint=rows[0][0], job_id=rows[0][1])
        return None if held == claim else held

    async def keep_idempotency_key(self, key: str, job_id: str, ttl: float) -> None:
        if ttl <= 0:
            await self._write(("DELETE FROM idempotency_keys WHERE key = ? AND job_id = ?",
                               (key, job_id)))
        else:
            await self._write(("UPDATE idempotency_keys SET expires_at = ?"
                               " WHERE key = ? AND job_id = ?", (time.time() + ttl, key, job_id)))

    # webhook outbox -----------------------------------------------------------------------
    async def webhook_finished(self, job_id: str, delivered: bool, detail: str) -> None:
        """Record that a job's webhook delivery is settled (``novelcrew.webhooks``)."""
        await self._write((
            "INSERT INTO webhook_deliveries (job_id, delivered, detail, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (job_id) DO UPDATE SET delivered = excluded.delivered,"
            " detail = excluded.detail, at = excluded.at",
            (job_id, int(delivered), detail[:500], time.time()),
        ))

    async def unsettled_webhooks(self, since: float) -> builtins.list[Job]:
        """Ended jobs created after ``since`` (a timestamp) whose webhook was never settled:
        the process stopped or died while delivering it."""
        rows = await self._read(
            f"{SELECT} WHERE j.created_at >= ?"
            " AND j.status IN ('succeeded', 'failed', 'cancelled')"
            " AND json_extract(j.record, '$.webhook_url') IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.job_id = j.id)"
            " ORDER BY j.created_at",
            (since,),
        )
        return [_job(row) for row in rows]

    # events -------------------------------------------------------------------------------
    async def _appended(self, event: JobEvent, rows: builtins.list[Any]) -> JobEvent:
        """The event as appended, or the job's terminal event when its log was closed."""
        if not rows:
            ((seq, record),) = await self._read(
                "SELECT seq, record FROM events WHERE job_id = ? ORDER BY seq DESC LIMIT 1",
                (event.job_id,))
            return _event(seq, record)
        event.seq = rows[0][0]
        for waiter in self._waiters.pop(event.job_id, ()):
            if not waiter.done():
                waiter.set_result(None)
        return event

    @staticmethod
    def _append(event: JobEvent) -> tuple[str, tuple[Any, ...]]:
        return (APPEND, (event.job_id, event.model_dump_json(exclude={"seq"})))

    async def append_event(self, job_id: str, type: str, *, crew: str | None = None,
                           message: str = "", data: dict[str, Any] | None = None) -> JobEvent:
        event = JobEvent(seq=0, job_id=job_id, type=type, crew=crew, message=message,
                         data=data or {})
        return await self._appended(event, (await self._write(self._append(event)))[0])

    async def save_with_event(self, job: Job, type: str, *, crew: str | None = None,
                              message: str = "", data: dict[str, Any] | None = None,
                              create: bool = False) -> JobEvent:
        event = JobEvent(seq=0, job_id=job.id, type=type, crew=crew, message=message,
                         data=data or {})
        rows = await self._write(*self._record(job, create=create), self._append(event))
        return await self._appended(event, rows[-1])

    async def events(self, job_id: str, after: int = 0,
                     limit: int = 1000) -> builtins.list[JobEvent]:
        rows = await self._read(
            "SELECT seq, record FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, after, limit),
        )
        return [_event(seq, record) for seq, record in rows]

    async def wait_events(self, job_id: str, after: int,
                          timeout: float) -> builtins.list[JobEvent]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # registered before reading, so an append between the read and the wait wakes it
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(job_id, set()).add(waiter)
            try:
                batch = await self.events(job_id, after)
                remaining = deadline - loop.time()
                if batch or remaining <= 0:
                    return batch
                await asyncio.wait((waiter,), timeout=min(remaining, self.poll_seconds))
            finally:
                waiters = self._waiters.get(job_id)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        with contextlib.suppress(KeyError):
                            del self._waiters[job_id]
