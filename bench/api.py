"""POST /crews/execute under 100 concurrent clients: novelcrew against a bare FastAPI endpoint.

All servers run under uvicorn with the same options, each in its own subprocess on a free
port, and take the same body. The bare endpoint validates it with pydantic and answers 200.
The novelcrew server runs the ``inline`` backend (SQLite in a temporary directory) and one
registered crew without model work, twice: ``novelcrew``, whose crew waits ``--crew-seconds``
(1 s) as a crew waits for its model, and ``novelcrew-instant``, whose crew returns at once, so
that every accepted job also runs to its end, in the same process, while the server serves.

The load is 100 clients, each on one keep-alive connection (answered once before the clock
starts), each sending its next request when the last is answered. They write pre-encoded
requests on asyncio streams: about 0.1 ms of client CPU per request, where an httpx client
(``--client httpx``) costs about 4 ms, more than either server, and measured itself.

bare and ``novelcrew`` run side by side and take turns (``--segments``, 4 per round), so that
whatever else the machine does at the time weighs on both: run one after the other, the bare
server's own figure moved by up to 50% between runs on a shared machine.

    uv run python bench/api.py [--clients 100] [--requests 6000] [--segments 4] [--rounds 2]

Prints requests/s, p50/p99 latency, errors and server CPU per request (from ``/proc``) of
each, and each novelcrew run's ratio against bare (printed, not a target). Targets: at least
500 submissions/s, p99 < 100 ms, no errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like stdlib modules (queue.py): keep the folder last on the import
# path, so that the stdlib comes first (and bench/services.py is still found)
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import suppress  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

STORY = " ".join(["Maya opened the door to the lighthouse and the storm came in."] * 30)
BODY = {
    "crew_type": "noop",
    "project_id": "bench",
    "user_id": "bench-user",
    "input_data": {"story_text": STORY, "preferences": {"tone": "dark"}},
    "config": {},
}
UVICORN_OPTIONS: dict[str, Any] = {
    "host": "127.0.0.1", "log_level": "warning", "access_log": False, "lifespan": "on",
}


# the servers ----------------------------------------------------------------------------------
def bare_app() -> Any:
    """The baseline: the same body validated by pydantic, answered with 200 (the original
    server's status for Novel Movie's call)."""
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    class ExecuteRequest(BaseModel):
        crew_type: str
        project_id: str | None = None
        user_id: str | None = None
        input_data: dict[str, Any] = Field(default_factory=dict)
        config: dict[str, Any] = Field(default_factory=dict)

    app = FastAPI()

    async def execute(body: ExecuteRequest) -> dict[str, Any]:
        return {"success": True, "job_id": "x" * 32, "message": "job queued",
                "estimated_time": "under a minute", "result": None, "error": None}

    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # annotations are strings here (PEP 563) and the model is local: give FastAPI the objects
    execute.__annotations__ = {"body": ExecuteRequest, "return": dict[str, Any]}
    app.post("/crews/execute", status_code=200)(execute)
    app.get("/health")(health)
    return app


def novelcrew_app(data_dir: str, crew_seconds: float = 0.0) -> Any:
    from pydantic import BaseModel

    from novelcrew import Crew, RunContext, hookimpl
    from novelcrew.api.app import create_app
    from novelcrew.plugins import load, register_module
    from novelcrew.settings import Settings

    class NoopIn(BaseModel):
        story_text: str

    class NoopOut(BaseModel):
        chars: int

    async def run(ctx: RunContext, inputs: NoopIn) -> NoopOut:
        if crew_seconds:
            await asyncio.sleep(crew_seconds)  # what a crew mostly does: wait for its model
        return NoopOut(chars=len(inputs.story_text))

    class NoopPlugin:
        @hookimpl
        def register_crews(self, register: Any) -> None:
            register(Crew(name="noop", description="Does no model work.", input_model=NoopIn,
                          output_model=NoopOut, run=run, estimated_seconds=1))

    # one client IP sends everything here, so the per-client rate limit is off
    settings = Settings(_env_file=None, data_dir=Path(data_dir),  # type: ignore[call-arg]
                        rate_limit_per_minute=0, job_backend="inline")
    from novelcrew.logging import configure_logging

    configure_logging(settings, cache=True)  # as ``novelcrew serve`` does
    if settings.cpu_affinity:  # --cpu-affinity: as ``novelcrew serve`` does
        from novelcrew.affinity import pin

        pin(settings.cpu_affinity)
    plugins = load(allow=[], include_entry_points=False)
    register_module(plugins, NoopPlugin(), "bench-noop")
    app = create_app(settings, plugins)
    from novelcrew.cli.serve import freeze_heap

    freeze_heap(settings)  # as ``novelcrew serve`` does
    return app


def serve(kind: str, port: int, data_dir: str, crew_seconds: float) -> None:
    import uvicorn

    app = bare_app() if kind == "bare" else novelcrew_app(data_dir, crew_seconds)
    uvicorn.run(app, port=port, **UVICORN_OPTIONS)


# the load -------------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    #: CPU seconds the server process used during the timed window (Linux), else None
    server_cpu: float | None = None
    #: CPU seconds the load client used during the timed window
    client_cpu: float = 0.0

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu is None or not self.ok:
            return None
        return self.server_cpu * 1000 / self.ok

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q * 100) - 1]


def request_bytes(url: str) -> bytes:
    """The whole ``POST /crews/execute`` request, encoded once: every request is the same."""
    import json
    from urllib.parse import urlsplit

    body = json.dumps(BODY).encode()
    host = urlsplit(url).netloc
    return (f"POST /crews/execute HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


async def raw_exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       request: bytes) -> int:
    """One request on a keep-alive connection; the answer's status (its body read and
    dropped). HTTP/1.1 with ``Content-Length`` only, which is what uvicorn sends here."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    else:
        raise ValueError("an answer without Content-Length")
    await reader.readexactly(length)
    return status


