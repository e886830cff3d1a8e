"""Do model calls of concurrent jobs overlap? 50 jobs at once, 3 model calls of 1 s each.

One process runs N jobs at the same time through ``JobRunner`` (``MemoryStore``); each job's
crew makes 3 model calls to a local OpenAI-compatible server that takes 1 s per answer. If
latency overlaps, the batch takes about as long as one job: the ideal is 3 s. Target: at most
1.25x the ideal.

Also measured in the same run, as baselines: one job alone (what the batch would take with
perfect overlap plus crewAI's own overhead), and with ``--compare`` the same batch on asyncio's
default executor (``cpu_count + 4`` threads), which is what ``Crew.kickoff_async`` uses.

    uv run python bench/concurrency.py [--jobs 50] [--latency 1.0] [--shape tasks|tools]
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like stdlib modules (queue.py): keep it off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

from pydantic import BaseModel

from novelcrew import hookimpl
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job
from novelcrew.runner import JobRunner
from novelcrew.specs import Crew
from novelcrew_sdk.openai_server import OpenAIServerProcess
from novelcrew_sdk.testing import make_plugins, make_settings

CALLS_PER_JOB = 3


class BenchIn(BaseModel):
    shape: str = "tasks"


class BenchOut(BaseModel):
    text: str


async def run_bench_crew(ctx: Any, inputs: BenchIn) -> BenchOut:
    """3 model calls: three one-call tasks, or one task calling a tool twice then answering."""
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    if inputs.shape == "tools":
        from crewai.tools import tool

        @tool("note")
        def note(text: str) -> str:
            """Write a note."""
            return "noted"

        agent = Agent(role="Planner", goal="plan", backstory="plans", llm=ctx.llm("Planner"),
                      tools=[note], max_iter=5)
        tasks = [Task(description="Plan with two notes.", expected_output="a plan",
                      agent=agent)]
    else:
        agent = Agent(role="Planner", goal="plan", backstory="plans", llm=ctx.llm("Planner"))
        tasks = [Task(description=f"Step {i + 1}.", expected_output="a line", agent=agent)
                 for i in range(CALLS_PER_JOB)]
    out = await ctx.kickoff(CrewAICrew(agents=[agent], tasks=tasks, tracing=False), {})
    return BenchOut(text=out.raw)


class BenchCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="bench", description="three model calls", input_model=BenchIn,
                      output_model=BenchOut, run=run_bench_crew))


async def batch(runner: JobRunner, store: MemoryStore, n: int,
                shape: str) -> tuple[float, int, int]:
    """Run ``n`` jobs at once; wall time, how many succeeded, model calls answered."""
    jobs = [Job(crews=["bench"], inputs={"shape": shape}) for _ in range(n)]
    for job in jobs:
        await store.create(job)
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(runner.run(job.id) for job in jobs))
    wall = time.perf_counter() - started
    ok = sum(1 for o in outcomes if o.job.status == "succeeded")
    calls = sum(u.calls for o in outcomes for u in o.job.usage.values())
    return wall, ok, calls


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--shape", choices=("tasks", "tools"), default="tasks")
    parser.add_argument("--compare", action="store_true",
                        help="also run the batch on asyncio's default executor")
    args = parser.parse_args()
    ideal = CALLS_PER_JOB * args.latency

    from novelcrew import crewai_bridge

    rounds = CALLS_PER_JOB - 1 if args.shape == "tools" else 0
    with tempfile.TemporaryDirectory() as tmp, \
            OpenAIServerProcess(default="Done.", latency=args.latency, tool="note",
                                tool_rounds=rounds) as server:
        settings = make_settings(Path(tmp), default_model="openai/bench",
                                 openai_base_url=server.url, openai_api_key="bench",
                                 model_timeout_seconds=60, concurrency=args.jobs)
        crewai_bridge.prepare(Path(tmp))
        store = MemoryStore()
        await store.open()
        runner = JobRunner(make_plugins(BenchCrews()), settings, store)

        _, ok, _ = await batch(runner, store, 1, args.shape)  # also warms crewAI up
        assert ok == 1, "the warm-up job failed"
        single, ok, _ = await batch(runner, store, 1, args.shape)
        cpu_before = time.process_time()
        wall, ok, calls = await batch(runner, store, args.jobs, args.shape)
        cpu = time.process_time() - cpu_before

        print(f"jobs: {args.jobs} at once, {CALLS_PER_JOB} model calls each "
              f"({args.shape}), {args.latency:g} s per call; {os.cpu_count()} CPUs")
        print(f"succeeded: {ok}/{args.jobs}; model calls: {calls}")
        print(f"ideal (one job's model latency): {ideal:.2f} s")
        print(f"one job alone:                   {single:.2f} s "
              f"({single / ideal:.2f}x ideal)")
        print(f"{args.jobs} jobs at once:                {wall:.2f} s "
              f"({wall / ideal:.2f}x ideal, {wall / single:.2f}x one job alone)")
        print(f"process CPU during the batch:    {cpu:.2f} s "
              f"({cpu / args.jobs * 1000:.0f} ms per job)")
        print(f"ratio: {wall / ideal:.2f} (target <= 1.25): "
              f"{'PASS' if wall / ideal <= 1.25 else 'MISS'}")

        if args.compare:
            crewai_bridge.kickoff_pool = lambda: None  # type: ignore[assignment,return-value]
            base_wall, base_ok, _ = await batch(runner, store, args.jobs, args.shape)
            print(f"same batch on the default executor ({min(32, (os.cpu_count() or 1) + 4)} "
                  f"threads): {base_wall:.2f} s ({base_wall / ideal:.2f}x ideal; "
                  f"{base_ok}/{args.jobs} succeeded); dedicated pool is "
                  f"{base_wall / wall:.1f}x faster")
    return 0 if ok == args.jobs else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
