"""The per-model concurrency limit across arq workers: Redis holds the pools, so two worker
processes together never exceed it, and a crashed holder's slots come back (leases)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nc_arq_helpers import CREWS, StartWorker, new_job, until, until_terminal

from novelcrew.backends.arq import ArqBackend
from novelcrew.llm.limit import RedisLimiter
from novelcrew.plugins import load
from novelcrew.settings import Settings
from novelcrew_sdk.openai_server import OpenAIServer
from novelcrew_sdk.testing import free_port

FAN = "nc_arq_fan"


async def test_two_workers_share_one_limit(redis_url: str, root: str, tmp_path: Path,
                                           start_worker: StartWorker) -> None:
    with OpenAIServer(default="Done.", latency=0.1) as server:
        # each answer waits until three are in flight (the last ones: 2 s)
        server.gather, server.gather_timeout = 3, 2.0
        model = dict(plugin_modules=f"{CREWS},{FAN}", default_model="openai/fan",
                     openai_base_url=server.url, openai_api_key="sk-test",
                     model_concurrency=3, model_timeout_seconds=30)
        workers = [start_worker("--concurrency", "2", **model) for _ in range(2)]

        async def both_ready() -> bool:  # crewAI imported, taking jobs
            return all("worker_started" in (tmp_path / f"worker{i}.log").read_text()
                       for i in range(2))

        await until(both_ready, timeout=120)
        backend = ArqBackend(load(allow=[], include_entry_points=False, modules=[CREWS, FAN]),
                             Settings(_env_file=None, job_backend="arq", redis_url=redis_url,
                                      queue_name=f"{root}:queue", data_dir=tmp_path / "data",
                                      plugins=[]))
        await backend.start()
        try:
            jobs = [new_job(["fan"], calls=5) for _ in range(4)]
            for job in jobs:
                await backend.submit(job)
            done = [await until_terminal(backend, job.id, timeout=120) for job in jobs]
        finally:
            await backend.stop()
        assert [j.status for j in done] == ["succeeded"] * 4, [j.error for j in done]
        assert {j.result["fan"]["pid"] for j in done} == {w.pid for w in workers}
        assert len(server.calls) == 20
        assert server.peak_in_flight == 3  # both workers together, never more
        limiter = RedisLimiter(redis_url, root)
        assert limiter.in_use("openai/fan") == 0  # every slot given back
        limiter.close()


HOLDER = """
import sys, time
from novelcrew.llm.limit import RedisLimiter
limiter = RedisLimiter(sys.argv[1], sys.argv[2], lease_seconds=1.0)
for _ in range(2):
    limiter.acquire("crashy", 2)
print("held", flush=True)
time.sleep(600)
"""


async def test_a_crashed_holder_does_not_leak_its_slots(redis_url: str, root: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, redis_url, root],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        limiter = RedisLimiter(redis_url, root)
        assert limiter.in_use("crashy") == 2
        assert limiter._try("crashy", 2) is None  # full while the holder lives
        # leases renewed while it lives: still full after several lease lengths
        await asyncio.sleep(2.5)
        assert limiter._try("crashy", 2) is None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    # after SIGKILL nobody renews: the slots come back when the leases end
    tokens = await asyncio.wait_for(asyncio.gather(
        asyncio.to_thread(limiter.acquire, "crashy", 2),
        asyncio.to_thread(limiter.acquire, "crashy", 2)), 30)
    assert len(set(tokens)) == 2
    for token in tokens:
        limiter.release("crashy", token, 2)
    assert limiter.in_use("crashy") == 0
    limiter.close()


async def test_a_429_in_one_worker_lowers_the_shared_limit_and_answers_raise_it(
    redis_url: str, root: str
) -> None:
    one, other = RedisLimiter(redis_url, root), RedisLimiter(redis_url, root)
    tokens = [one.acquire("aimd", 4) for _ in range(2)] + \
        [other.acquire("aimd", 4) for _ in range(2)]
    assert one._try("aimd", 4) is None  # four held in all
    one.release("aimd", tokens[0], 4, throttled=True)
    other.release("aimd", tokens[2], 4, throttled=True)  # the same burst: counted once
    assert other.limit("aimd") == 2
    one.release("aimd", tokens[1], 4)
    other.release("aimd", tokens[3], 4)
    held = []
    while (token := other._try("aimd", 4)) is not None:
        held.append(token)
    assert len(held) == 2 < 4  # the other worker sees the lowered limit
    for _ in range(12):
        other.release("aimd", held.pop(), 4)
        held.append(one.acquire("aimd", 4))
    assert one.limit("aimd") == 4
    for token in held:
        one.release("aimd", token, 4)
    one.close()
    other.close()


def test_calls_go_on_while_redis_does_not_answer(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """No Redis at that address: the limiter holds this process's own pool meanwhile, and
    says so once (not once per model call: a 6 s outage wrote 15 lines for one job)."""
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", "down")
    with caplog.at_level("WARNING", logger="novelcrew.llm.limit"):
        tokens = [limiter.acquire("gone", 2) for _ in range(2)]
        assert limiter._try("gone", 2) is None  # still bounded, by this process
    for token in tokens:
        limiter.release("gone", token, 2)
    assert limiter._fallback.in_use("gone") == 0
    said = [r.getMessage() for r in caplog.records if "did not answer" in r.getMessage()]
    assert len(said) == 1 and "(1 call(s) so far)" in said[0], said
    limiter.close()
