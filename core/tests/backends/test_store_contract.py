"""One contract for every ``JobStore``: ``MemoryStore`` (the test double), ``SQLiteStore`` and
``RedisStore`` (on a real redis-server) must behave the same, since plugin authors test against
the first and servers run the others."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from novelcrew.backends.arq.keys import Keys
from novelcrew.backends.arq.store import RedisStore
from novelcrew.backends.base import IdempotencyClaim, JobStore
from novelcrew.backends.inline.store import SQLiteStore
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job, JobErrorInfo, JobStatus, ModelUsage, PartialResults, utcnow


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    s: JobStore
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = SQLiteStore(tmp_path / "jobs.sqlite3", poll_seconds=0.05)
    else:
        root = f"t{uuid.uuid4().hex[:10]}"
        s = RedisStore(request.getfixturevalue("redis_url"), Keys(root))
    await s.open()
    yield s
    await s.close()


def make_job(**kw: object) -> Job:
    return Job(crews=["architect"], inputs={"story_text": "x"}, **kw)  # type: ignore[arg-type]


async def test_create_get_roundtrip(store: JobStore) -> None:
    job = make_job(project_id="p1", webhook_url="http://example.invalid/hook")
    await store.create(job)
    got = await store.get(job.id)
    assert got == job
    assert await store.get("nope") is None


async def test_get_returns_a_copy(store: JobStore) -> None:
    job = make_job()
    await store.create(job)
    got = await store.get(job.id)
    assert got is not None
    got.status = JobStatus.failed
    again = await store.get(job.id)
    assert again is not None and again.status is JobStatus.queued


async def test_events_are_numbered_without_gaps_and_update_the_count(store: JobStore) -> None:
    job = make_job()
    await store.create(job)
    for i in range(5):
        event = await store.append_event(job.id, "progress", crew="architect",
                                         message=f"m{i}", data={"i": i})
        assert event.seq == i + 1
    events = await store.events(job.id)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.data["i"] for e in events] == [0, 1, 2, 3, 4]
    assert [e.seq for e in await store.events(job.id, after=3)] == [4, 5]
    assert [e.seq for e in await store.events(job.id, after=1, limit=2)] == [2, 3]
    stored = await store.get(job.id)
    assert stored is not None and stored.events_count == 5


async def test_concurrent_appends_get_distinct_contiguous_seqs(store: JobStore) -> None:
    job = make_job()
    await store.create(job)
    events = await asyncio.gather(*(store.append_event(job.id, "progress") for _ in range(40)))
    assert sorted(e.seq for e in events) == list(range(1, 41))
    assert [e.seq for e in await store.events(job.id)] == list(range(1, 41))


async def test_save_with_event_writes_record_and_event_together(store: JobStore) -> None:
    job = make_job(project_id="p1")
    first = await store.save_with_event(job, "queued", message="job queued", create=True)
    assert first.seq == 1
    job.status = JobStatus.running
    job.result["architect"] = {"scenes": 3}
    second = await store.save_with_event(job, "crew_finished", crew="architect",
                                         data={"seconds": 1.5})
    assert second.seq == 2
    stored = await store.get(job.id)
    assert stored is not None
    assert stored.status is JobStatus.running and stored.result == {"architect": {"scenes": 3}}
    assert stored.events_count == 2
    events = await store.events(job.id)
    assert [(e.type, e.crew, e.data) for e in events] == [
        ("queued", None, {}), ("crew_finished", "architect", {"seconds": 1.5})]


async def test_save_with_event_keeps_a_cancellation(store: JobStore) -> None:
    job = make_job()
    await store.create(job)
    stale = await store.get(job.id)
    assert stale is not None
    job.cancel_requested = True
    await store.save(job)
    await store.save_with_event(stale, "progress")  # a copy read before the cancellation
    stored = await store.get(job.id)
    assert stored is not None and stored.cancel_requested and stored.events_count == 1


async def test_an_ended_job_is_final_whatever_writes_come_late(store: JobStore) -> None:
    """A straggling run (a cancelled run's thread finishing a model call, a task that outlived
    a timeout) writes after the job's ending: its ending, final result and usage included,
    stays exactly as the ending wrote it, on every store."""
    job = make_job(project_id="p1")
    await store.save_with_event(job, "queued", create=True)
    job.status = JobStatus.running
    await store.save_with_event(job, "started")
    straggler = await store.get(job.id)  # the run's own copy, still "running"
    assert straggler is not None
    # the ending goes through whole: its record (result, usage, error) and its event
    job.status = JobStatus.failed
    job.result["architect"] = {"scenes": 2}
    job.usage["offline"] = ModelUsage(calls=3, prompt_tokens=30)
    job.error = JobErrorInfo(type="RuntimeError", message="boom", crew="director")
    job.finished_at = utcnow()
    ended = await store.save_with_event(job, "failed", message="boom")
    assert (ended.seq, ended.type) == (3, "failed")
    final = await store.get(job.id)
    assert final is not None and final.status is JobStatus.failed

    # then the straggler: progress, a partial result, usage, events, a second ending
    straggler.progress.completed_tasks = 9
    straggler.partial["director"] = {"scene": PartialResults(done=1, items={"1": {"a": 1}})}
    straggler.usage["offline"] = ModelUsage(calls=99)
    straggler.inputs = {"story_text": "rewritten"}
    await store.save(straggler)
    late = await store.append_event(job.id, "llm_call", data={"model": "offline"})
    assert (late.seq, late.type) == (3, "failed")  # nothing appended: the ending answers
    again = await store.save_with_event(straggler, "partial", crew="director")
    assert (again.seq, again.type) == (3, "failed")
    straggler.status = JobStatus.cancelled
    second = await store.save_with_event(straggler, "cancelled")
    assert (second.seq, second.type) == (3, "failed")

    stored = await store.get(job.id)
    assert stored == final
    assert stored is not None and stored.events_count == 3
    assert stored.inputs == {"story_text": "x"} and stored.result == {"architect": {"scenes": 2}}
    assert [e.type for e in await store.events(job.id)] == ["queued", "started", "failed"]
    assert await store.counts() == {**{s.value: 0 for s in JobStatus}, "failed": 1}


async def test_an_ending_saved_before_its_event_still_gets_it(store: JobStore) -> None:
    """A backend that ends a job outside its run (a timeout) saves the record, then appends
    the terminal event: the log stays open until that event, then closes."""
    job = make_job()
    await store.create(job)
    await store.append_event(job.id, "started")
    job.status = JobStatus.failed
    await store.save(job)
    warned = await store.append_event(job.id, "warning", message="timed out")
    ended = await store.append_event(job.id, "failed")
    assert (warned.seq, ended.seq, ended.type) == (2, 3, "failed")
    assert (await store.append_event(job.id, "progress")).seq == 3
    assert [e.type for e in await store.events(job.id)] == ["started", "warning", "failed"]


async def test_save_keeps_event_count_and_cancellation(store: JobStore) -> None:
    """A save from a stale copy must not rewind events_count nor undo a cancel request."""
    job = make_job()
    await store.create(job)
    stale = await store.get(job.id)
    assert stale is not None
    await store.append_event(job.id, "queued")
    fresh = await store.get(job.id)
    assert fresh is not None
    fresh.cancel_requested = True
    await store.save(fresh)
    stale.status = JobStatus.running
    await store.save(stale)
    got = await store.get(job.id)
    assert got is not None
    assert got.status is JobStatus.running
    assert got.events_count == 1
    assert got.cancel_requested is True


async def test_list_filters_newest_first_with_total(store: JobStore) -> None:
    base = utcnow()
    jobs = []
    for i in range(6):
        job = make_job(project_id="a" if i % 2 else "b", created_at=base + timedelta(seconds=i))
        if i == 5:
            job.status = JobStatus.succeeded
        await store.create(job)
        jobs.append(job)
    page, total = await store.list(limit=2)
    assert total == 6
    assert [j.id for j in page] == [jobs[5].id, jobs[4].id]
    page, total = await store.list(limit=2, offset=4)
    assert [j.id for j in page] == [jobs[1].id, jobs[0].id]
    page, total = await store.list(project_id="a")
    assert total == 3 and [j.id for j in page] == [jobs[5].id, jobs[3].id, jobs[1].id]
    page, total = await store.list(project_id="a", status=JobStatus.queued)
    assert total == 2 and [j.id for j in page] == [jobs[3].id, jobs[1].id]


async def test_a_tenant_lists_only_its_own_jobs_through_status_changes(
        store: JobStore) -> None:
    base = utcnow()
    jobs = []
    for i, tenant in enumerate(["red", "blue", None, "red", "blue", "red"]):
        job = make_job(project_id="a" if i < 3 else "b", tenant=tenant,
                       created_at=base + timedelta(seconds=i))
        await store.create(job)
        jobs.append(job)
    assert (await store.get(jobs[0].id)).tenant == "red"  # type: ignore[union-attr]
    page, total = await store.list(tenant="red")
    assert total == 3 and [j.id for j in page] == [jobs[5].id, jobs[3].id, jobs[0].id]
    page, total = await store.list(tenant="red", limit=1, offset=1)
    assert total == 3 and [j.id for j in page] == [jobs[3].id]
    page, total = await store.list(tenant="blue", project_id="a")
    assert total == 1 and [j.id for j in page] == [jobs[1].id]
    assert (await store.list())[1] == 6  # no tenant: every job
    assert (await store.list(tenant="green"))[1] == 0
    done = jobs[3].model_copy(update={"status": JobStatus.succeeded})
    await store.save(done)
    page, total = await store.list(tenant="red", status=JobStatus.succeeded)
    assert total == 1 and [j.id for j in page] == [jobs[3].id]
    page, total = await store.list(tenant="red", status=JobStatus.queued, project_id="b")
    assert total == 1 and [j.id for j in page] == [jobs[5].id]
    assert (await store.list(tenant="blue", status=JobStatus.succeeded))[1] == 0


async def test_counts_and_unfinished(store: JobStore) -> None:
    statuses = [JobStatus.queued, JobStatus.running, JobStatus.succeeded, JobStatus.queued]
    for status in statuses:
        job = make_job()
        job.status = status
        await store.create(job)
    counts = await store.counts()
    assert counts == {"queued": 2, "running": 1, "succeeded": 1, "failed": 0, "cancelled": 0}
    unfinished = await store.unfinished()
    assert sorted(j.status.value for j in unfinished) == ["queued", "queued", "running"]


async def test_wait_events_wakes_on_append(store: JobStore) -> None:
    job = make_job()
    await store.create(job)
    waiter = asyncio.create_task(store.wait_events(job.id, 0, timeout=10))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await store.append_event(job.id, "started")
    events = await asyncio.wait_for(waiter, 2)
    assert [e.type for e in events] == ["started"]


async def test_wait_events_returns_existing_at_once_and_empty_on_timeout(
    store: JobStore,
) -> None:
    job = make_job()
    await store.create(job)
    await store.append_event(job.id, "queued")
    assert [e.seq for e in await store.wait_events(job.id, 0, timeout=5)] == [1]
    assert await store.wait_events(job.id, 1, timeout=0.1) == []


async def test_sqlite_waiter_sees_events_written_by_another_connection(tmp_path: Path) -> None:
    """Another process may write the same file: waiters fall back to polling it."""
    path = tmp_path / "jobs.sqlite3"
    reader, writer = SQLiteStore(path, poll_seconds=0.05), SQLiteStore(path)
    await reader.open()
    await writer.open()
    try:
        job = make_job()
        await writer.create(job)
        waiter = asyncio.create_task(reader.wait_events(job.id, 0, timeout=10))
        await asyncio.sleep(0.1)
        await writer.append_event(job.id, "started")
        events = await asyncio.wait_for(waiter, 2)
        assert [e.type for e in events] == ["started"]
        got = await reader.get(job.id)
        assert got is not None and got.events_count == 1
    finally:
        await reader.close()
        await writer.close()


async def test_sqlite_survives_reopen_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "d" / "jobs.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    job = make_job()
    await store.create(job)
    await store.append_event(job.id, "queued")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    await store.close()
    again = SQLiteStore(path)
    await again.open()
    try:
        got = await again.get(job.id)
        assert got is not None and got.events_count == 1
        assert [e.type for e in await again.events(job.id)] == ["queued"]
    finally:
        await again.close()


async def test_save_replaces_inputs_too(store: JobStore) -> None:
    job = make_job()
    await store.create(job)
    job.inputs = {"story_text": "a longer story", "preferences": {"tone": "quiet"}}
    await store.save(job)
    got = await store.get(job.id)
    assert got is not None and got.inputs == job.inputs
    listed, _ = await store.list()
    assert listed[0].inputs == job.inputs


async def test_inputs_come_back_as_they_went_in(store: JobStore) -> None:
    """Whatever JSON a job's inputs hold: non-ASCII text, nulls, integers past 64 bits, and
    (from Python callers; the API refuses them) NaN and infinities, which a fast JSON writer
    would have turned into null."""
    plain = make_job()
    plain.inputs = {"story_text": "Zoë walks 北へ 🌊", "none": None, "n": [1, 2.5, True]}
    big = make_job()
    big.inputs = {"story_text": "x", "seed": 2 ** 80}
    odd = make_job()
    odd.inputs = {"story_text": "x", "nan": float("nan"), "inf": [float("inf"), float("-inf")]}
    for job in (plain, big, odd):
        await store.create(job)
    for job in (plain, big):
        got = await store.get(job.id)
        assert got is not None and got.inputs == job.inputs
    got = await store.get(odd.id)
    assert got is not None and got.inputs["inf"] == [float("inf"), float("-inf")]
    assert got.inputs["nan"] != got.inputs["nan"]  # NaN, not None


async def test_sqlite_does_not_rewrite_a_big_story_at_every_save(tmp_path: Path) -> None:
    """Records are saved at every progress step; the story must not be written each time."""
    path = tmp_path / "jobs.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    try:
        job = Job(crews=["architect"], inputs={"story_text": "word " * 400_000})  # 2 MB
        await store.create(job)
        wal = path.with_name(path.name + "-wal")
        before = wal.stat().st_size
        for i in range(50):
            job.progress.completed_tasks = i
            await store.save(job)
        assert wal.stat().st_size - before < 1_000_000, "the inputs were rewritten on save"
        got = await store.get(job.id)
        assert got is not None and got.inputs == job.inputs
        assert got.progress.completed_tasks == 49
    finally:
        await store.close()


async def test_sqlite_holds_no_story_of_a_queued_job_in_memory(tmp_path: Path) -> None:
    """A queue can hold thousands of jobs with stories of up to 2 MB: once created, they live
    in the file, not in the server's memory. The job read back to run it is saved without
    rewriting its inputs."""
    import gc
    import tracemalloc

    store = SQLiteStore(tmp_path / "jobs.sqlite3")
    await store.open()
    try:
        tracemalloc.start()
        ids = []
        for i in range(40):
            job = Job(crews=["architect"], inputs={"story_text": f"{i} " + "word " * 50_000})
            await store.create(job)
            ids.append(job.id)
        del job
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert held < 2_000_000, f"{held} bytes held after creating 40 jobs of 250 KB"

        running = await store.get(ids[0])
        assert running is not None
        wal = tmp_path / "jobs.sqlite3-wal"
        before = wal.stat().st_size
        for i in range(5):
            running.progress.completed_tasks = i
            await store.save(running)
        assert wal.stat().st_size - before < 100_000, "the inputs were rewritten on save"
    finally:
        await store.close()


async def test_sqlite_stores_sharing_a_file_see_each_others_saves_and_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.sqlite3"
    first, second = SQLiteStore(path), SQLiteStore(path)
    await first.open()
    await second.open()
    try:
        job = make_job()
        await first.save_with_event(job, "queued", create=True)
        job.status = JobStatus.running  # saved by a store that never saw the job before
        await second.save_with_event(job, "started")
        seen = await first.get(job.id)
        assert seen is not None and seen.status is JobStatus.running
        assert seen.events_count == 2 and seen.inputs == job.inputs
        job.status = JobStatus.succeeded
        await first.save_with_event(job, "succeeded")  # the first store's copy is stale
        seen = await second.get(job.id)
        assert seen is not None and seen.status is JobStatus.succeeded
        assert [e.type for e in await second.events(job.id)] == ["queued", "started",
                                                                "succeeded"]
    finally:
        await first.close()
        await second.close()


async def test_sqlite_opens_a_file_made_by_the_version_with_the_count_trigger(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    job = make_job()
    await store.create(job)
    await store.append_event(job.id, "queued")
    await store.close()
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TRIGGER events_count AFTER INSERT ON events BEGIN"
        " UPDATE jobs SET events_count = 99 WHERE id = NEW.job_id; END;")
    old.close()
    again = SQLiteStore(path)
    await again.open()
    try:
        await again.append_event(job.id, "started")
        got = await again.get(job.id)
        assert got is not None and got.events_count == 2
        with sqlite3.connect(path) as conn:
            names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            assert names.fetchall() == []
    finally:
        await again.close()


async def test_a_store_file_from_before_tenants_opens_and_its_jobs_have_none(
        tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    job = make_job(project_id="p")
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE jobs (id TEXT PRIMARY KEY, project_id TEXT, status TEXT NOT NULL,
            created_at REAL NOT NULL, events_count INTEGER NOT NULL DEFAULT 0,
            cancel_requested INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL);""")
    conn.execute("INSERT INTO jobs (id, project_id, status, created_at, record)"
                 " VALUES (?, ?, ?, ?, ?)",
                 (job.id, "p", "queued", job.created_at.timestamp(),
                  job.model_dump_json(exclude={"inputs", "tenant"})))
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        page, total = await store.list()
        assert total == 1 and page[0].id == job.id and page[0].tenant is None
        assert (await store.list(tenant="red"))[1] == 0
        await store.create(make_job(tenant="red"))
        assert (await store.list(tenant="red"))[1] == 1
    finally:
        await store.close()


