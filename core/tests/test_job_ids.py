"""Job ids are UUIDs version 7 as 32 hex digits: unguessable (74 random bits), since a job id
is all a client without an API key needs to read a job, and in creation order, so stores index
new jobs at one end."""

from __future__ import annotations

import os
import time
import uuid

from novelcrew.jobs import Job, new_job_id


def test_job_ids_are_distinct_version_7_uuids() -> None:
    ids = {new_job_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    for job_id in list(ids)[:200]:
        parsed = uuid.UUID(hex=job_id)
        assert parsed.hex == job_id and len(job_id) == 32
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert Job(crews=["architect"]).id != Job(crews=["architect"]).id


def test_job_ids_carry_their_creation_time_and_sort_by_it() -> None:
    before = time.time_ns() // 1_000_000
    first = new_job_id()
    time.sleep(0.002)
    second = new_job_id()
    after = time.time_ns() // 1_000_000
    for job_id in (first, second):
        assert before <= int(job_id[:12], 16) <= after  # the first 48 bits: ms since 1970
    assert first < second
    # the random part differs between ids made in the same millisecond
    same_ms = [new_job_id() for _ in range(50)]
    assert len({job_id[12:] for job_id in same_ms}) == 50


def test_a_forked_process_never_repeats_its_parents_ids() -> None:
    """Random bytes are drawn for many ids at once: a forked worker must draw its own."""
    new_job_id()  # the parent holds a drawn batch now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then out without running the parent's cleanup
        os.close(read)
        os.write(write, ",".join(new_job_id() for _ in range(20)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split(",")
    os.waitpid(pid, 0)
    parent = [new_job_id() for _ in range(20)]
    assert len(child) == 20
    assert not {i[12:] for i in child} & {i[12:] for i in parent}