async def load(name: str, url: str, clients: int, total: int, seconds: float,
               kind: str = "raw", rate: float | None = None) -> Result:
    """``clients`` concurrent clients, each with one keep-alive connection made before the
    clock starts, each sending its next request as soon as the last is answered (a closed
    loop: at saturation its latency is clients / throughput, Little's law).

    With ``rate``, an open loop instead: together the clients offer ``rate`` requests a second,
    client ``i`` at the times ``i / rate + k * clients / rate``, and a latency counts from the
    time its request was due, so an answer that comes late also delays (and counts against)
    the requests queued behind it on that connection (no coordinated omission).

    ``raw`` clients write the encoded request and read the answer on asyncio streams, about
    0.1 ms of client CPU per request, so the client does not measure itself: the ``httpx``
    clients (``--client httpx``) cost about 4 ms each, 8 times the bare server, and capped
    both servers at the client's own rate.
    """
    result = Result(name)
    remaining = total
    request = request_bytes(url)
    health = f"GET /health HTTP/1.1\r\nHost: {url.removeprefix('http://')}\r\n\r\n".encode()

    async def raw_worker() -> None:
        nonlocal remaining
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        # one answered request before the clock starts: the server has accepted the
        # connection (the kernel completes a handshake long before a busy server does)
        await raw_exchange(reader, writer, health)
        index = connected()
        await started_all.wait()
        due = clock_start + index / rate if rate else 0.0
        try:
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                began = time.perf_counter()
                if rate:
                    if due > began:
                        await asyncio.sleep(due - began)
                    began, due = due, due + clients / rate
                try:
                    status = await raw_exchange(reader, writer, request)
                except (OSError, ValueError, asyncio.IncompleteReadError):
                    status = 0
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                record(status, time.perf_counter() - began)
        finally:
            writer.close()

    async def httpx_worker() -> None:
        import httpx

        nonlocal remaining
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            await client.get("/health")  # the connection, made before the clock starts
            connected()
            await started_all.wait()
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                began = time.perf_counter()
                try:
                    r = await client.post("/crews/execute", json=BODY)
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                record(status, time.perf_counter() - began)

    def record(status: int, latency: float) -> None:
        result.latencies.append(latency)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status == 200:
            result.ok += 1
        else:
            result.errors += 1

    def connected() -> int:
        ready.append(True)
        if len(ready) == clients:
            all_connected.set()
        return len(ready) - 1

    ready: list[bool] = []
    all_connected, started_all = asyncio.Event(), asyncio.Event()
    deadline = clock_start = float("inf")
    if rate and kind != "raw":
        raise SystemExit("--rate needs the raw client")
    worker = raw_worker if kind == "raw" else httpx_worker
    tasks = [asyncio.create_task(worker()) for _ in range(clients)]
    await asyncio.wait_for(all_connected.wait(), 60)
    cpu_before = time.process_time()
    began = clock_start = time.perf_counter()
    # an open loop sends every request it scheduled, late ones too (within a grace)
    deadline = began + seconds + (30 if rate else 0)
    started_all.set()
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - began
    result.client_cpu = time.process_time() - cpu_before
    return result


