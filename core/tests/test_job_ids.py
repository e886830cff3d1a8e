"""Job ids are random UUID4s as 32 hex digits: unguessable, since a job id is all a client
without an API key needs to read a job."""

from __future__ import annotations

import uuid

from novelcrew.jobs import Job, new_job_id


def test_job_ids_are_distinct_version_4_uuids() -> None:
    ids = {new_job_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    for job_id in list(ids)[:200]:
        parsed = uuid.UUID(hex=job_id)
        assert parsed.hex == job_id and len(job_id) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert Job(crews=["architect"]).id != Job(crews=["architect"]).id
