"""Recorded model replies through a real ``openai.OpenAI`` client and a real local server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from novelcrew.llm.recording import (
    RECORD_ENV,
    REPLAY_ENV,
    AsyncRecordingTransport,
    RecordingTransport,
    wrap_async_transport,
    wrap_transport,
)
from novelcrew_sdk.openai_server import Fault, OpenAIServer

SECRET = "sk-live-DO-NOT-STORE-4f9c2a"
SCHEMA = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {
    "type": "object", "properties": {"who": {"type": "string"}}}}}


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(default="The baker is Rosa.") as srv:
        yield srv


def _client(server: OpenAIServer, env: dict[str, str]) -> openai.OpenAI:
    transport = wrap_transport(httpx.HTTPTransport(), env)
    return openai.OpenAI(base_url=server.url, api_key=SECRET, max_retries=0,
                         http_client=httpx.Client(transport=transport),
                         default_headers={"X-Secret-Header": SECRET})


def _ask(client: openai.OpenAI, question: str = "Who bakes?", **params: object) -> str:
    reply = client.chat.completions.create(
        model="openai/main", messages=[{"role": "user", "content": question}], **params)
    return reply.choices[0].message.content or ""


def test_without_the_variables_the_transport_is_returned_unchanged() -> None:
    transport = httpx.HTTPTransport()
    assert wrap_transport(transport, {}) is transport
    assert isinstance(wrap_transport(transport, {RECORD_ENV: "/tmp/x"}), RecordingTransport)


def test_recorded_replies_replay_without_the_server(server: OpenAIServer, tmp_path: Path) -> None:
    recorded = _ask(_client(server, {RECORD_ENV: str(tmp_path)}), response_format=SCHEMA,
                    temperature=0.2)
    assert recorded == "The baker is Rosa."
    assert len(server.calls) == 1
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    entry = json.loads(files[0].read_text())
    assert entry["request"]["body"]["response_format"] == SCHEMA
    server.stop()  # nothing answers any more but the recording
    replayed = _ask(_client(server, {REPLAY_ENV: str(tmp_path)}), response_format=SCHEMA,
                    temperature=0.2)
    assert replayed == recorded


def test_a_different_question_schema_or_parameter_is_not_recorded(
    server: OpenAIServer, tmp_path: Path
) -> None:
    _ask(_client(server, {RECORD_ENV: str(tmp_path)}), temperature=0.2)
    replay = _client(server, {REPLAY_ENV: str(tmp_path)})
    assert _ask(replay, temperature=0.2) == "The baker is Rosa."
    for changed in ({"question": "Who sweeps?", "temperature": 0.2},
                    {"temperature": 0.3},
                    {"temperature": 0.2, "response_format": SCHEMA}):
        question = str(changed.pop("question", "Who bakes?"))
        with pytest.raises(openai.NotFoundError, match="not recorded: re-record"):
            _ask(replay, question, **changed)
    assert len(server.calls) == 1  # a miss never reaches the network


def test_keys_and_secrets_never_enter_a_recording(server: OpenAIServer, tmp_path: Path) -> None:
    _ask(_client(server, {RECORD_ENV: str(tmp_path)}), user="reader-42")
    assert server.calls[0].headers.get("authorization") == f"Bearer {SECRET}"
    for path in tmp_path.iterdir():
        text = path.read_text()
        assert SECRET not in text
        assert "reader-42" not in text  # caller ids are not part of a question either


def test_the_caller_field_does_not_change_the_key(server: OpenAIServer, tmp_path: Path) -> None:
    _ask(_client(server, {RECORD_ENV: str(tmp_path)}), user="reader-42")
    assert _ask(_client(server, {REPLAY_ENV: str(tmp_path)}), user="someone-else")


def test_failures_are_not_recorded(server: OpenAIServer, tmp_path: Path) -> None:
    server.queue(Fault.server_error(503))
    with pytest.raises(openai.InternalServerError):
        _ask(_client(server, {RECORD_ENV: str(tmp_path)}))
    assert list(tmp_path.glob("*.json")) == []


def test_record_and_replay_together_top_a_recording_up(
    server: OpenAIServer, tmp_path: Path
) -> None:
    _ask(_client(server, {RECORD_ENV: str(tmp_path)}), "first")
    both = _client(server, {RECORD_ENV: str(tmp_path), REPLAY_ENV: str(tmp_path)})
    _ask(both, "first")
    _ask(both, "second")
    assert [c.messages[0]["content"] for c in server.calls] == ["first", "second"]
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_streamed_replies_replay_as_streams(server: OpenAIServer, tmp_path: Path) -> None:
    def streamed(client: openai.OpenAI) -> str:
        chunks = client.chat.completions.create(
            model="openai/main", messages=[{"role": "user", "content": "Who bakes?"}],
            stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    recorded = streamed(_client(server, {RECORD_ENV: str(tmp_path)}))
    server.stop()
    assert streamed(_client(server, {REPLAY_ENV: str(tmp_path)})) == recorded
    assert recorded == "The baker is Rosa."


def test_a_missing_replay_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"{REPLAY_ENV}: no recording directory"):
        wrap_transport(httpx.HTTPTransport(), {REPLAY_ENV: str(tmp_path / "nope")})


def test_the_async_client_records_and_replays(server: OpenAIServer, tmp_path: Path) -> None:
    async def ask(env: dict[str, str]) -> str:
        transport = wrap_async_transport(httpx.AsyncHTTPTransport(), env)
        assert isinstance(transport, AsyncRecordingTransport)
        async with openai.AsyncOpenAI(base_url=server.url, api_key=SECRET, max_retries=0,
                                      http_client=httpx.AsyncClient(transport=transport)) as c:
            reply = await c.chat.completions.create(
                model="openai/main", messages=[{"role": "user", "content": "Who bakes?"}])
            return reply.choices[0].message.content or ""

    recorded = asyncio.run(ask({RECORD_ENV: str(tmp_path)}))
    server.stop()
    assert asyncio.run(ask({REPLAY_ENV: str(tmp_path)})) == recorded


def test_the_variables_are_known_settings_not_typos() -> None:
    from novelcrew.settings import check_environment

    assert check_environment({RECORD_ENV: "/tmp/a", REPLAY_ENV: "/tmp/b"}) == []