def start(kind: str, data_dir: str,
          crew_seconds: float = 0.0) -> tuple[subprocess.Popen[bytes], str]:
    # imported here: the servers under test run this file too, without them
    from novelcrew_sdk.testing import free_port, wait_for_http

    port = free_port()
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    log_path = Path(data_dir) / f"{kind}.log"
    with log_path.open("wb") as log:  # a file, not a pipe nobody reads, which would fill up
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(port),
             "--crew-seconds", str(crew_seconds),
             "--data-dir", data_dir],
            stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", proc, timeout=120, log=log_path)
    return proc, url


#: the crew of ``novelcrew serve`` runs on the arq backend: a plugin module on PYTHONPATH
NOOP_MODULE = '''
from pydantic import BaseModel
from novelcrew import Crew, hookimpl

class NoopIn(BaseModel):
    story_text: str

class NoopOut(BaseModel):
    chars: int

async def run(ctx, inputs: NoopIn) -> NoopOut:
    return NoopOut(chars=len(inputs.story_text))

@hookimpl
def register_crews(register):
    register(Crew(name="noop", description="Does no model work.", input_model=NoopIn,
                  output_model=NoopOut, run=run, estimated_seconds=1))
'''


def start_cli(name: str, data_dir: str, redis_url: str,
              workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """``novelcrew serve [--workers N]`` on the arq backend (the real command), with the noop
    crew from a plugin module and the rate limit off (one client IP sends everything)."""
    from novelcrew_sdk.testing import free_port, wait_for_http

    port = free_port()
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "novelcrew_bench_noop.py").write_text(NOOP_MODULE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    env.update(NOVELCREW_JOB_BACKEND="arq", NOVELCREW_REDIS_URL=redis_url,
               NOVELCREW_QUEUE_NAME=f"bench:{name}", NOVELCREW_PLUGINS="",
               NOVELCREW_PLUGIN_MODULES="novelcrew_bench_noop", PYTHONPATH=str(folder),
               NOVELCREW_RATE_LIMIT_PER_MINUTE="0", NOVELCREW_DATA_DIR=str(folder))
    if "NOVELCREW_CPU_AFFINITY" in os.environ:  # --cpu-affinity
        env["NOVELCREW_CPU_AFFINITY"] = os.environ["NOVELCREW_CPU_AFFINITY"]
    command = [str(Path(sys.executable).parent / "novelcrew"), "serve", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    log_path = folder / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=env, cwd=folder, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", proc, timeout=120, log=log_path)
    deadline = time.monotonic() + 120
    while log_path.read_bytes().count(b"Application startup complete") < workers:  # all up
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{name} server did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc, url


def tree(pid: int) -> list[int]:
    """A process and its descendants (Linux ``/proc``)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        with suppress(OSError):
            todo += [int(c) for c in
                     Path(f"/proc/{current}/task/{current}/children").read_text().split()]
    return out


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its descendants (Linux ``/proc``), or None
    elsewhere."""
    total = 0.0
    for one in tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            if one == pid:
                return None
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def process_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each process of a tree, to see how a segment's load was split."""
    out = {}
    for one in tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[one] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def run(main: Any) -> Any:
    """The client's event loop: uvloop when installed (as it is with uvicorn's extras)."""
    try:
        import uvloop
    except ModuleNotFoundError:
        return asyncio.run(main)
    return uvloop.run(main)


class Server:
    """One server under test (a process, or a ``--workers`` parent and its children), and what
    all its timed segments measured together: closed loop, and open loop at ``--rate``."""

    def __init__(self, kind: str, args: argparse.Namespace, data_dir: str,
                 crew_seconds: float = 0.0, name: str | None = None, *,
                 redis_url: str | None = None, workers: int = 1) -> None:
        self.args = args
        name = name or kind
        if redis_url is None:
            self.proc, self.url = start(kind, data_dir, crew_seconds)
        else:
            self.proc, self.url = start_cli(name, data_dir, redis_url, workers)
        self.result = Result(name)
        self.at_rate = Result(f"{name} @{args.rate:g}/s") if args.rate else None
        self.shares: list[str] = []
        run(load(name, self.url, args.clients, min(200, args.requests), 10, args.client))

    def segment(self, requests: int, rate: float | None = None) -> None:
        """One timed run of ``requests`` (closed loop, or open loop at ``rate``), added to the
        others."""
        args = self.args
        total = self.result if rate is None else self.at_rate
        assert total is not None
        seconds = args.seconds if rate is None else requests / rate
        before, split = cpu_seconds(self.proc.pid), process_cpu(self.proc.pid)
        part = run(load(total.name, self.url, args.clients, requests, seconds, args.client,
                        rate))
        after, split_after = cpu_seconds(self.proc.pid), process_cpu(self.proc.pid)
        total.ok += part.ok
        total.errors += part.errors
        total.seconds += part.seconds
        total.latencies += part.latencies
        total.client_cpu += part.client_cpu
        for status, count in part.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + count
        if before is not None and after is not None:
            total.server_cpu = (total.server_cpu or 0.0) + after - before
        busy = [split_after[p] - split.get(p, 0.0) for p in split_after if p != self.proc.pid]
        if rate is None and len(busy) > 1:  # how the connections fell on the processes
            self.shares.append("/".join(f"{b:.1f}" for b in sorted(busy, reverse=True) if b))

    def stop(self) -> None:
        from novelcrew_sdk.testing import stop_process

        stop_process(self.proc, 30)


def take_turns(args: argparse.Namespace, servers: list[Server]) -> None:
    """Each server in turn, segment by segment (closed loop, then open loop at ``--rate``), so
    that a change in what else the machine runs falls on all alike."""
    per_segment = max(1, args.requests // args.segments)
    for _ in range(args.segments):
        for server in servers:
            server.segment(per_segment)
        if args.rate:
            for server in servers:
                server.segment(per_segment, args.rate)


def measure_round(args: argparse.Namespace, tmp: str) -> list[Result]:
    """inline: bare and ``novelcrew`` take turns, then ``novelcrew-instant`` alone (its accepted
    jobs go on running after its segments, which would load the others' turns).

    arq: bare, ``novelcrew serve`` (one process) and ``novelcrew serve --workers N`` take turns
    on one throwaway redis-server; no arq worker runs, so this measures the API (the jobs
    queue in Redis)."""
    if args.backend == "arq":
        from services import redis_server

        with redis_server(Path(tmp)) as (redis_url, redis_pid):
            servers = [Server("bare", args, tmp)]
            try:
                servers.append(Server("novelcrew", args, f"{tmp}/arq1", name="arq-1-process",
                                      redis_url=redis_url))
                servers.append(Server("novelcrew", args, f"{tmp}/arqN",
                                      name=f"arq-{args.workers}-processes",
                                      redis_url=redis_url, workers=args.workers))
                redis_before = cpu_seconds(redis_pid) or 0.0
                take_turns(args, servers)
                redis_cpu = (cpu_seconds(redis_pid) or 0.0) - redis_before
            finally:
                for server in servers:
                    server.stop()
        done = sum(r.ok + r.errors for s in servers[1:]
                   for r in (s.result, s.at_rate) if r is not None)
        print(f"  redis-server cpu: {redis_cpu * 1000 / max(done, 1):.2f} ms per novelcrew "
              f"request; cpu split of each {servers[2].result.name} turn (s, by process): "
              f"{', '.join(servers[2].shares)}")
        return [r for s in servers for r in (s.result, s.at_rate) if r is not None]
    servers = [Server("bare", args, tmp),
               Server("novelcrew", args, f"{tmp}/waiting", args.crew_seconds, "novelcrew")]
    try:
        take_turns(args, servers)
    finally:
        for server in servers:
            server.stop()
    instant = Server("novelcrew", args, f"{tmp}/instant", 0.0, "novelcrew-instant")
    try:
        instant.segment(args.requests)
        if args.rate:
            instant.segment(args.requests, args.rate)
    finally:
        instant.stop()
    return [r for s in (*servers, instant) for r in (s.result, s.at_rate) if r is not None]


def line(r: Result) -> str:
    cpu = r.cpu_ms_per_request
    return (f"{r.name:>24}: {r.rps:8.1f} req/s  p50 {r.quantile(0.5) * 1000:6.1f} ms  "
            f"p99 {r.quantile(0.99) * 1000:7.1f} ms  ok {r.ok}  errors {r.errors}  "
            f"server cpu {'n/a' if cpu is None else f'{cpu:.2f} ms'}/request  "
            f"client cpu {r.client_cpu * 1000 / max(1, r.ok + r.errors):.2f} ms/request  "
            f"statuses {dict(sorted(r.statuses.items()))}")


def verdict(r: Result, bare: Result, rate: float | None) -> str:
    """Which of issue #16's targets a run meets: >= 500 submissions/s (closed loop: what it
    sustains; open loop: that it kept up with the offered rate), p99 < 100 ms, no errors."""
    p99 = r.quantile(0.99) * 1000
    # open loop: it kept up with the offered rate (>= 500/s) within 2%
    throughput = r.rps >= 500 if rate is None else rate >= 500 and r.rps >= 0.98 * rate
    met = [name for name, ok in (("throughput >= 500/s", throughput), ("p99 < 100 ms", p99 < 100),
                                 ("no errors", not r.errors)) if ok]
    missed = [name for name in ("throughput >= 500/s", "p99 < 100 ms", "no errors")
              if name not in met]
    ratio = r.rps / bare.rps if bare.rps else 0.0
    cpu = ""
    if bare.cpu_ms_per_request and r.cpu_ms_per_request:
        cpu = f"; server cpu bare / this = {bare.cpu_ms_per_request / r.cpu_ms_per_request:.2f}"
    return (f"    {r.name}: {r.rps:.0f} req/s, p99 {p99:.1f} ms; ratio {ratio:.2f} against "
            f"bare{cpu}; met: {', '.join(met) or 'none'}; missed: {', '.join(missed) or 'none'}")


def report(results: list[Result], rate: float | None) -> str:
    closed = [r for r in results if "@" not in r.name]
    opened = [r for r in results if "@" in r.name]
    lines = [line(r) for r in results]
    for group, at in ((closed, None), (opened, rate)):
        if not group:
            continue
        bare, *ours = group
        lines += [verdict(r, bare, at) for r in ours]
        multi = [r for r in ours if "-processes" in r.name]
        single = [r for r in ours if "-1-process" in r.name]
        if multi and single and single[0].rps:
            m, one = multi[0], single[0]
            lines.append(f"    {m.name} / {one.name}: req/s x{m.rps / one.rps:.2f}, p99 "
                         f"{one.quantile(0.99) * 1000:.0f} -> {m.quantile(0.99) * 1000:.0f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=6000, help="per server and round")
    parser.add_argument("--segments", type=int, default=4,
                        help="turns the servers take in a round")
    parser.add_argument("--seconds", type=float, default=30.0, help="cap per server and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="load client: raw asyncio streams (default) or httpx")
    parser.add_argument("--crew-seconds", type=float, default=1.0,
                        help="how long each accepted job's crew waits, as for its model "
                             "(the 'instant' run always uses 0)")
    parser.add_argument("--backend", choices=["inline", "arq"], default="inline",
                        help="arq: novelcrew serve, 1 process against --workers, on a "
                             "throwaway redis-server")
    parser.add_argument("--workers", type=int, default=2,
                        help="API processes of the second arq server (--backend arq)")
    parser.add_argument("--rate", type=float, default=None,
                        help="also an open loop: the clients offer this many requests/s "
                             "together; latency counts from when each request was due")
    parser.add_argument("--cpu-affinity", default=None,
                        help="NOVELCREW_CPU_AFFINITY for the novelcrew servers, e.g. 1 (inline) "
                        "or 0,1 (--workers 2: one CPU each); bare is not pinned")
    parser.add_argument("--serve", choices=["bare", "novelcrew"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.data_dir, args.crew_seconds)
        return
    if args.cpu_affinity:  # the servers read it as ``novelcrew serve`` does
        os.environ["NOVELCREW_CPU_AFFINITY"] = args.cpu_affinity
        print(f"novelcrew servers pinned: NOVELCREW_CPU_AFFINITY={args.cpu_affinity}")
    print(f"POST /crews/execute, {args.clients} concurrent {args.client} clients, "
          f"{args.requests} requests per server and round ({args.segments} turns), at most "
          f"{args.seconds:.0f} s a turn; backend {args.backend}"
          f"{f', open loop at {args.rate:g}/s too' if args.rate else ''}; "
          f"cpus: {os.cpu_count()}")
    for round_ in range(1, args.rounds + 1):
        load_avg = " ".join(f"{x:.1f}" for x in os.getloadavg())
        with tempfile.TemporaryDirectory(prefix="novelcrew-bench-") as tmp:
            results = measure_round(args, tmp)
        after = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"round {round_} (load average {load_avg} before, {after} after):\n"
              f"{report(results, args.rate)}")


if __name__ == "__main__":
    main()
