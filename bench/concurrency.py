"""Do concurrent jobs overlap their model calls, in one process and across arq workers?

1. One process: 50 jobs at once through ``JobRunner`` (``MemoryStore``), each a crew of 3 tasks
   with one model call each, against a local OpenAI-compatible server that takes 1 s per
   answer. With perfect overlap the batch takes one job's model latency, 3 s: the ratio to that
   is printed (target <= 1.6). The baseline, taking turns with it: the same crews kicked off
   with crewAI alone (its own ``LLM`` class, a thread per crew), as shipped and without its
   replay log (which novelcrew's runner leaves out); novelcrew's wall time and CPU per job
   are printed as ratios to theirs.
2. arq workers: the same crew on the same model, ``--worker-jobs`` jobs submitted at once to
   1, 2 and 4 ``novelcrew worker`` processes (each running ``--worker-concurrency`` jobs at a
   time) on a throwaway redis-server; jobs/s from first submit to last finish. Jobs wait on
   the model, so more processes should mean more jobs/s (target: 4 workers >= 3x one).

    uv run python bench/concurrency.py [--jobs 50] [--latency 1.0] [--workers 1,2,4]
        [--worker-jobs 96] [--worker-concurrency 8] [--rounds 3] [--skip-process]
        [--skip-baseline] [--skip-workers]
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like stdlib modules (queue.py): keep it last on the import path,
# so that the stdlib comes first (and bench/services.py is still found)
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

CALLS_PER_JOB = 3
MODULE = "nc_bench_concurrency"
#: runs n jobs at once: (wall seconds, CPU seconds, jobs that succeeded)
Batch = Callable[[int], Awaitable[tuple[float, float, int]]]

#: the bench crew, as a plugin module (the workers load it by name, the in-process part too)
CREW_MODULE = f'''
from pydantic import BaseModel
from novelcrew import Crew, hookimpl


class BenchIn(BaseModel):
    pass


class BenchOut(BaseModel):
    text: str


async def run(ctx, inputs):
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    agent = Agent(role="Planner", goal="plan", backstory="plans", llm=ctx.llm("Planner"))
    tasks = [Task(description=f"Step {{i + 1}}.", expected_output="a line", agent=agent)
             for i in range({CALLS_PER_JOB})]
    out = await ctx.kickoff(CrewAICrew(agents=[agent], tasks=tasks), {{}})
    return BenchOut(text=out.raw)


@hookimpl
def register_crews(register):
    register(Crew(name="bench", description="three model calls", input_model=BenchIn,
                  output_model=BenchOut, run=run))
'''


async def one_process(args: argparse.Namespace, server_url: str, tmp: Path) -> Batch:
    """A ``JobRunner`` ready to run batches of bench jobs at once (warmed up)."""
    import importlib

    from novelcrew.backends.memory import MemoryStore
    from novelcrew.jobs import Job
    from novelcrew.logging import configure_logging
    from novelcrew.runner import JobRunner
    from novelcrew_sdk.testing import make_plugins, make_settings

    settings = make_settings(tmp / "data", default_model="openai/bench",
                             openai_base_url=server_url, openai_api_key="bench",
                             model_timeout_seconds=60, concurrency=args.jobs,
                             # the jobs are identical: measure model calls, not the cache
                             llm_cache=False,
                             # measure overlap, not the per-model limit (default 16)
                             model_concurrency=args.model_concurrency or args.jobs)
    # logs as ``novelcrew serve`` writes them (JSON lines at info, a line per job step), to a
    # file: the figure counts what a server pays for its log, not a terminal's rendering
    log_file = (tmp / "one-process.log").open("w")
    configure_logging(settings, stream=log_file, fmt="json", cache=True)
    store = MemoryStore()
    await store.open()
    runner = JobRunner(make_plugins(importlib.import_module(MODULE)), settings, store)

    async def batch(n: int) -> tuple[float, float, int]:
        jobs = [Job(crews=["bench"]) for _ in range(n)]
        for job in jobs:
            await store.create(job)
        started, cpu = time.perf_counter(), time.process_time()
        outcomes = await asyncio.gather(*(runner.run(job.id) for job in jobs))
        return (time.perf_counter() - started, time.process_time() - cpu,
                sum(1 for o in outcomes if o.job.status == "succeeded"))

    await batch(1)  # warms crewAI and the model client up
    return batch


def crewai_alone(server_url: str, replay_log: bool) -> Batch:
    """The baseline: the same crews kicked off with crewAI alone, one thread each, with
    crewAI's own ``LLM`` on the same server: what novelcrew's layers add is the difference.
    ``replay_log=False`` swaps crewAI's replay log for novelcrew's no-op one (compat shim 3),
    as novelcrew's runner does; crewAI as shipped writes it under a process-wide file lock."""
    from concurrent.futures import ThreadPoolExecutor

    from crewai import LLM, Agent, Task
    from crewai import Crew as CrewAICrew

    from novelcrew.crewai import compat

    def kickoff() -> bool:
        llm = LLM(model="openai/bench", base_url=server_url, api_key="bench", timeout=60)
        agent = Agent(role="Planner", goal="plan", backstory="plans", llm=llm)
        tasks = [Task(description=f"Step {i + 1}.", expected_output="a line", agent=agent)
                 for i in range(CALLS_PER_JOB)]
        crew = CrewAICrew(agents=[agent], tasks=tasks)
        if not replay_log:
            compat.without_replay_log(crew)
        return bool(getattr(crew.kickoff(), "raw", None))

    async def batch(n: int) -> tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=n) as pool:
            started, cpu = time.perf_counter(), time.process_time()
            done = await asyncio.gather(*(loop.run_in_executor(pool, kickoff)
                                          for _ in range(n)), return_exceptions=True)
            return (time.perf_counter() - started, time.process_time() - cpu,
                    sum(1 for ok in done if ok is True))

    return batch


