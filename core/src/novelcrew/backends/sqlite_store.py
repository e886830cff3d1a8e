"""A ``JobStore`` in one SQLite file (WAL), so nothing submitted is lost across a restart.

The record is kept whole as JSON; the columns beside it exist to filter, sort and count, and
the event count (read from the events) and ``cancel_requested`` are owned by the store rather
than by whoever saves a record, so a ``save`` from a stale copy can neither rewind the event
count nor undo a cancellation (the same rules as ``MemoryStore``).

Point reads run on the event loop's own thread, on a connection of their own: one takes about
20 µs, while a hop to a database thread and back costs about 150 µs. Writes are
group-committed on a writer thread: everything waiting runs in one transaction per trip, so
the hop is paid once per batch, batches grow with the load, and SQLite's work runs there
without the GIL, beside the event loop instead of on it. A caller resumes only once its own
statements are committed. Checkpoints (which wait for the disk) and reads that can be large
(``list``, counts, webhooks to resend) run on a third thread; a read on the loop never waits for
another process's lock (``busy_timeout=0``; it goes to that thread instead).

Waiters on a job's events wake at once on events appended in this process (a future per
waiter) and poll the file otherwise, since another process may write it too.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import copy
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson

from novelcrew.backends.base import JobStore
from novelcrew.jobs import Job, JobEvent, JobStatus, record_json

T = TypeVar("T")

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
-- a job's event count is read from its events: a trigger keeping a copy in ``jobs``
-- rewrote the job's whole row at every event (a third of the cost of appending one)
DROP TRIGGER IF EXISTS events_count;
"""

#: One statement appends an event and numbers it, in its own transaction (no gaps).
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

#: ``SAVE`` for a job this store knows is there: a plain update costs less than an upsert
SAVE_EXISTING = (
    "UPDATE jobs SET project_id = ?, status = ?, created_at = ?, record = ?,"
    " cancel_requested = cancel_requested OR ? WHERE id = ?"
)

COLUMNS = ("j.record,"
           " (SELECT COALESCE(MAX(e.seq), 0) FROM events e WHERE e.job_id = j.id),"
           " j.cancel_requested, i.inputs, i.digest")

#: One SQL statement and its parameters
Statement = tuple[str, tuple[Any, ...]]
#: Writes waiting for a transaction: one caller's statements (all or none) and its future
Pending = tuple[list[Statement], "asyncio.Future[list[list[Any]]]"]

#: How often a waiter re-reads the file for events written by another process (events
#: appended through this store wake waiters at once).
POLL_SECONDS = 1.0
#: WAL size (bytes) past which a checkpoint is started on the store's thread
CHECKPOINT_BYTES = 4 * 1024 * 1024
#: how long a write keeps retrying while another process holds the database's write lock
BUSY_SECONDS = 10.0


def _connect(path: Path, *, busy_ms: int, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread,
                           cached_statements=256)
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _run_group(conn: sqlite3.Connection, statements: list[Statement]) -> list[list[Any]]:
    """One caller's statements inside a savepoint, so that a failure undoes them alone."""
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
    """Every caller's statements in one transaction, each caller's rows in its place.

    The fast path runs them all straight through. A failing statement (rare: a constraint,
    say) rolls that attempt back, and the batch runs again with a savepoint per caller, so
    the failing caller gets its error in place of its rows and the others still commit.
    Raises ``sqlite3.OperationalError`` (busy) before doing anything when another process
    holds the write lock, and anything that aborts the whole transaction (disk full).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        results: list[Any] = [[conn.execute(sql, params).fetchall() for sql, params in group]
                              for group in groups]
        conn.execute("COMMIT")
        return results
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if _busy(exc) or len(groups) == 1:
            raise
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if len(groups) == 1:
            raise
    return _run_batch_one_by_one(conn, groups)


def _run_batch_one_by_one(conn: sqlite3.Connection, groups: list[list[Statement]],
                          ) -> list[Any]:
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


#: what orjson would write its own way (dates, dataclasses): refused, so pydantic writes them
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _inputs_json(job: Job) -> str:
    """A job's inputs as compact UTF-8 JSON. orjson writes a story ten times faster than the
    standard library, but writes ``NaN`` and infinities as ``null`` and refuses integers past
    64 bits, lone surrogates and keys that are not strings: those inputs (the API refuses
    most of them) take the standard library's way, which keeps them as they were."""
    try:
        out = orjson.dumps(job.inputs, option=_PASSTHROUGH)
        if b"null" not in out:  # no non-finite float was turned into null on the way
            return out.decode()
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return json.dumps(job.inputs, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):  # values only pydantic knows how to write
        return json.dumps(job.model_dump(mode="json", include={"inputs"})["inputs"],
                          separators=(",", ":"), ensure_ascii=False)


