"""A job's life in the log: submitted (the API), started, each crew finished, and succeeded,
failed or cancelled (the built-in ``joblog`` observer), each line with the job id and crews;
the crew and final lines with their duration, the final lines with the usage per model."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import apicrews
import pytest
from apihelpers import wait_job
from nc_logs import Stream, kept_logging
from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl
from novelcrew.jobs import ModelUsage
from novelcrew.logging import configure_logging
from novelcrew.plugins import register_module
from novelcrew.settings import Settings

STORY = "Maya climbed the lighthouse stairs at dusk."

class In(BaseModel):
    story_text: str


class Out(BaseModel):
    chars: int


async def metered(ctx: RunContext, inputs: In) -> Out:
    ctx.record_usage("offline", ModelUsage(calls=2, prompt_tokens=40, completion_tokens=10))
    return Out(chars=len(inputs.story_text))


class Metered:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="metered", description="Records usage.", input_model=In,
                      output_model=Out, run=metered))


@pytest.fixture
def log_lines(tmp_path: Any, plugins: Any) -> Iterator[io.StringIO]:
    register_module(plugins, Metered(), "metered")
    out = Stream()
    with kept_logging():
        configure_logging(Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                                   log_format="json"), stream=out)
        yield out


def lines_of(out: io.StringIO, job_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [line for line in lines if line.get("job_id") == job_id
            and line["logger"] == "novelcrew.jobs"]


async def test_a_chain_that_succeeds(client, log_lines):
    r = await client.post("/jobs", json={"crews": ["metered", "echo"], "project_id": "p1",
                                         "inputs": {"story_text": STORY}})
    job_id = r.json()["id"]
    await wait_job(client, job_id, "succeeded")
    lines = lines_of(log_lines, job_id)
    assert [line["event"] for line in lines] == [
        "job_submitted", "job_started", "crew_finished", "crew_finished", "job_succeeded"]
    assert all(line["crews"] == ["metered", "echo"] for line in lines)
    submitted, started, first, second, done = lines
    assert submitted["project_id"] == "p1" and submitted["story_chars"] == len(STORY)
    assert STORY not in log_lines.getvalue()  # the story itself is never logged
    assert started["attempt"] == 1
    assert [first["crew"], second["crew"]] == ["metered", "echo"]
    assert first["seconds"] >= 0 and second["seconds"] >= 0
    assert done["seconds"] >= 0 and done["attempts"] == 1
    assert done["seconds"] == round(done["seconds"], 3)  # to the ms, as the crew lines
    assert done["usage"] == {"offline": {"calls": 2, "prompt_tokens": 40,
                                         "completion_tokens": 10}}
    assert set(done["timings"]) == {"metered", "echo"}
    assert done["level"] == "info"


async def test_a_job_that_fails_and_one_that_is_cancelled(client, log_lines):
    failed = (await client.post("/jobs", json={"crews": ["boom"],
                                               "inputs": {"story_text": STORY}})).json()["id"]
    await wait_job(client, failed, "failed")
    last = lines_of(log_lines, failed)[-1]
    assert last["event"] == "job_failed" and last["level"] == "warning"
    assert last["crews"] == ["boom"] and last["crew"] == "boom"
    assert last["error_type"] == "RuntimeError" and last["error"] == "the crew broke"
    assert last["seconds"] >= 0 and last["usage"] == {}

    gated = (await client.post("/jobs", json={"crews": ["gated"], "inputs": {
        "story_text": STORY, "gate": "joblog-cancel"}})).json()["id"]
    await wait_job(client, gated, "running")
    assert (await client.post(f"/jobs/{gated}/cancel")).status_code == 202
    await wait_job(client, gated, "cancelled")
    events = [line["event"] for line in lines_of(log_lines, gated)]
    assert events == ["job_submitted", "job_started", "job_cancelled"]
    apicrews.open_gate("joblog-cancel")
