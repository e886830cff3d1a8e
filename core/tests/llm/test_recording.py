"""Recorded model replies end to end: a job records against the local OpenAI-compatible
server, then replays with the server stopped (same result), and a request missing from the
recording fails the job with "not recorded: re-record"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from novelcrew.llm.request_key import canonical_request, key_of
from novelcrew_sdk.openai_server import OpenAIServer
from novelcrew_sdk.testing import make_settings, run_job

SECRET = "sk-live-DO-NOT-STORE-4f9c2a"


def request_key(model_id: str, messages: Any, **parts: Any) -> str:
    """The key as the model layer makes it (``reuse.py``)."""
    return key_of(canonical_request(model_id, messages, **parts))


def test_the_key_is_stable_and_covers_model_messages_schema_and_parameters() -> None:
    from pydantic import BaseModel

    class Who(BaseModel):
        who: str

    messages = [{"role": "user", "content": "Who bakes?"}]
    base = request_key("openai/m", messages, params={"temperature": 0.2})
    assert base == request_key("openai/m", [dict(m) for m in messages],
                               params={"temperature": 0.2, "seed": None})
    assert len(base) == 40
    others = {
        request_key("openai/other", messages, params={"temperature": 0.2}),
        request_key("openai/m", [{"role": "user", "content": "Who sweeps?"}],
                    params={"temperature": 0.2}),
        request_key("openai/m", messages, params={"temperature": 0.3}),
        request_key("openai/m", messages, response_model=Who, params={"temperature": 0.2}),
        request_key("openai/m", messages, tools=[{"type": "function", "function": {
            "name": "lookup"}}], params={"temperature": 0.2}),
    }
    assert base not in others and len(others) == 5


async def test_a_job_records_then_replays_without_the_server_and_misses_clearly(
    tmp_path: Path, reader_plugins: Any
) -> None:
    recording = tmp_path / "recording"

    def settings(**values: Any) -> Any:
        return make_settings(tmp_path / "data", default_model="openai/main",
                             openai_api_key=SECRET, model_max_retries=0,
                             model_timeout_seconds=2, llm_cache=False, **values)

    with OpenAIServer(default="The story is about Maya.") as server:
        recorded, _ = await run_job(
            reader_plugins, "reader", {"structured": False}, user_id="reader-42",
            settings=settings(openai_base_url=server.url, llm_record_dir=recording))
        assert recorded.status == "succeeded", recorded.error
        assert len(server.calls) == 1
        assert server.calls[0].headers.get("authorization") == f"Bearer {SECRET}"
        url = server.url
    files = list(recording.glob("*.json"))
    assert len(files) == 1
    entry = json.loads(files[0].read_text())
    assert entry["answer"]["text"] == "The story is about Maya."
    assert entry["request"]["model"] == "openai/main"
    assert "Maya climbed the lighthouse." in json.dumps(entry["request"]["messages"])
    for path in recording.iterdir():  # no key, header or caller id in any file
        text = path.read_text()
        assert SECRET not in text and "authorization" not in text.lower()
        assert "reader-42" not in text

    # the server is gone: only the recording answers
    replay = settings(openai_base_url=url, llm_replay_dir=recording)
    replayed, events = await run_job(reader_plugins, "reader", {"structured": False},
                                     settings=replay)
    assert replayed.status == "succeeded", replayed.error
    assert replayed.result == recorded.result
    [call] = [e.data for e in events if e.type == "llm_call"]
    assert call["cached"] is True and call["source"] == "replay"
    assert replayed.usage["openai/main"].calls == 0

    missed, _ = await run_job(reader_plugins, "reader", {"story": "Maya sailed away."},
                              settings=replay)
    assert missed.status == "failed"
    assert missed.error is not None and missed.error.type == "not_recorded"
    assert missed.error.message.startswith("not recorded: re-record")
    assert missed.error.details["model"] == "openai/main"


async def test_record_and_replay_together_top_a_recording_up(
    tmp_path: Path, reader_plugins: Any
) -> None:
    recording = tmp_path / "recording"
    with OpenAIServer(default="The story is about Maya.") as server:
        values = {"default_model": "openai/main", "openai_base_url": server.url,
                  "openai_api_key": SECRET, "llm_cache": False}
        first = make_settings(tmp_path / "data", llm_record_dir=recording, **values)
        await run_job(reader_plugins, "reader", {}, settings=first)
        both = make_settings(tmp_path / "data", llm_record_dir=recording,
                             llm_replay_dir=recording, **values)
        for story in ("Maya climbed the lighthouse.", "Maya sailed away."):
            job, _ = await run_job(reader_plugins, "reader", {"story": story}, settings=both)
            assert job.status == "succeeded", job.error
        assert len(server.calls) == 2  # the first story replayed, the second asked
    assert len(list(recording.glob("*.json"))) == 2


async def test_a_missing_replay_directory_is_a_clear_error(
    tmp_path: Path, reader_plugins: Any
) -> None:
    settings = make_settings(tmp_path / "data", default_model="openai/main",
                             openai_base_url="http://127.0.0.1:9/v1",
                             llm_replay_dir=tmp_path / "nope")
    job, _ = await run_job(reader_plugins, "reader", {}, settings=settings)
    assert job.error is not None and job.error.type == "not_recorded"
    assert "NOVELCREW_LLM_REPLAY: no recording directory" in job.error.message


async def test_answers_from_the_cache_are_recorded_too(
    tmp_path: Path, reader_plugins: Any
) -> None:
    from novelcrew.backends.inline.store import SQLiteStore

    with OpenAIServer(default="The story is about Maya.") as server:
        values = {"default_model": "openai/main", "openai_base_url": server.url,
                  "openai_api_key": SECRET}
        plain = make_settings(tmp_path / "data", **values)
        jobs = SQLiteStore(plain.resolved_data_dir / "jobs.sqlite3")
        await run_job(reader_plugins, "reader", {}, settings=plain, store=jobs)
        recording = make_settings(tmp_path / "data", llm_record_dir=tmp_path / "rec", **values)
        job, _ = await run_job(reader_plugins, "reader", {}, settings=recording, store=jobs)
        assert job.usage["openai/main"].cached_calls == 1
        assert len(server.calls) == 1
    assert len(list((tmp_path / "rec").glob("*.json"))) == 1