def _copy_json(value: Any) -> Any:
    """A copy of JSON-shaped data that shares its strings and numbers (what deepcopy does to
    them too, at a fifth of its cost)."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return copy.deepcopy(value) if isinstance(value, set | bytearray) else value


class SQLiteStore(JobStore):
    """Job records and event logs in ``path`` (created with its folder on ``open``)."""

    def __init__(self, path: str | Path, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.path = Path(path)
        self.poll_seconds = poll_seconds
        #: the loop thread's connection (point reads), the writer thread's (every write) and
        #: the store thread's (checkpoints, large reads)
        self._conn: sqlite3.Connection | None = None
        self._writer_conn: sqlite3.Connection | None = None
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._thread_conn: sqlite3.Connection | None = None
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        #: digest of each job's inputs as last written or read, to skip rewriting them
        self._digests: dict[str, str] = {}
        #: the inputs of unfinished jobs as last written by this store, to skip even the digest
        self._inputs_written: dict[str, dict[str, Any]] = {}
        #: wait_events callers per job, woken by an event appended in this process
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        #: writes waiting for the next transaction, and the task committing them
        self._pending: builtins.list[Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._checkpoint: asyncio.Future[Any] | None = None
        self._wal = self.path.with_name(self.path.name + "-wal")

    # connection ---------------------------------------------------------------------------
    async def open(self) -> None:
        if self._conn is not None:
            return
        self._waiters.clear()  # futures belong to the event loop that opened the store
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="novelcrew-sqlite")
        # set up on the thread, where waiting for another process's lock does no harm
        await self._on_thread(self._setup)
        self._writer = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="novelcrew-sqlite-writer")
        self._writer_conn = await asyncio.get_running_loop().run_in_executor(
            self._writer, self._connect_writer)
        self._conn = _connect(self.path, busy_ms=0)

    def _connect_writer(self) -> sqlite3.Connection:
        conn = _connect(self.path, busy_ms=int(BUSY_SECONDS * 1000))
        conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints wait for the disk: own thread
        return conn

    def _setup(self) -> None:
        conn = _connect(self.path, busy_ms=int(BUSY_SECONDS * 1000), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA journal_size_limit={CHECKPOINT_BYTES * 4}")
        conn.executescript(SCHEMA)
        self._thread_conn = conn

    async def close(self) -> None:
        if self._conn is None:
            return
        while self._flusher is not None and not self._flusher.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flusher)
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        conn, self._conn = self._conn, None
        conn.close()
        writer_conn, self._writer_conn = self._writer_conn, None
        if writer_conn is not None and self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, writer_conn.close)
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        thread_conn, self._thread_conn = self._thread_conn, None
        if thread_conn is not None and self._thread is not None:
            await self._on_thread(thread_conn.close)
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    @property
    def conn(self) -> sqlite3.Connection:
        """The event loop's connection (raises when the store is not open)."""
        if self._conn is None:
            raise RuntimeError("SQLiteStore is not open; call open() first")
        return self._conn

    async def _on_thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._thread is None:
            raise RuntimeError("SQLiteStore is not open; call open() first")
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _thread_fetchall(self, sql: str, params: tuple[Any, ...]) -> builtins.list[Any]:
        assert self._thread_conn is not None
        return self._thread_conn.execute(sql, params).fetchall()

    async def _read(self, sql: str, params: tuple[Any, ...] = ()) -> builtins.list[Any]:
        """A small read on the loop's connection; on the thread when the file is locked."""
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        return await self._on_thread(self._thread_fetchall, sql, params)

    async def _read_large(self, sql: str, params: tuple[Any, ...] = ()) -> builtins.list[Any]:
        """A read that may take long (many rows, big inputs): on the store's thread."""
        self.conn  # noqa: B018 - raises when the store is not open
        return await self._on_thread(self._thread_fetchall, sql, params)

    async def checkpoint(self, mode: str = "PASSIVE") -> None:
        """Copy the WAL into the database file (on the store's thread: it waits for the disk).
        Started by itself as the WAL grows; ``TRUNCATE`` also empties the WAL file."""
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        await self._on_thread(self._thread_fetchall, f"PRAGMA wal_checkpoint({mode})", ())

    def _maybe_checkpoint(self) -> None:
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        try:
            if self._wal.stat().st_size < CHECKPOINT_BYTES:
                return
        except OSError:
            return
        self._checkpoint = asyncio.ensure_future(self.checkpoint())

    async def _write(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Run one statement and return its rows once it is committed."""
        return (await self._write_many([(sql, params)]))[0]

    async def _write_many(self, statements: builtins.list[Statement],
                          ) -> builtins.list[builtins.list[Any]]:
        """Run statements, all or none, and return their rows once committed (group commit).

        Writes wait in one queue; one trip to the writer thread commits everything waiting
        in one ``BEGIN IMMEDIATE`` transaction, so concurrent submissions and running jobs
        share commits (and the more writes arrive, the bigger the batches). SQLite runs there
        without the GIL, beside the event loop rather than on it. A caller returns only after
        its statements are committed (a job answered 202 is in the file), and one caller's
        failing statement undoes only its own. Another process holding the write lock is
        waited for on that thread (``busy_timeout``).
        """
        loop = asyncio.get_running_loop()
        self.conn  # noqa: B018 - raises when the store is not open
        future: asyncio.Future[builtins.list[builtins.list[Any]]] = loop.create_future()
        self._pending.append((statements, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending and self._writer_conn is not None:
            batch, self._pending = self._pending, []
            groups = [statements for statements, _ in batch]
            try:
                results = await loop.run_in_executor(self._writer, _run_batch,
                                                     self._writer_conn, groups)
            except BaseException as exc:  # cancelled too: no caller may wait forever
                self._settle(batch, exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            self._settle(batch, results)
            self._maybe_checkpoint()

    @staticmethod
    def _settle(batch: builtins.list[Pending], results: builtins.list[Any] | BaseException,
                ) -> None:
        for i, (_, future) in enumerate(batch):
            if future.done():
                continue  # its caller was cancelled; the statements ran (or failed) anyway
            result = results if isinstance(results, BaseException) else results[i]
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    # records ------------------------------------------------------------------------------
    # A job's inputs (the story: up to megabytes) never change while it runs, but its record
    # is saved at every step; so they live in their own table, written only when they change.
    @staticmethod
    def _row(job: Job) -> tuple[Any, ...]:
        return (job.project_id, job.status.value, job.created_at.timestamp(),
                record_json(job, "inputs"))

    def _job(self, row: Any) -> Job:
        record, events_count, cancel_requested, inputs, digest = row
        # the record is a JSON object without ``inputs``: splice them in and let pydantic
        # parse the JSON itself (twice as fast as json.loads and validating the dict)
        job = Job.model_validate_json(f'{record[:-1]},"inputs":{inputs or "{}"}}}')
        job.events_count = events_count
        job.cancel_requested = bool(cancel_requested)
        if digest and not job.status.terminal:
            self._digests[job.id] = digest
        return job

    def _inputs_statement(self, job: Job, *, force: bool = False,
                          ) -> tuple[Statement, str] | None:
        """The statement writing a job's inputs, and their digest; None when unchanged."""
        if not force and self._inputs_written.get(job.id) == job.inputs:
            return None  # the same objects as last written: compared by identity, no JSON
        inputs = _inputs_json(job)
        digest = hashlib.blake2b(inputs.encode(), digest_size=16).hexdigest()
        if not force and self._digests.get(job.id) == digest:
            return None
        return ((
            "INSERT INTO job_inputs (job_id, digest, inputs) VALUES (?, ?, ?)"
            " ON CONFLICT (job_id) DO UPDATE SET digest = excluded.digest,"
            " inputs = excluded.inputs WHERE job_inputs.digest != excluded.digest",
            (job.id, digest, inputs),
        ), digest)

    async def _write_job(self, job: Job, record_sql: str, *, force_inputs: bool,
                         event: JobEvent | None = None) -> builtins.list[builtins.list[Any]]:
        """The record, (when changed) the inputs, and (when given) an event, in one
        transaction; the rows each statement returned."""
        known = job.id in self._digests  # created or read here, and not finished
        inputs = self._inputs_statement(job, force=force_inputs)
        statements = [inputs[0]] if inputs else []
        if record_sql is SAVE and known:
            statements.append((SAVE_EXISTING, (*self._row(job), int(job.cancel_requested),
                                               job.id)))
        else:
            statements.append((record_sql, (*self._row(job), job.id, job.events_count,
                                            int(job.cancel_requested))))
        if event is not None:
            statements.append(self._append_statement(event))
        rows = await self._write_many(statements)
        if job.status.terminal:  # what is kept per job here is for jobs still moving
            self._inputs_written.pop(job.id, None)
            self._digests.pop(job.id, None)
            return rows
        if inputs:
            self._digests[job.id] = inputs[1]
        if record_sql is not CREATE and (inputs or job.id not in self._inputs_written):
            # a copy whose strings are the job's own: the next save's comparison is cheap.
            # Not for a job just created: it waits in the queue, and whoever runs it saves
            # its own copy read back from the store (whose digest ``_job`` keeps), so a copy
            # here would only hold every queued story in memory (and cost a submission 10 µs)
            self._inputs_written[job.id] = _copy_json(job.inputs)
        return rows

    async def create(self, job: Job) -> None:
        await self._write_job(job, CREATE, force_inputs=True)

    async def get(self, job_id: str) -> Job | None:
        rows = await self._read(
            f"SELECT {COLUMNS} FROM jobs j LEFT JOIN job_inputs i ON i.job_id = j.id"
            " WHERE j.id = ?", (job_id,)
        )
        return self._job(rows[0]) if rows else None

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
        ((total,),) = await self._read_large(f"SELECT COUNT(*) FROM jobs j{clause}",
                                             tuple(params))
        rows = await self._read_large(
            f"SELECT {COLUMNS} FROM jobs j LEFT JOIN job_inputs i ON i.job_id = j.id{clause}"
            " ORDER BY j.created_at DESC, j.rowid ASC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [self._job(row) for row in rows], int(total)

    async def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in JobStatus}
        for status, count in await self._read_large(
            "SELECT status, COUNT(*) FROM jobs GROUP BY status"
        ):
            out[status] = count
        return out

    async def crew_timings(self) -> dict[str, builtins.list[float]]:
        """Durations of the last 1,000 succeeded jobs' crews, read without their inputs."""
        out: dict[str, builtins.list[float]] = {}
        for (timings,) in await self._read_large(
            "SELECT json_extract(record, '$.timings') FROM jobs WHERE status = 'succeeded'"
            " ORDER BY created_at DESC LIMIT 1000"
        ):
            for crew, seconds in json.loads(timings or "{}").items():
                out.setdefault(crew, []).append(float(seconds))
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
        rows = await self._read_large(
            f"SELECT {COLUMNS} FROM jobs j LEFT JOIN job_inputs i ON i.job_id = j.id"
            " WHERE j.created_at >= ? AND j.status IN ('succeeded', 'failed', 'cancelled')"
            " AND json_extract(j.record, '$.webhook_url') IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.job_id = j.id)"
            " ORDER BY j.created_at",
            (since,),
        )
        return [self._job(row) for row in rows]

    # events -------------------------------------------------------------------------------
    @staticmethod
    def _append_statement(event: JobEvent) -> Statement:
        return (APPEND, (event.job_id, record_json(event, "seq"), event.job_id))

    def _appended(self, event: JobEvent, rows: builtins.list[Any]) -> JobEvent:
        event.seq = rows[0][0]
        for waiter in self._waiters.pop(event.job_id, ()):
            if not waiter.done():
                waiter.set_result(None)
        return event

    async def append_event(self, job_id: str, type: str, *, crew: str | None = None,
                           message: str = "", data: dict[str, Any] | None = None) -> JobEvent:
        event = JobEvent(seq=0, job_id=job_id, type=type, crew=crew, message=message,
                         data=data or {})
        return self._appended(event, await self._write(*self._append_statement(event)))

    async def save_with_event(self, job: Job, type: str, *, crew: str | None = None,
                              message: str = "", data: dict[str, Any] | None = None,
                              create: bool = False) -> JobEvent:
        event = JobEvent(seq=0, job_id=job.id, type=type, crew=crew, message=message,
                         data=data or {})
        rows = await self._write_job(job, CREATE if create else SAVE, force_inputs=create,
                                     event=event)
        return self._appended(event, rows[-1])

    async def events(self, job_id: str, after: int = 0,
                     limit: int = 1000) -> builtins.list[JobEvent]:
        rows = await self._read(
            "SELECT seq, record FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, after, limit),
        )
        return [JobEvent.model_validate_json(f'{record[:-1]},"seq":{seq}}}')
                for seq, record in rows]

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
                        del self._waiters[job_id]
