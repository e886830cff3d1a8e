"""Queue overhead of the ``arq`` backend against bare arq, with the same worker settings.

Both sides use one throwaway redis-server (or ``--redis-url``), one worker process with the
same arq options (``max_jobs``, ``poll_delay``, timeouts, abort support: taken from
``novelcrew.worker.worker_settings``), and jobs that do nothing:
- novelcrew: ``ArqBackend.submit`` of a no-op crew, run by ``novelcrew worker`` through
  ``JobRunner`` (record, events, claim, progress: everything a real job pays for);
- bare arq: ``enqueue_job`` of a no-op function run by a plain arq ``Worker``.

Two phases per side: a burst of ``--jobs`` submitted at once (jobs/s from first submit to last
finish) and ``--latency-jobs`` submitted one at a time on an idle worker (enqueue-to-start
latency: submit call to the ``started`` event, or to the bare function's first line).

    uv run python bench/queue.py [--jobs 300] [--latency-jobs 100] [--concurrency 10]
"""

from __future__ import annotations

import os
import sys

# this file is named queue.py: keep its folder off sys.path so the stdlib ``queue`` still loads
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CREWS = '''
from pydantic import BaseModel
from novelcrew import Crew, hookimpl


class Empty(BaseModel):
    pass


async def noop(ctx, inputs):
    return Empty()


@hookimpl
def register_crews(register):
    register(Crew(name="noop", description="does nothing", input_model=Empty,
                  output_model=Empty, run=noop))
'''

