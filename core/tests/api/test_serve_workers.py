"""``novelcrew serve --workers 2`` on the arq backend, real processes on a real redis-server:
both processes answer on the one port, the rate limit is one budget across them, and SIGTERM
drains them all (an event stream ends with ``server_stopping``, a request in flight is
answered). The inline backend refuses ``--workers``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from nc_redis_server import start_redis
from nc_subprocess import HELPERS

from novelcrew.cli.serve import restart_delay
from novelcrew_sdk.testing import free_port, wait_for_http

KEY = "shared-key-0123456789"
OTHER = "other-key-abcdefghij"
LIMIT = 6
ARQ_TESTS = Path(__file__).resolve().parents[1] / "arq"  # nc_arq_crews: a ``noop`` crew
EXE = str(Path(sys.executable).parent / "novelcrew")
CPUS = sorted(os.sched_getaffinity(0))  # each server process runs on one of these


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    out.update(NOVELCREW_PLUGINS="", NOVELCREW_LOG_LEVEL="WARNING", **extra)
    return out


def serve_children(pid: int) -> list[int]:
    """The server processes of a ``serve --workers`` parent (not multiprocessing's tracker)."""
    out = []
    for kid in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{kid}/cmdline").read_bytes():
                out.append(int(kid))
        except OSError:  # it ended meanwhile
            pass
    return out


def cpus_of(pid: int) -> list[int]:
    """The CPUs any thread of a process may run on."""
    return sorted(set().union(*(os.sched_getaffinity(int(task.name))
                                for task in Path(f"/proc/{pid}/task").iterdir())))


@contextmanager
def workers(tmp_path: Path, redis_url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [EXE, "serve", "--workers", "2", "--port", str(port)], cwd=tmp_path, stdout=log,
        stderr=subprocess.STDOUT,
        env=env(NOVELCREW_JOB_BACKEND="arq", NOVELCREW_REDIS_URL=redis_url,
                NOVELCREW_API_KEYS=f"{KEY},{OTHER}",
                NOVELCREW_RATE_LIMIT_PER_MINUTE=str(LIMIT),
                NOVELCREW_DATA_DIR=str(tmp_path / "data"),
                NOVELCREW_PLUGIN_MODULES="nc_arq_crews",
                PYTHONPATH=os.pathsep.join([str(ARQ_TESTS), HELPERS]),
                NOVELCREW_CPU_AFFINITY=",".join(map(str, CPUS))))
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def answering(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until a fresh connection is answered (``/openapi.json`` is not rate limited)."""
    wait_for_http(f"{url}/openapi.json", proc, log=log)


def test_two_processes_answer_share_the_budget_and_drain_on_sigterm(tmp_path: Path) -> None:
    redis, redis_url = start_redis(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    try:
        with workers(tmp_path, redis_url, port) as proc:
            answering(url, proc, log)
            deadline = time.monotonic() + 60
            while len(children := serve_children(proc.pid)) < 2:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            first, second = children
            # process i runs on the i-th CPU of NOVELCREW_CPU_AFFINITY, every thread of it
            wanted = sorted([CPUS[0], CPUS[1 % len(CPUS)]])
            while (pinned := sorted(cpus_of(c) for c in children)) != [[n] for n in wanted]:
                assert time.monotonic() < deadline, (pinned, log.read_text())
                time.sleep(0.2)
            mine = {"X-API-Key": KEY}
            statuses: list[int] = []
            # stop one process (SIGSTOP): every new connection is accepted by the other
            for stopped, spent in ((second, 3), (first, 5)):
                os.kill(stopped, signal.SIGSTOP)
                try:
                    answering(url, proc, log)
                    statuses += [httpx.get(f"{url}/crews", headers=mine, timeout=10).status_code
                                 for _ in range(spent)]
                finally:
                    os.kill(stopped, signal.SIGCONT)
            # 3 answered by one process, 5 by the other: one budget of LIMIT in all
            assert statuses == [200] * LIMIT + [429] * 2, statuses

            # a process that dies is replaced, and the port keeps answering meanwhile; a
            # replacement that dies soon after it started is replaced after a longer pause
            for killed in (first, None):
                if killed is None:
                    killed = next(c for c in children if c != second)
                os.kill(killed, signal.SIGKILL)
                while killed in (children := serve_children(proc.pid)) or len(children) < 2:
                    assert time.monotonic() < deadline + 90, log.read_text()
                    httpx.get(f"{url}/openapi.json", timeout=10).raise_for_status()
                    time.sleep(0.2)
            answering(url, proc, log)
            records = [json.loads(line) for line in log.read_text().splitlines()
                       if line.startswith("{")]
            pauses = [r["restart_in_seconds"] for r in records
                      if r["event"] == "serve_process_died"]
            assert len(pauses) == 2 and pauses[1] > 0 and pauses[1] > pauses[0], (
                pauses, log.read_text())

            other = {"X-API-Key": OTHER}
            job = httpx.post(f"{url}/jobs", headers=other, timeout=10,
                             json={"crews": ["noop"], "inputs": {}})
            assert job.status_code == 202, job.text
            job_id = job.json()["id"]  # no arq worker runs: it stays queued, its stream open

            events: list[dict[str, Any]] = []
            streaming = threading.Event()

            def follow() -> None:
                with httpx.stream("GET", f"{url}/jobs/{job_id}/events", headers=other,
                                  timeout=60) as r:
                    current: dict[str, str] = {}
                    for line in r.iter_lines():
                        if line and not line.startswith(":"):
                            name, _, value = line.partition(": ")
                            current[name] = value
                        elif not line and current:
                            events.append(current)
                            current = {}
                            streaming.set()

            reader = threading.Thread(target=follow)
            reader.start()
            assert streaming.wait(30), "the event stream sent nothing"

            body = json.dumps({"crews": ["noop"], "inputs": {}}).encode()
            head = (f"POST /jobs HTTP/1.1\r\nHost: {url[7:]}\r\nX-API-Key: {OTHER}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
            with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
                raw.sendall(head.encode() + body[:10])  # a request in flight: half its body
                time.sleep(1.0)  # let the server read its head
                proc.send_signal(signal.SIGTERM)
                time.sleep(0.5)
                raw.sendall(body[10:])
                answer = raw.recv(65536)
            assert answer.startswith(b"HTTP/1.1 202"), answer[:300]

            reader.join(30)
            assert not reader.is_alive(), "the event stream did not end"
            assert events[0]["event"] == "queued"
            assert events[-1]["event"] == "server_stopping", events
            assert proc.wait(60) == 0, log.read_text()
            assert not [c for c in children if Path(f"/proc/{c}").exists()]
            try:
                httpx.get(f"{url}/openapi.json", timeout=2)
                raise AssertionError("the port still answers after the drain")
            except httpx.TransportError:
                pass
    finally:
        redis.terminate()
        redis.wait(10)


def test_processes_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    redis, redis_url = start_redis(tmp_path)
    port = free_port()
    try:
        with workers(tmp_path, redis_url, port) as proc:
            answering(f"http://127.0.0.1:{port}", proc, tmp_path / "serve.log")
            deadline = time.monotonic() + 60
            while len(children := serve_children(proc.pid)) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            proc.kill()  # no drain from the parent: each child notices and drains itself
            proc.wait()
            while [c for c in children if Path(f"/proc/{c}").exists()
                   and b"Z" not in Path(f"/proc/{c}/stat").read_bytes().split(b") ")[1][:1]]:
                assert time.monotonic() < deadline + 30, "orphaned processes still run"
                time.sleep(0.2)
            with socket.socket() as sock:  # and the port is free again
                sock.bind(("127.0.0.1", port))
    finally:
        redis.terminate()
        redis.wait(10)


def test_processes_that_cannot_start_stop_the_parent(tmp_path: Path) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: no process can start
    with workers(tmp_path, closed, free_port()) as proc:
        assert proc.wait(120) == 3, (tmp_path / "serve.log").read_text()
    assert "serve_process_failed_to_start" in (tmp_path / "serve.log").read_text()


def test_workers_are_refused_on_the_inline_backend(tmp_path: Path) -> None:
    done = subprocess.run(
        [EXE, "serve", "--workers", "2", "--port", str(free_port())], cwd=tmp_path,
        env=env(NOVELCREW_JOB_BACKEND="inline", NOVELCREW_DATA_DIR=str(tmp_path / "data")),
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    message = " ".join(done.stderr.replace("\u2502", " ").split())  # rich's box lines
    assert "arq backend" in message and "inline backend runs its jobs" in message, message


def test_a_crash_loop_is_slowed_down() -> None:
    """Replaced at once after a process that ran for a while, then after 1, 2, 4... seconds
    while replacements keep dying at start, never more than 30 s apart."""
    assert [restart_delay(n) for n in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]
