"""``record_json`` writes what pydantic's ``model_dump_json`` writes: the same JSON values in the
same order (orjson writes a float's positive exponent as ``1e+16``, pydantic as ``1e16``), or
the same error. Stores read records back with pydantic, and a record written one way one day
and the other way the next must mean the same job."""

from __future__ import annotations

import decimal
import enum
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from novelcrew.jobs import (
    Job,
    JobErrorInfo,
    JobEvent,
    JobStatus,
    ModelUsage,
    Progress,
    record_json,
)


class Colour(enum.Enum):
    red = "red"


ZONES = st.sampled_from([None, UTC, timezone(timedelta(0)),
                         timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
DATETIMES = st.builds(lambda d, tz: d.replace(tzinfo=tz),
                      st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 1, 1)),
                      ZONES)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1e16, 1e-7, 123456789.123, 2.5e300, 5e-324])
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63 - 5)
           | FLOATS | st.text() | st.sampled_from(["\ud800", "a\u2028b", "\x00\x1f\x7f", "é北🌊"]))
#: what a crew's output or a caller's inputs may hold (anything pydantic can write)
ODD = (DATETIMES | st.uuids() | st.just(Colour.red) | st.decimals(allow_nan=False, places=3)
       | st.builds(lambda: Progress(completed_tasks=1)) | st.frozensets(st.integers(), max_size=2)
       | st.binary(max_size=4) | st.builds(lambda: decimal.Decimal("1.10")))
VALUES = st.recursive(
    SCALARS | ODD,
    lambda children: (st.lists(children, max_size=4)
                      | st.tuples(children, children)
                      | st.dictionaries(st.text(max_size=5), children, max_size=4)
                      | st.dictionaries(st.integers(), children, max_size=2)),
    max_leaves=12,
)
DICTS = st.dictionaries(st.text(max_size=8), VALUES, max_size=4)
TEXT_OR_NONE = st.none() | st.text(max_size=10)


@st.composite
def jobs(draw: st.DrawFn) -> Job:
    job = Job(
        crews=draw(st.lists(st.text(max_size=8), min_size=1, max_size=3)),
        inputs=draw(DICTS), config=draw(DICTS),
        project_id=draw(TEXT_OR_NONE), user_id=draw(TEXT_OR_NONE),
        status=draw(st.sampled_from(list(JobStatus))),
        progress=Progress(completed_tasks=draw(st.integers(0, 10)),
                          total_tasks=draw(st.integers(0, 10)),
                          current_crew=draw(TEXT_OR_NONE), current_task=draw(TEXT_OR_NONE)),
        result=draw(DICTS),
        error=draw(st.none() | st.builds(JobErrorInfo, type=st.text(max_size=5),
                                         message=st.text(max_size=20), crew=TEXT_OR_NONE,
                                         details=DICTS)),
        attempts=draw(st.integers(0, 5)),
        usage=draw(st.dictionaries(st.text(max_size=10), st.builds(
            ModelUsage, calls=st.integers(0, 9), prompt_tokens=st.integers(0, 10**9),
            cost=st.none() | FLOATS), max_size=2)),
        webhook_url=draw(TEXT_OR_NONE), cancel_requested=draw(st.booleans()),
        created_at=draw(DATETIMES), started_at=draw(st.none() | DATETIMES),
        finished_at=draw(st.none() | DATETIMES), events_count=draw(st.integers(0, 99)),
        timings=draw(st.dictionaries(st.text(max_size=5), FLOATS, max_size=3)),
        models_used=draw(st.lists(st.text(max_size=8), max_size=3)),
    )
    if draw(st.booleans()):  # a record being saved: fields set after it was made
        job.status = JobStatus.running
        job.progress.current_task = draw(TEXT_OR_NONE)
    return job


def written(write: Any, *args: Any, **kwargs: Any) -> Any:
    """The JSON values written, keys in order, or the error raised instead."""
    try:
        text = write(*args, **kwargs)
    except Exception as exc:
        return type(exc)
    return json.loads(text, object_pairs_hook=list)


@settings(max_examples=400, deadline=None)
@given(jobs())
def test_a_job_record_is_written_as_pydantic_writes_it(job: Job) -> None:
    assert written(record_json, job, "inputs") == written(job.model_dump_json,
                                                          exclude={"inputs"})
    assert written(record_json, job) == written(job.model_dump_json)


@settings(max_examples=300, deadline=None)
@given(st.builds(JobEvent, seq=st.integers(0, 10**6), job_id=st.text(max_size=8),
                 type=st.text(max_size=8), at=DATETIMES, crew=TEXT_OR_NONE,
                 message=st.text(max_size=30), data=DICTS))
def test_an_event_is_written_as_pydantic_writes_it(event: JobEvent) -> None:
    assert written(record_json, event, "seq") == written(event.model_dump_json,
                                                         exclude={"seq"})


def test_the_everyday_record_takes_the_fast_way() -> None:
    """The fast way is the point: a plain job (what the API makes) must not fall back."""
    job = Job(crews=["architect"], inputs={"story_text": "Maya opened the door."},
              project_id="42", usage={"offline": ModelUsage(calls=1, cost=0.5)},
              error=JobErrorInfo(type="x", message="y"))
    calls: list[Any] = []
    original = Job.model_dump_json

    def spy(self: Job, **kw: Any) -> str:
        calls.append(kw)
        return original(self, **kw)

    Job.model_dump_json = spy  # type: ignore[method-assign]
    try:
        text = record_json(job, "inputs")
    finally:
        Job.model_dump_json = original  # type: ignore[method-assign]
    assert not calls
    assert Job.model_validate_json(text[:-1] + ',"inputs":{}}') == job.model_copy(
        update={"inputs": {}})
    assert uuid.UUID(job.id)