BARE_WORKER = '''
import json, time
from arq.worker import create_worker
from novelcrew.settings import Settings
from novelcrew.worker import worker_settings

STARTS = "{root}:bare:starts"


async def noop(ctx, key):
    await ctx["redis"].rpush(STARTS, json.dumps([key, time.time()]))


ours = worker_settings(Settings(), plugins=object())
same = {{k: v for k, v in vars(ours).items()
        if k not in ("functions", "on_startup", "on_shutdown", "ctx")}}
create_worker({{**same, "functions": [noop]}}).run()
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
         "127.0.0.1", "--dir", str(workdir), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench_novelcrew(env: dict[str, str], jobs: int, latency_jobs: int) -> dict[str, float]:
    from novelcrew.backends.arq import ArqBackend
    from novelcrew.jobs import Job
    from novelcrew.plugins import load
    from novelcrew.settings import Settings

    settings = Settings(_env_file=None, redis_url=env["NOVELCREW_REDIS_URL"],
                        queue_name=env["NOVELCREW_QUEUE_NAME"])
    backend = ArqBackend(load(allow=[], include_entry_points=False), settings)
    await backend.start()
    try:
        await _wait_for_worker(backend)
        first = time.time()
        for start in range(0, jobs, 50):
            await asyncio.gather(*(backend.submit(Job(crews=["noop"]))
                                   for _ in range(start, min(jobs, start + 50))))
        while (await backend.store.counts())["succeeded"] < jobs:
            await asyncio.sleep(0.01)
        throughput = jobs / (time.time() - first)
        latencies = []
        for _ in range(latency_jobs):
            sent = time.time()
            job = await backend.submit(Job(crews=["noop"]))
            async for event in backend.stream(job.id, poll=5):
                if event is not None and event.type == "started":
                    latencies.append(event.at.timestamp() - sent)
                if event is not None and event.terminal:
                    break
        return {"jobs_per_s": throughput, "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99)}
    finally:
        await backend.stop()


async def _wait_for_worker(backend: object) -> None:
    for _ in range(600):
        if (await backend.health()).status == "ok":  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the novelcrew worker did not start")


async def bench_bare(env: dict[str, str], root: str, jobs: int,
                     latency_jobs: int) -> dict[str, float]:
    from arq.connections import RedisSettings, create_pool

    pool = await create_pool(RedisSettings.from_dsn(env["NOVELCREW_REDIS_URL"]),
                             default_queue_name=env["NOVELCREW_QUEUE_NAME"])
    starts = f"{root}:bare:starts"
    try:
        await pool.enqueue_job("noop", "warmup")
        while await pool.llen(starts) < 1:
            await asyncio.sleep(0.05)
        await pool.delete(starts)
        first = time.time()
        for start in range(0, jobs, 50):
            await asyncio.gather(*(pool.enqueue_job("noop", f"t{i}")
                                   for i in range(start, min(jobs, start + 50))))
        while await pool.zcard(env["NOVELCREW_QUEUE_NAME"]) or await pool.llen(starts) < jobs:
            await asyncio.sleep(0.01)
        throughput = jobs / (time.time() - first)
        await pool.delete(starts)
        latencies = []
        for i in range(latency_jobs):
            sent = time.time()
            await pool.enqueue_job("noop", f"l{i}")
            while True:
                item = await pool.blpop([starts], timeout=10)
                if item is None:
                    raise RuntimeError("bare arq job did not start")
                key, started = json.loads(item[1])
                if key == f"l{i}":
                    latencies.append(started - sent)
                    break
            while await pool.zcard(env["NOVELCREW_QUEUE_NAME"]):
                await asyncio.sleep(0.005)
        return {"jobs_per_s": throughput, "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99)}
    finally:
        await pool.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--latency-jobs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--poll-delay", type=float, default=None,
                        help="worker poll delay in seconds (default: the settings default)")
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()

    from novelcrew.settings import Settings

    poll = args.poll_delay or Settings(_env_file=None).worker_poll_delay_seconds
    with tempfile.TemporaryDirectory() as tmp, _redis(args.redis_url, Path(tmp)) as url:
        tmpdir = Path(tmp)
        (tmpdir / "nc_bench_crews.py").write_text(textwrap.dedent(CREWS))
        results = {}
        for side in ("bare", "novelcrew"):
            root = f"bench{side}{os.getpid()}"
            env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
            env.update({
                "NOVELCREW_REDIS_URL": url, "NOVELCREW_QUEUE_NAME": f"{root}:queue",
                "NOVELCREW_CONCURRENCY": str(args.concurrency),
                "NOVELCREW_WORKER_POLL_DELAY_SECONDS": str(poll),
                "NOVELCREW_PLUGINS": "", "NOVELCREW_PLUGIN_MODULES": "nc_bench_crews",
                "NOVELCREW_LOG_LEVEL": "WARNING", "NOVELCREW_LOG_FORMAT": "console",
                "PYTHONPATH": os.pathsep.join(p for p in (tmp, env.get("PYTHONPATH")) if p),
            })
            if side == "bare":
                script = tmpdir / "bare_worker.py"
                script.write_text(textwrap.dedent(BARE_WORKER.format(root=root)))
                argv = [sys.executable, str(script)]
            else:
                argv = [str(Path(sys.executable).parent / "novelcrew"), "worker"]
            worker = subprocess.Popen(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                      stderr=(tmpdir / f"{side}.log").open("wb"))
            try:
                if side == "bare":
                    results[side] = asyncio.run(
                        bench_bare(env, root, args.jobs, args.latency_jobs))
                else:
                    results[side] = asyncio.run(
                        bench_novelcrew(env, args.jobs, args.latency_jobs))
            finally:
                worker.terminate()
                worker.wait(30)
    bare, ours = results["bare"], results["novelcrew"]
    print(f"worker: max_jobs={args.concurrency} poll_delay={poll}s; burst of {args.jobs} "
          f"no-op jobs; latency over {args.latency_jobs} jobs one at a time")
    print(f"{'':12}{'jobs/s':>10}{'p50 start ms':>15}{'p99 start ms':>15}")
    for name, r in (("bare arq", bare), ("novelcrew", ours)):
        print(f"{name:12}{r['jobs_per_s']:>10.1f}{r['p50'] * 1000:>15.1f}"
              f"{r['p99'] * 1000:>15.1f}")
    ratio = ours["jobs_per_s"] / bare["jobs_per_s"]
    print(f"ratio novelcrew/bare jobs/s: {ratio:.2f} (target >= 0.5); "
          f"novelcrew p50 enqueue-to-start {ours['p50'] * 1000:.1f} ms (target < 50 ms)")


@contextmanager
def _redis(url: str | None, workdir: Path) -> Iterator[str]:
    if url:
        yield url
        return
    with redis_server(workdir) as started:
        yield started


if __name__ == "__main__":
    main()