async def test_published_pieces_are_kept_with_the_job(store: JobStore) -> None:
    """``partial`` (what ``RunContext.publish_partial`` stores) survives save and read."""
    from novelcrew.jobs import PartialResults

    job = make_job()
    await store.create(job)
    job.partial = {"director": {"scene": PartialResults(total=40, done=1, items={
        "3": {"number": 3, "heading": "INT. PIER - NIGHT", "shots": [{"lens": "50mm"}]}})}}
    await store.save_with_event(job, "partial", crew="director", message="scene 3 planned",
                                data={"kind": "scene", "key": "3", "done": 1, "total": 40})
    got = await store.get(job.id)
    assert got is not None and got.partial == job.partial
    assert got.partial["director"]["scene"].done == 1
    [event] = [e for e in await store.events(job.id) if e.type == "partial"]
    assert event.data["key"] == "3" and event.crew == "director"


async def test_ping_answers_with_jobs_and_fails_without_a_readable_store(
        store: JobStore, tmp_path: Path) -> None:
    await store.ping()  # empty
    for _ in range(3):
        await store.create(make_job())
    await store.ping()
    if isinstance(store, SQLiteStore):  # it reads the jobs table: gone, /health says down
        with sqlite3.connect(tmp_path / "jobs.sqlite3") as other:
            other.execute("DROP TABLE jobs")
        with pytest.raises(sqlite3.OperationalError):
            await store.ping()


