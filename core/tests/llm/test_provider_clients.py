"""The HTTP providers' clients: shared across threads in a few shards, and chat requests sent
exactly as the OpenAI SDK would send them, without its type-directed walk when it has nothing
to do."""

from __future__ import annotations

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from novelcrew.llm import plain_requests
from novelcrew.llm.providers import CLIENT_SHARDS, build_provider_llm
from novelcrew_sdk.openai_server import OpenAIServer, Reply

MESSAGES = [{"role": "system", "content": "You are a careful reader."},
            {"role": "user", "content": "Who climbed the lighthouse?"}]

#: request bodies as crewAI builds them (plain JSON), from simple to tool-laden
BODIES: list[dict[str, Any]] = [
    {"messages": MESSAGES, "model": "main", "stream": False},
    {"messages": [*MESSAGES,
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "call_1", "type": "function",
                       "function": {"name": "lookup", "arguments": '{"query": "Maya"}'}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "the keeper"}],
     "model": "main", "temperature": 0.2, "stop": ["\nObservation:"], "max_tokens": 300,
     "tools": [{"type": "function", "function": {
         "name": "lookup", "description": "Look a name up.",
         "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                        "required": ["query"]}}}],
     "tool_choice": "auto", "parallel_tool_calls": True},
    {"messages": MESSAGES, "model": "main", "seed": 7, "user": "u1", "metadata": {"k": "v"},
     "response_format": {"type": "json_schema", "json_schema": {
         "name": "Answer", "strict": True,
         "schema": {"type": "object", "properties": {"text": {"type": "string"}}}}}},
]


def _chat_types() -> tuple[Any, Any]:
    from openai.types.chat import completion_create_params as params

    return params.CompletionCreateParamsNonStreaming, params.CompletionCreateParamsStreaming


def test_plain_bodies_are_exactly_what_the_sdk_transform_returns() -> None:
    from openai import omit
    from openai.resources.chat.completions import completions

    assert plain_requests.install()
    fast = completions.maybe_transform
    sdk = fast.__wrapped__
    for body in BODIES:
        for chat_type in _chat_types():
            with_omitted = {**body, "audio": omit, "seed": body.get("seed", omit)}
            assert fast(with_omitted, chat_type) == sdk(with_omitted, chat_type)


def test_anything_but_plain_json_takes_the_sdks_own_walk() -> None:
    from openai import omit
    from openai.resources.chat.completions import completions
    from pydantic import BaseModel

    class Meta(BaseModel):
        k: str = "v"

    assert plain_requests.install()
    fast = completions.maybe_transform
    sdk = fast.__wrapped__
    chat_type = _chat_types()[0]
    odd = [
        {"messages": MESSAGES, "model": "main", "metadata": Meta()},  # a pydantic model
        {"messages": [{"role": "user", "content": "hi", "name": omit}], "model": "main"},
        {"messages": tuple(MESSAGES), "model": "main"},  # an iterable, listed by the SDK
        {"messages": MESSAGES, "model": "main", "extra": datetime.date(2026, 1, 2)},
    ]
    for body in odd:
        assert fast(body, chat_type) == sdk(body, chat_type)
    assert fast(odd[1], chat_type)["messages"] == [{"role": "user", "content": "hi"}]
    # other request types are not touched at all
    from openai.types import embedding_create_params

    body = {"input": "text", "model": "e"}
    assert fast(body, embedding_create_params.EmbeddingCreateParams) == body


def test_types_with_aliases_are_detected() -> None:
    from openai._utils._transform import PropertyInfo
    from openai.types.beta import response_create_params

    assert plain_requests._transforms(
        response_create_params.ResponseCreateParamsNonStreaming, PropertyInfo, set())
    assert not any(plain_requests._transforms(t, PropertyInfo, set()) for t in _chat_types())


def test_the_server_receives_the_same_request_either_way(
    server: OpenAIServer, settings_for: Any
) -> None:
    llm = build_provider_llm("openai/main", settings_for())
    bodies = []
    try:
        for install in (True, False):
            (plain_requests.install if install else plain_requests.uninstall)()
            server.clear()
            assert llm.call(MESSAGES) == "The story is about Maya."
            [request] = server.calls
            bodies.append(request.body)
    finally:
        plain_requests.install()
    assert bodies[0] == bodies[1]
    assert bodies[0]["messages"] == MESSAGES


def test_threads_share_a_few_clients_and_keep_theirs(
    server: OpenAIServer, settings_for: Any
) -> None:
    llm = build_provider_llm("openai/main", settings_for())
    start = threading.Barrier(3 * CLIENT_SHARDS)

    def in_a_thread(_: int) -> tuple[int, int, str]:
        start.wait()
        first = llm._get_sync_client()
        answer = llm.call(MESSAGES)
        assert llm._get_sync_client() is first
        return id(first), id(first._client), answer

    with ThreadPoolExecutor(3 * CLIENT_SHARDS) as pool:
        results = list(pool.map(in_a_thread, range(3 * CLIENT_SHARDS)))
    assert {answer for *_, answer in results} == {"The story is about Maya."}
    assert len({client for client, _, _ in results}) == CLIENT_SHARDS
    assert len({http for _, http, _ in results}) == CLIENT_SHARDS
    assert len(server.calls) == 3 * CLIENT_SHARDS
    assert all(r.headers["authorization"] == "Bearer sk-test" for r in server.calls)


def test_a_tool_call_answer_still_comes_back_through_a_shard(
    server: OpenAIServer, settings_for: Any
) -> None:
    server.queue(Reply.tool("lookup", {"query": "Maya"}))
    llm = build_provider_llm("openai/main", settings_for())
    tools = [{"type": "function", "function": {
        "name": "lookup", "description": "Look a name up.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}]
    answer = llm.call(MESSAGES, tools=tools)
    assert "lookup" in str(answer)
    assert server.calls[0].body["tools"][0]["function"]["name"] == "lookup"


ANSWERS: list[dict[str, Any]] = [
    {"id": "c1", "object": "chat.completion", "created": 1700000000, "model": "main",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Maya."},
                  "finish_reason": "stop", "logprobs": None}],
     "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12,
               "cost": 0.0001}, "provider": "OpenRouter"},
    {"id": "c2", "object": "chat.completion", "created": 1700000000, "model": "main",
     "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
         "role": "assistant", "content": None, "reasoning": "look it up",
         "tool_calls": [{"id": "t1", "type": "function",
                         "function": {"name": "lookup", "arguments": "{}"}}]}}]},
    # what strict validation refuses goes the SDK's lenient way: nothing new is coerced
    {"id": "c3", "object": "chat.completion", "created": "1700000000", "model": "main",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"},
                  "finish_reason": "eos"}], "usage": {"prompt_tokens": "10"}},
    {"id": "c4", "choices": "not a list"},
]


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # dumping the odd answers
def test_chat_completions_are_read_into_what_the_sdk_builds() -> None:
    import httpx
    from openai import OpenAI
    from openai.types.chat import ChatCompletion

    from novelcrew.llm.transport import openai_client

    lean = openai_client(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    sdk = OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    response = httpx.Response(200)
    for data in ANSWERS:
        ours = lean._process_response_data(data=data, cast_to=ChatCompletion, response=response)
        theirs = sdk._process_response_data(data=data, cast_to=ChatCompletion,
                                            response=response)
        assert type(ours) is type(theirs) is ChatCompletion
        assert ours.model_dump() == theirs.model_dump()
        assert ours.model_dump(exclude_unset=True) == theirs.model_dump(exclude_unset=True)
        # pydantic counts extra keys as set, the SDK's constructor does not; dumps are equal
        declared = ChatCompletion.model_fields.keys()
        assert ours.model_fields_set & declared == theirs.model_fields_set & declared
        assert repr(ours) == repr(theirs)  # same values of the same types, extras included
    lean.close()
    sdk.close()


def test_the_request_url_is_merged_once_per_base_url() -> None:
    from novelcrew.llm.transport import openai_client

    client = openai_client(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    first = client._prepare_url("chat/completions")
    assert str(first) == "http://127.0.0.1:9/v1/chat/completions"
    assert client._prepare_url("chat/completions") is first
    client.base_url = "http://127.0.0.1:10/v2"
    assert str(client._prepare_url("chat/completions")) == \
        "http://127.0.0.1:10/v2/chat/completions"
    assert str(client._prepare_url("https://elsewhere.test/x")) == "https://elsewhere.test/x"
    client.close()
