"""``novelcrew serve --workers 2`` on the arq backend, real processes on a real redis-server:
both processes answer on the one port, the rate limit is one budget across them, ``/metrics``
counts what all of them did whichever answers, and SIGTERM drains them all (an event stream
ends with ``server_stopping``, a request in flight is answered). The inline backend refuses
``--workers``."""

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
from prometheus_client.parser import text_string_to_metric_families

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
    out.update({"NOVELCREW_PLUGINS": "", "NOVELCREW_LOG_LEVEL": "WARNING", **extra})
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


def cluster_env(tmp_path: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a test's API processes (and workers) on one Redis."""
    settings = dict(NOVELCREW_JOB_BACKEND="arq", NOVELCREW_REDIS_URL=redis_url,
                    NOVELCREW_API_KEYS=f"{KEY},{OTHER}",
                    NOVELCREW_RATE_LIMIT_PER_MINUTE=str(LIMIT),
                    NOVELCREW_DATA_DIR=str(tmp_path / "data"),
                    NOVELCREW_PLUGIN_MODULES="nc_arq_crews",
                    PYTHONPATH=os.pathsep.join([str(ARQ_TESTS), HELPERS]),
                    NOVELCREW_CPU_AFFINITY=",".join(map(str, CPUS)))
    return env(**{**settings, **extra})


@contextmanager
def workers(tmp_path: Path, redis_url: str, port: int,
            **extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """``novelcrew serve --workers 2`` on ``port``; ``extra``: settings over the defaults."""
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [EXE, "serve", "--workers", "2", "--port", str(port)], cwd=tmp_path, stdout=log,
        stderr=subprocess.STDOUT, env=cluster_env(tmp_path, redis_url, **extra))
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


#: jobs run through ``serve --workers 2`` in the metrics test, half through each process
JOBS = 8
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """The samples ``/metrics`` serves, as Prometheus reads them."""
    response = httpx.get(f"{url}/metrics", headers={"X-API-Key": KEY}, timeout=10)
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(value for (n, got), value in samples.items()
               if n == name and set(labels.items()) <= set(got))


def coherent(samples: Samples) -> None:
    """What every scrape must say once the ``JOBS`` jobs ran, whichever process answers."""
    assert total(samples, "novelcrew_jobs_submitted_total", crew="asks") == JOBS
    assert total(samples, "novelcrew_http_requests_total", method="POST", route="/jobs",
                 status="202") == JOBS
    assert total(samples, "novelcrew_jobs", status="succeeded") == JOBS
    assert total(samples, "novelcrew_queue_depth") == 0
    assert total(samples, "novelcrew_backend_up") == 1
    assert total(samples, "novelcrew_live_workers") == 1
    assert total(samples, "novelcrew_api_processes") == 2
    names = {name for name, _ in samples}
    assert "python_info" in names
    # one process's own figures would change with the process that answers: left out
    assert not [n for n in names if n.startswith(("process_", "python_gc_"))], names


def test_metrics_add_up_over_the_processes_whichever_answers(tmp_path: Path) -> None:
    """Jobs submitted through both processes (the other one stopped each time), then
    ``/metrics`` scraped many times through each: every scrape counts all the jobs. A process
    killed and replaced keeps its counts in the sum, and leaves the live-process gauge. The
    worker's own endpoint still serves the jobs it ran; SIGTERM removes the metrics files."""
    redis, redis_url = start_redis(tmp_path)
    port, worker_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    settings = dict(NOVELCREW_PLUGIN_MODULES="nc_arq_crews,nc_arq_model",
                    NOVELCREW_MODEL="offline", NOVELCREW_RATE_LIMIT_PER_MINUTE="100000",
                    NOVELCREW_LOG_LEVEL="INFO")
    worker = None
    try:
        with workers(tmp_path, redis_url, port, **settings) as proc:
            with (tmp_path / "worker.log").open("w") as out:
                worker = subprocess.Popen(
                    [EXE, "worker", "--metrics-port", str(worker_port)], cwd=tmp_path,
                    stdout=out, stderr=subprocess.STDOUT,
                    env=cluster_env(tmp_path, redis_url, **settings,
                                    NOVELCREW_WORKER_HEARTBEAT_SECONDS="0.25"))
            answering(url, proc, log)
            deadline = time.monotonic() + 60
            while len(children := serve_children(proc.pid)) < 2:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            started = next(json.loads(line) for line in log.read_text().splitlines()
                           if '"serve_processes_started"' in line)
            files = Path(started["metrics_dir"])
            assert files.stat().st_mode & 0o777 == 0o700  # private to the server's user

            ids = []
            for stopped in reversed(children):  # half the jobs through each process
                os.kill(stopped, signal.SIGSTOP)
                try:
                    answering(url, proc, log)
                    for _ in range(JOBS // 2):
                        job = httpx.post(f"{url}/jobs", headers={"X-API-Key": KEY}, timeout=10,
                                         json={"crews": ["asks"], "inputs": {}})
                        assert job.status_code == 202, job.text
                        ids.append(job.json()["id"])
                finally:
                    os.kill(stopped, signal.SIGCONT)
            while any(httpx.get(f"{url}/jobs/{job_id}", headers={"X-API-Key": KEY},
                                timeout=10).json()["status"] != "succeeded" for job_id in ids):
                assert time.monotonic() < deadline + 120, (tmp_path / "worker.log").read_text()
                time.sleep(0.5)
            while total(scrape(url), "novelcrew_live_workers") != 1:  # its next heartbeat
                assert time.monotonic() < deadline + 150
                time.sleep(0.2)

            seen = []  # /metrics requests counted so far, as each scrape says
            for stopped in (*children, None):  # each process answers alone, then either
                if stopped:
                    os.kill(stopped, signal.SIGSTOP)
                try:
                    answering(url, proc, log)
                    for _ in range(6):
                        samples = scrape(url)
                        coherent(samples)
                        seen.append(total(samples, "novelcrew_http_requests_total",
                                          route="/metrics"))
                finally:
                    if stopped:
                        os.kill(stopped, signal.SIGCONT)
            assert seen == sorted(seen) and seen[-1] > seen[0], seen  # never back, as one
            assert list(files.glob("*.db"))

            worker_samples = httpx.get(f"http://127.0.0.1:{worker_port}/metrics", timeout=10)
            assert worker_samples.status_code == 200
            finished = [line for line in worker_samples.text.splitlines() if line.startswith(
                'novelcrew_jobs_finished_total{crew="asks",status="succeeded"}')]
            assert finished == [f'novelcrew_jobs_finished_total{{crew="asks",'
                                f'status="succeeded"}} {float(JOBS)}'], worker_samples.text
            assert "process_cpu_seconds_total" in worker_samples.text  # its own process

            # a process killed: replaced; its counts stay in the sum, its live gauge goes
            os.kill(children[0], signal.SIGKILL)
            while children[0] in (now := serve_children(proc.pid)) or len(now) < 2:
                assert time.monotonic() < deadline + 240, log.read_text()
                time.sleep(0.2)
            os.kill(children[1], signal.SIGSTOP)
            try:
                answering(url, proc, log)  # the replacement answers: its server started
                samples = scrape(url)
            finally:
                os.kill(children[1], signal.SIGCONT)
            coherent(samples)

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, log.read_text()
            assert not files.exists()
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
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
