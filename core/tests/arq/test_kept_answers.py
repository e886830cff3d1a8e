"""Kept model answers on the arq backend: the response cache lives in Redis (one worker's
answers serve the next worker's jobs), with the TTL as the keys' expiry, and a job's
checkpoint is dropped when it ends. Real redis-server, real worker processes, the local
OpenAI-compatible server counting every call."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from nc_arq_helpers import StartWorker, new_job, until_terminal

from novelcrew.backends.arq import ArqBackend
from novelcrew.backends.arq.replies import RedisReplies
from novelcrew.jobs import JobStatus
from novelcrew_sdk.openai_server import OpenAIServer

TTL = 3600


@pytest.fixture
def model() -> Iterator[OpenAIServer]:
    with OpenAIServer(default="Climb the stairs.") as server:
        yield server


def model_env(model: OpenAIServer) -> dict[str, object]:
    return {"plugin_modules": "nc_arq_crews,nc_arq_steps", "model": "openai/main",
            "openai_base_url": model.url, "openai_api_key": "sk-local",
            "llm_cache_ttl_seconds": TTL}


async def test_a_workers_answers_serve_the_next_workers_identical_jobs(
    backend: ArqBackend, start_worker: StartWorker, model: OpenAIServer, root: str
) -> None:
    first = start_worker(**model_env(model))
    job = await backend.submit(new_job(["steps"], steps=3))
    done = await until_terminal(backend, job.id, timeout=120)
    assert done.status is JobStatus.succeeded, done.error
    assert len(model.calls) == 3
    first.send_signal(signal.SIGTERM)
    first.wait(30)

    start_worker(**model_env(model))  # another process: only Redis connects the two
    again = await backend.submit(new_job(["steps"], steps=3))
    repeat = await until_terminal(backend, again.id, timeout=120)
    assert repeat.status is JobStatus.succeeded, repeat.error
    assert len(model.calls) == 3  # nothing new reached the model
    assert repeat.result == done.result
    usage = repeat.usage["openai/main"]
    assert (usage.calls, usage.cached_calls) == (0, 3)
    assert usage.saved_cost == pytest.approx(done.usage["openai/main"].cost)

    redis = backend.store.redis
    answers = [key async for key in redis.scan_iter(f"{root}:llm:answer:*")]
    assert len(answers) == 3
    ttl = await redis.ttl(answers[0])
    assert ttl > 0 and ttl <= TTL
    assert [key async for key in redis.scan_iter(f"{root}:llm:checkpoint:*")] == []

    nocache = await backend.submit(new_job(["steps"], steps=3).model_copy(
        update={"config": {"cache": False}}))
    fresh = await until_terminal(backend, nocache.id, timeout=120)
    assert fresh.usage["openai/main"].calls == 3 and len(model.calls) == 6


def test_the_redis_reply_store_keeps_checkpoints_per_job(redis_url: str, root: str) -> None:
    from novelcrew.backends.arq.keys import Keys

    store = RedisReplies(redis_url, Keys(root))
    entry = {"kind": "text", "text": "hello", "usage": {"prompt_tokens": 3}}
    store.checkpoint_put("job1", "crew:k:1", entry)
    assert store.checkpoint_get("job1", "crew:k:1") == entry
    assert store.checkpoint_get("job2", "crew:k:1") is None
    store.checkpoint_drop("job1")
    assert store.checkpoint_get("job1", "crew:k:1") is None
    store.put("k", entry, None)
    assert store.get("k") == entry and store.get("other") is None
    store.close()
