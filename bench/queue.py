"""Queue overhead of the ``arq`` backend against bare arq, with the same worker settings.

Both sides use one throwaway redis-server (or ``--redis-url``), one worker process with the
same arq options (``max_jobs``, ``poll_delay``, timeouts, abort support: taken from
``novelcrew.backends.arq.worker.worker_settings``), and jobs that do nothing:
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

# this file is named queue.py: keep its folder last on sys.path so the stdlib ``queue`` still
# loads (and bench/services.py too)
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.append(sys.path.pop(0))

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from services import redis_server

from novelcrew_sdk.testing import stop_process

if TYPE_CHECKING:
    from arq.connections import ArqRedis

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
from novelcrew.backends.arq.worker import worker_settings

STARTS = "{root}:bare:starts"


async def noop(ctx, key):
    await ctx["redis"].rpush(STARTS, json.dumps([key, time.time()]))


ours = worker_settings(Settings(), plugins=object())
same = {{k: v for k, v in vars(ours).items()
        if k not in ("functions", "on_startup", "on_shutdown", "ctx")}}
create_worker({{**same, "functions": [noop]}}).run()
'''


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Novelcrew:
    """The arq backend's side: ``ArqBackend.submit`` of no-op crew jobs."""

    def __init__(self, env: dict[str, str]) -> None:
        from novelcrew.backends.arq import ArqBackend
        from novelcrew.plugins import load
        from novelcrew.settings import Settings

        settings = Settings(_env_file=None, redis_url=env["NOVELCREW_REDIS_URL"],
                            queue_name=env["NOVELCREW_QUEUE_NAME"])
        self.backend = ArqBackend(load(allow=[], include_entry_points=False), settings)
        self.done = 0

    async def start(self) -> None:
        await self.backend.start()
        for _ in range(600):
            if (await self.backend.health()).status == "ok":
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the novelcrew worker did not start")

    async def burst(self, jobs: int) -> float:
        from novelcrew.jobs import Job

        first = time.time()
        for start in range(0, jobs, 50):
            await asyncio.gather(*(self.backend.submit(Job(crews=["noop"]))
                                   for _ in range(start, min(jobs, start + 50))))
        self.done += jobs
        while (await self.backend.store.counts())["succeeded"] < self.done:
            await asyncio.sleep(0.01)
        return jobs / (time.time() - first)

    async def latency(self) -> float:
        from novelcrew.jobs import Job

        sent = time.time()
        job = await self.backend.submit(Job(crews=["noop"]))
        started = None
        async for event in self.backend.stream(job.id, poll=5):
            if event is not None and event.type == "started":
                started = event.at.timestamp()
            if event is not None and event.terminal:
                break
        self.done += 1
        assert started is not None
        return started - sent

    async def stop(self) -> None:
        await self.backend.stop()


def _blpop(pool: ArqRedis, key: str, timeout: int) -> Awaitable[list[bytes] | None]:
    """``BLPOP`` on the asyncio client: redis-py annotates its list commands for its blocking
    and asyncio clients at once (``Awaitable[X] | X``); here it is always the awaitable."""
    return cast(Awaitable["list[bytes] | None"], pool.blpop([key], timeout=timeout))