async def compare(args: argparse.Namespace, server_url: str, tmp: Path) -> None:
    """novelcrew's batch and the crewAI-alone baselines, taking turns for ``--rounds``."""
    sides: dict[str, Batch] = {"novelcrew": await one_process(args, server_url, tmp)}
    if not args.skip_baseline:
        for name, replay_log in (("crewAI alone", True), ("crewAI alone, no replay log", False)):
            sides[name] = crewai_alone(server_url, replay_log)
            await sides[name](1)  # warm-up
    if args.gc_freeze:  # as a server may do once started (see docs/operations)
        import gc

        gc.collect()
        gc.freeze()
    ideal = CALLS_PER_JOB * args.latency
    print(f"one process: {args.jobs} jobs at once, {CALLS_PER_JOB} model calls of "
          f"{args.latency:g} s each; {os.cpu_count()} CPUs, ideal {ideal:.2f} s", flush=True)
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for round_ in range(args.rounds):
        order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
        for name in order:
            before = os.getloadavg()[0]
            wall, cpu, ok = await sides[name](args.jobs)
            figures[name].append((wall, cpu / args.jobs))
            print(f"  round {round_ + 1} {name:28} batch {wall:5.2f} s, ratio to ideal "
                  f"{wall / ideal:.2f}, CPU {cpu / args.jobs * 1000:3.0f} ms/job, "
                  f"succeeded {ok}/{args.jobs}, load {before:.1f}")
            if ok != args.jobs:
                raise SystemExit(f"{name}: {args.jobs - ok} of {args.jobs} jobs failed")
    ours = statistics.median(w for w, _ in figures["novelcrew"])
    print(f"  novelcrew median ratio to ideal: {ours / ideal:.2f} (target <= 1.6): "
          f"{'PASS' if ours / ideal <= 1.6 else 'MISS'}")
    for name in list(sides)[1:]:
        wall = statistics.median(w for w, _ in figures[name])
        cpu = statistics.median(c for _, c in figures[name])
        print(f"  {name}: median ratio to ideal {wall / ideal:.2f}; novelcrew / it: wall "
              f"{ours / wall:.2f}x, CPU per job "
              f"{statistics.median(c for _, c in figures['novelcrew']) / cpu:.2f}x")


async def burst(backend: Any, jobs: int, done_before: int) -> float:
    """Submit ``jobs`` bench jobs at once; seconds until all have succeeded."""
    from novelcrew.jobs import Job, JobStatus

    first = time.perf_counter()
    await asyncio.gather(*(backend.submit(Job(crews=["bench"])) for _ in range(jobs)))
    while (counts := await backend.store.counts()).get("succeeded", 0) < done_before + jobs:
        if counts.get("failed"):
            failed, _ = await backend.list(status=JobStatus.failed)
            raise SystemExit(f"bench jobs failed: {counts}; first error: "
                             f"{failed[0].error if failed else '?'}")
        await asyncio.sleep(0.05)
    return time.perf_counter() - first


