"""Memory soak: many offline jobs through one ``novelcrew serve`` process; its RSS must stay
flat once warm.

One server (inline backend, SQLite in a temporary directory, the ``offline`` model) runs
``--jobs`` jobs in batches of ``--batch``: a small crew with a few tasks and a few KB of result
(``soak`` below, loaded through ``NOVELCREW_PLUGIN_MODULES``), and every ``--architect-every``-th
job the real architect crew (crewAI agents, the embedded PathRAG graph) on a short story. The
first ``--warmup`` jobs are warm-up (imports, caches, the allocator's arenas); the server's RSS
(``/proc/<pid>/status``) is printed after every ``--report-every`` jobs and the growth from the
end of the warm-up to the end is checked against ``--limit-mb``.

    uv run python bench/soak.py [--jobs 1000] [--warmup 100] [--architect-every 10]
"""

from __future__ import annotations

import os
import sys

# bench/ holds a queue.py: keep the folder off sys.path so the stdlib ``queue`` still loads
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
STORY = ROOT / "examples" / "stories" / "the-last-shift-at-vell-street.txt"

CREWS = '''
import asyncio
from pydantic import BaseModel
from novelcrew import Crew, hookimpl


class SoakIn(BaseModel):
    story_text: str
    tasks: int = 4


class SoakOut(BaseModel):
    words: int
    summary: str
    counts: dict[str, int]


async def soak(ctx, inputs):
    await ctx.add_tasks(inputs.tasks)
    words = inputs.story_text.split()
    counts: dict[str, int] = {}
    for i in range(inputs.tasks):
        await ctx.task_started(f"task {i + 1}")
        await asyncio.sleep(0)
        for word in words:
            counts[word] = counts.get(word, 0) + 1
        await ctx.task_finished(f"task {i + 1}", output=" ".join(words[:50]))
    return SoakOut(words=len(words), summary=" ".join(words[:400]), counts=counts)


class SnapIn(BaseModel):
    path: str


class SnapOut(BaseModel):
    path: str


async def memsnap(ctx, inputs):
    """Dump a tracemalloc snapshot of the server (``--tracemalloc``), after a collection."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.take_snapshot().dump(inputs.path)
    return SnapOut(path=inputs.path)


@hookimpl
def register_crews(register):
    register(Crew(name="soak", description="counts words in a few tasks",
                  input_model=SoakIn, output_model=SoakOut, run=soak))
    register(Crew(name="memsnap", description="dumps a tracemalloc snapshot",
                  input_model=SnapIn, output_model=SnapOut, run=memsnap))
'''


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start(work: Path, concurrency: int, trace: int) -> tuple[subprocess.Popen[bytes], str]:
    (work / "soakcrew.py").write_text(CREWS)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(work), "NOVELCREW_PLUGIN_MODULES": "soakcrew",
           "NOVELCREW_PLUGINS": "architect,pathrag", "NOVELCREW_MODEL": "offline",
           "NOVELCREW_DATA_DIR": str(work / "data"), "NOVELCREW_LOG_LEVEL": "WARNING",
           "NOVELCREW_CONCURRENCY": str(concurrency), "NOVELCREW_RATE_LIMIT_PER_MINUTE": "0"}
    if trace:
        env["PYTHONTRACEMALLOC"] = str(trace)
    for name in ("NOVELCREW_API_KEYS", "OPENROUTER_API_KEY", "PATHRAG_API_URL",
                 "NOVEL_MOVIE_API_URL"):
        env.pop(name, None)
    novelcrew = str(Path(sys.executable).parent / "novelcrew")
    log = work / "server.log"
    proc = subprocess.Popen([novelcrew, "serve", "--port", str(port), "--backend", "inline"],
                            env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", proc, timeout=120, log=log)
    return proc, url


def run_batch(client: httpx.Client, first: int, count: int, every: int,
              story: str) -> dict[str, int]:
    """Submit ``count`` jobs, wait for them all; the number per final status."""
    project = f"soak-{first}"
    for n in range(first, first + count):
        if every and n % every == every - 1:
            body: dict[str, Any] = {"crews": ["architect"], "project_id": project,
                                    "inputs": {"story_text": story}}
        else:
            body = {"crews": ["soak"], "project_id": project,
                    "inputs": {"story_text": f"{story[:3000]} {n}"}}
        response = client.post("/jobs", json=body)
        response.raise_for_status()
    while True:
        page = client.get("/jobs", params={"project_id": project, "limit": 200}).json()
        seen: dict[str, int] = {}
        for job in page["data"]:
            seen[job["status"]] = seen.get(job["status"], 0) + 1
        if seen.get("queued", 0) + seen.get("running", 0) == 0:
            return seen
        time.sleep(0.2)


def snapshot(client: httpx.Client, path: Path) -> None:
    response = client.post("/jobs", json={"crews": ["memsnap"], "project_id": "snap",
                                          "inputs": {"path": str(path)}})
    response.raise_for_status()
    while client.get(f"/jobs/{response.json()['id']}").json()["status"] in ("queued",
                                                                           "running"):
        time.sleep(0.2)


def print_growth(before: Path, after: Path, top: int = 25) -> None:
    import tracemalloc

    old, new = tracemalloc.Snapshot.load(str(before)), tracemalloc.Snapshot.load(str(after))
    stats = new.compare_to(old, "traceback")
    print(f"tracemalloc: traced {sum(s.size for s in new.statistics('filename')) / 2**20:.1f} MB;"
          f" the {top} largest growths:")
    for stat in stats[:top]:
        print(f"  +{stat.size_diff / 1024:8.1f} KB  +{stat.count_diff:6d} blocks")
        for line in stat.traceback.format()[-8:]:
            print(f"      {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--report-every", type=int, default=100)
    parser.add_argument("--architect-every", type=int, default=10,
                        help="every n-th job runs the architect crew (0: none)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--limit-mb", type=float, default=50.0)
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                        help="trace the server's allocations (this many frames each) and "
                        "print what grew most from the end of the warm-up to the end")
    args = parser.parse_args()
    story = STORY.read_text()
    work = Path(tempfile.mkdtemp(prefix="novelcrew-soak-"))
    proc, url = start(work, args.concurrency, args.tracemalloc)
    failures = 0
    try:
        print(f"server pid {proc.pid}, RSS {rss_mb(proc.pid):.1f} MB at start")
        baseline: float | None = None
        done = 0
        started = time.monotonic()
        with httpx.Client(base_url=url, timeout=60) as client:
            while done < args.jobs:
                count = min(args.batch, args.jobs - done)
                seen = run_batch(client, done, count, args.architect_every, story)
                failures += count - seen.get("succeeded", 0)
                done += count
                if done == args.warmup:
                    if args.tracemalloc:
                        snapshot(client, work / "warm.snap")
                    baseline = rss_mb(proc.pid)
                if done % args.report_every == 0 or done == args.jobs:
                    rss = rss_mb(proc.pid)
                    since = ("" if baseline is None
                             else f"  (+{rss - baseline:.1f} MB since warm-up)")
                    print(f"{done:6d} jobs  {time.monotonic() - started:7.1f} s  "
                          f"RSS {rss:7.1f} MB{since}", flush=True)
            if args.tracemalloc:
                snapshot(client, work / "end.snap")
                print_growth(work / "warm.snap", work / "end.snap")
        end = rss_mb(proc.pid)
    finally:
        stop_process(proc, 60)
        shutil.rmtree(work, ignore_errors=True)
    growth = end - (baseline if baseline is not None else end)
    print(f"growth after warm-up: {growth:.1f} MB over {args.jobs - args.warmup} jobs "
          f"({growth * 1024 / max(1, args.jobs - args.warmup):.1f} KB/job); "
          f"target < {args.limit_mb:.0f} MB; failed jobs: {failures}")
    return 0 if growth < args.limit_mb and failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