class Bare:
    """Bare arq's side: ``enqueue_job`` of a no-op function that notes when it started."""

    def __init__(self, env: dict[str, str], root: str) -> None:
        self.env = env
        self.queue = env["NOVELCREW_QUEUE_NAME"]
        self.starts = f"{root}:bare:starts"
        self.n = 0

    async def start(self) -> None:
        from arq.connections import RedisSettings, create_pool

        self.pool = await create_pool(RedisSettings.from_dsn(self.env["NOVELCREW_REDIS_URL"]),
                                      default_queue_name=self.queue)
        await self.pool.enqueue_job("noop", "warmup")
        if await _blpop(self.pool, self.starts, 60) is None:
            raise RuntimeError("the bare arq worker did not start")

    async def burst(self, jobs: int) -> float:
        await self.pool.delete(self.starts)
        first = time.time()
        for start in range(0, jobs, 50):
            await asyncio.gather(*(self.pool.enqueue_job("noop", f"t{self.n + i}")
                                   for i in range(start, min(jobs, start + 50))))
        self.n += jobs
        while await self.pool.zcard(self.queue) or await cast(
                Awaitable[int], self.pool.llen(self.starts)) < jobs:
            await asyncio.sleep(0.01)
        return jobs / (time.time() - first)

    async def latency(self) -> float:
        await self.pool.delete(self.starts)
        key = f"l{self.n}"
        self.n += 1
        sent = time.time()
        await self.pool.enqueue_job("noop", key)
        item = await _blpop(self.pool, self.starts, 30)
        if item is None:
            raise RuntimeError("a bare arq job did not start")
        _, started = json.loads(item[1])
        while await self.pool.zcard(self.queue):
            await asyncio.sleep(0.005)
        return float(started) - sent

    async def stop(self) -> None:
        await self.pool.aclose()


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of this process and of ``pids`` so far."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def measure(sides: dict[str, Novelcrew | Bare], pids: dict[str, list[int]], jobs: int,
                  latency_jobs: int, rounds: int) -> dict[str, dict[str, Any]]:
    """Alternate the sides round by round, so drifting machine load hits both alike; count the
    CPU each burst costs (bench client, that side's worker, Redis), which load does not skew."""
    for side in sides.values():
        await side.start()
    rates: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    waits: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for r in range(rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for name in order:
                before = cpu_seconds(pids[name])
                rates[name].append(await sides[name].burst(jobs))
                cpu[name].append((cpu_seconds(pids[name]) - before) / jobs)
        for i in range(latency_jobs):
            for name in (list(sides) if i % 2 == 0 else list(reversed(sides))):
                waits[name].append(await sides[name].latency())
    finally:
        for side in sides.values():
            await side.stop()
    return {name: {"jobs_per_s": statistics.median(rates[name]), "rates": rates[name],
                   "cpu_ms": statistics.median(cpu[name]) * 1000,
                   "p50": pct(waits[name], 0.5), "p99": pct(waits[name], 0.99)}
            for name in sides}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs per burst")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per side (median)")
    parser.add_argument("--latency-jobs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--poll-delay", type=float, default=None,
                        help="worker poll delay in seconds (default: the settings default)")
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()

    from novelcrew.settings import Settings

    poll = args.poll_delay or Settings(_env_file=None).worker_poll_delay_seconds
    workers: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp, \
            _redis(args.redis_url, Path(tmp)) as (url, redis_pid):
        tmpdir = Path(tmp)
        (tmpdir / "nc_bench_crews.py").write_text(textwrap.dedent(CREWS))
        sides: dict[str, Novelcrew | Bare] = {}
        try:
            for name in ("bare arq", "novelcrew"):
                root = f"bench{len(sides)}{os.getpid()}"
                env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
                env.update({
                    "NOVELCREW_REDIS_URL": url, "NOVELCREW_QUEUE_NAME": f"{root}:queue",
                    "NOVELCREW_CONCURRENCY": str(args.concurrency),
                    "NOVELCREW_WORKER_POLL_DELAY_SECONDS": str(poll),
                    "NOVELCREW_PLUGINS": "", "NOVELCREW_PLUGIN_MODULES": "nc_bench_crews",
                    "NOVELCREW_LOG_LEVEL": "WARNING", "NOVELCREW_LOG_FORMAT": "console",
                    "PYTHONPATH": os.pathsep.join(p for p in (tmp, env.get("PYTHONPATH")) if p),
                })
                if name == "bare arq":
                    script = tmpdir / "bare_worker.py"
                    script.write_text(textwrap.dedent(BARE_WORKER.format(root=root)))
                    argv = [sys.executable, str(script)]
                    sides[name] = Bare(env, root)
                else:
                    argv = [str(Path(sys.executable).parent / "novelcrew"), "worker"]
                    sides[name] = Novelcrew(env)
                workers.append(subprocess.Popen(
                    argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                    stderr=(tmpdir / f"worker{len(workers)}.log").open("wb"),
                ))
            shared = [redis_pid] if redis_pid else []
            pids = {name: [proc.pid, *shared] for name, proc in zip(sides, workers, strict=True)}
            results = asyncio.run(measure(sides, pids, args.jobs, args.latency_jobs,
                                          args.rounds))
        finally:
            for proc in workers:
                stop_process(proc, 30)
    bare, ours = results["bare arq"], results["novelcrew"]
    print(f"worker: max_jobs={args.concurrency} poll_delay={poll}s; {args.rounds} alternating "
          f"bursts of {args.jobs} no-op jobs per side (median); latency over "
          f"{args.latency_jobs} jobs one at a time")
    print(f"{'':12}{'jobs/s':>10}{'CPU ms/job':>12}{'p50 start ms':>15}{'p99 start ms':>15}"
          "   jobs/s of each burst")
    for name, r in results.items():
        print(f"{name:12}{r['jobs_per_s']:>10.1f}{r['cpu_ms']:>12.2f}{r['p50'] * 1000:>15.1f}"
              f"{r['p99'] * 1000:>15.1f}   {', '.join(f'{x:.0f}' for x in r['rates'])}")
    ratio = ours["jobs_per_s"] / bare["jobs_per_s"]
    print(f"ratio novelcrew/bare jobs/s: {ratio:.2f} (target >= 0.5); CPU per job "
          f"bare/novelcrew: {bare['cpu_ms'] / ours['cpu_ms']:.2f}; novelcrew p50 "
          f"enqueue-to-start {ours['p50'] * 1000:.1f} ms (target < 50 ms)")


@contextmanager
def _redis(url: str | None, workdir: Path) -> Iterator[tuple[str, int | None]]:
    if url:
        yield url, None
        return
    with redis_server(workdir) as started:
        yield started


if __name__ == "__main__":
    main()