async def workers(args: argparse.Namespace, server_url: str, tmp: Path,
                  counts: list[int]) -> None:
    from services import redis_server

    from novelcrew.backends.arq import ArqBackend
    from novelcrew.plugins import load
    from novelcrew.settings import Settings
    from novelcrew_sdk.testing import stop_process

    novelcrew = str(Path(sys.executable).parent / "novelcrew")
    rates: dict[int, float] = {}
    with redis_server(tmp) as (url, _):
        for n in counts:
            queue = f"bench{n}:queue"
            env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
            env.update({
                "NOVELCREW_JOB_BACKEND": "arq", "NOVELCREW_REDIS_URL": url,
                "NOVELCREW_QUEUE_NAME": queue, "NOVELCREW_PLUGINS": "",
                "NOVELCREW_PLUGIN_MODULES": MODULE, "NOVELCREW_DATA_DIR": str(tmp / "data"),
                "NOVELCREW_CONCURRENCY": str(args.worker_concurrency),
                "NOVELCREW_DEFAULT_MODEL": "openai/bench", "OPENAI_BASE_URL": server_url,
                "OPENAI_API_KEY": "bench", "NOVELCREW_MODEL_TIMEOUT_SECONDS": "60",
                # the jobs are identical: measure model calls, not the response cache
                "NOVELCREW_LLM_CACHE": "false",
                # every worker's jobs at once: measure processes, not the shared model limit
                "NOVELCREW_MODEL_CONCURRENCY": str(args.model_concurrency
                                                   or max(counts) * args.worker_concurrency),
                "NOVELCREW_LOG_LEVEL": "WARNING", "NOVELCREW_LOG_FORMAT": "console",
                "PYTHONPATH": os.pathsep.join([str(tmp), env.get("PYTHONPATH", "")]),
            })
            procs = [subprocess.Popen([novelcrew, "worker"], env=env, cwd=tmp,
                                      stdout=(tmp / f"worker{n}-{i}.log").open("wb"),
                                      stderr=subprocess.STDOUT)
                     for i in range(n)]
            settings = Settings(_env_file=None, redis_url=url, queue_name=queue,
                                data_dir=tmp / "data")
            backend = ArqBackend(load(allow=[], include_entry_points=False), settings)
            await backend.start()
            try:
                # every worker imports crewAI and answers a first job before the clock
                await burst(backend, n * args.worker_concurrency, 0)
                wall = await burst(backend, args.worker_jobs, n * args.worker_concurrency)
            finally:
                await backend.stop()
                for proc in procs:
                    stop_process(proc, 30)
            rates[n] = args.worker_jobs / wall
            print(f"  {n} worker(s): {args.worker_jobs} jobs in {wall:.1f} s, "
                  f"{rates[n]:.2f} jobs/s ({rates[n] / rates[counts[0]]:.2f}x "
                  f"{counts[0]} worker)")
    if 1 in rates and 4 in rates:
        ratio = rates[4] / rates[1]
        print(f"  4 workers / 1 worker: {ratio:.2f} (target >= 3): "
              f"{'PASS' if ratio >= 3 else 'MISS'}")


async def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--worker-jobs", type=int, default=96)
    parser.add_argument("--worker-concurrency", type=int, default=8)
    parser.add_argument("--model-concurrency", type=int, default=0,
                        help="per-model call limit (default: every job's calls at once)")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--skip-process", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="one process: novelcrew only, not the crewAI-alone baselines")
    parser.add_argument("--rounds", type=int, default=3,
                        help="one process: batches per side, the sides taking turns")
    parser.add_argument("--cpu", type=int, default=None,
                        help="run the one-process jobs on this CPU only, as NOVELCREW_CPU_AFFINITY "
                        "does (the model server and the workers keep every CPU)")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() after the warm-up, as a long-running server may")
    args = parser.parse_args()

    from novelcrew.crewai.env import prepare
    from novelcrew_sdk.openai_server import OpenAIServerProcess

    with tempfile.TemporaryDirectory() as name, \
            OpenAIServerProcess(default="Done.", latency=args.latency) as server:
        tmp = Path(name)
        (tmp / f"{MODULE}.py").write_text(CREW_MODULE)
        sys.path.insert(0, str(tmp))
        prepare(tmp / "data")
        if not args.skip_process:
            from novelcrew.affinity import pin, restrict

            allowed = os.sched_getaffinity(0)
            if args.cpu is not None:  # as NOVELCREW_CPU_AFFINITY pins a server or worker
                pin([args.cpu])
            await compare(args, server.url, tmp)
            restrict(allowed)  # the workers it starts next get every CPU again
        if not args.skip_workers:
            print(f"arq workers: {args.worker_jobs} jobs at once, {args.worker_concurrency} "
                  f"at a time per worker, same crew and model")
            await workers(args, server.url, tmp, [int(n) for n in args.workers.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