async def test_an_idempotency_key_is_claimed_once_and_expires(store: JobStore) -> None:
    """The claim behind ``Idempotency-Key`` (the base class's in-process default for
    ``MemoryStore``): racing claims have one winner, only the holder keeps or frees the key,
    and an expired claim is replaced."""
    claims = [IdempotencyClaim(fingerprint="f", job_id=f"job{i}") for i in range(8)]
    got = await asyncio.gather(*(store.claim_idempotency_key("k", c, 60) for c in claims))
    winners = [c for c, held in zip(claims, got, strict=True) if held is None]
    assert len(winners) == 1
    assert all(held == winners[0] for held in got if held is not None)
    await store.keep_idempotency_key("k", "not-the-holder", 0)
    late = IdempotencyClaim(fingerprint="f", job_id="late")
    assert await store.claim_idempotency_key("k", late, 60) == winners[0]
    await store.keep_idempotency_key("k", winners[0].job_id, 0)  # released
    fresh = IdempotencyClaim(fingerprint="g", job_id="fresh")
    assert await store.claim_idempotency_key("k", fresh, 60) is None
    await store.keep_idempotency_key("k", "fresh", 0.1)
    assert await store.claim_idempotency_key("k", claims[1], 60) == fresh
    await asyncio.sleep(0.25)
    assert await store.claim_idempotency_key("k", claims[1], 60) is None
    assert await store.claim_idempotency_key("other", claims[2], 60) is None
