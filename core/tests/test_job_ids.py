"""Job ids are UUIDs version 7 as 32 hex digits: unguessable (74 random bits), since a job id
is all a client without an API key needs to read a job, and in creation order, so stores index
new jobs at one end."""

from __future__ import annotations

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
