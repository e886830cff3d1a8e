"""On the arq backend the rate limit is one budget in Redis: two API processes (``novelcrew
serve``, real uvicorn) on one real redis-server let one key through ``limit`` times in all."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from nc_redis_server import start_redis

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

KEY = "shared-key-0123456789"
OTHER = "other-key-abcdefghij"
LIMIT = 6


@contextmanager
def serve(tmp_path: Path, name: str, redis_url: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    env.update(NOVELCREW_PLUGINS="", NOVELCREW_JOB_BACKEND="arq", NOVELCREW_REDIS_URL=redis_url,
               NOVELCREW_API_KEYS=f"{KEY},{OTHER}", NOVELCREW_RATE_LIMIT_PER_MINUTE=str(LIMIT),
               NOVELCREW_LOG_LEVEL="WARNING", NOVELCREW_DATA_DIR=str(tmp_path / name))
    log = tmp_path / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "novelcrew"), "serve", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/openapi.json", proc, log=log)  # not rate limited
        yield url
    finally:
        stop_process(proc, 30)


def test_two_api_processes_share_one_budget_per_key(tmp_path: Path) -> None:
    redis, redis_url = start_redis(tmp_path)
    try:
        with ExitStack() as stack:
            urls = [stack.enter_context(serve(tmp_path, name, redis_url))
                    for name in ("api-a", "api-b")]
            mine = {"X-API-Key": KEY}
            answers = [httpx.get(f"{urls[i % 2]}/crews", headers=mine, timeout=10)
                       for i in range(LIMIT + 4)]
            statuses = [r.status_code for r in answers]
            # each process alone would have allowed all of these
            assert statuses == [200] * LIMIT + [429] * 4, statuses
            refused = answers[-1]
            assert refused.json()["error"]["type"] == "rate_limited"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            # another key has its own budget, in both processes
            for url in urls:
                other = httpx.get(f"{url}/crews", headers={"X-API-Key": OTHER}, timeout=10)
                assert other.status_code == 200
    finally:
        stop_process(redis, 10)
