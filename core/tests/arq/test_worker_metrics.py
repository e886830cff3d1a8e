"""Each ``novelcrew worker`` serves the metrics of the jobs it runs on a port of its own
(``NOVELCREW_WORKER_METRICS_PORT`` plus ``NOVELCREW_WORKER_INDEX``), scraped over real HTTP
from real worker processes on a real redis-server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from nc_arq_helpers import (
    NOVELCREW,
    StartWorker,
    new_job,
    until,
    until_terminal,
    worker_env,
)
from prometheus_client.parser import text_string_to_metric_families

from novelcrew import metrics
from novelcrew.backends.arq import ArqBackend
from novelcrew.jobs import JobStatus
from novelcrew.settings import Settings, SettingsError


def free_port_pair() -> int:
    """A port ``p`` with ``p`` and ``p + 1`` free on 127.0.0.1 now."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < 65535:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no two neighbouring free ports")


def scrape(port: int, timeout: float = 60) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples a worker serves at ``/metrics``, waiting for it to listen."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return sum(value for (n, got), value in samples.items()
               if n == name and set(labels.items()) <= set(got))


async def test_each_worker_serves_the_metrics_of_the_jobs_it_ran_and_they_add_up(
    backend: ArqBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    """Two workers of one host share the base port and differ by their index (the flag on
    one, the variable on the other): each serves what it ran, and the sum over both is every
    job, as Prometheus sums over ``instance``."""
    base = free_port_pair()
    start_worker("--metrics-port", str(base), worker_metrics_host="127.0.0.1")
    start_worker(worker_metrics_port=base, worker_index=1)
    before = [scrape(base), scrape(base + 1)]
    assert all(total(s, "novelcrew_jobs_finished_total") == 0 for s in before)
    jobs = [await backend.submit(new_job(["sleepy", "noop"], steps=1)) for _ in range(4)]
    failing = await backend.submit(new_job(["flaky"], counter=str(tmp_path / "c"),
                                           failures=99))
    for job in jobs:
        assert (await until_terminal(backend, job.id)).status is JobStatus.succeeded
    assert (await until_terminal(backend, failing.id)).status is JobStatus.failed
    after = [scrape(base), scrape(base + 1)]
    chain = "sleepy,noop"
    assert sum(total(s, "novelcrew_jobs_finished_total", crew=chain, status="succeeded")
               for s in after) == 4
    assert sum(total(s, "novelcrew_jobs_finished_total", crew="flaky", status="failed")
               for s in after) == 1
    assert sum(total(s, "novelcrew_job_duration_seconds_count", crew=chain)
               for s in after) == 4
    assert sum(total(s, "novelcrew_crew_duration_seconds_count", crew="sleepy")
               for s in after) == 4
    for samples in after:
        names = {name for name, _ in samples}
        assert "process_cpu_seconds_total" in names
        assert "novelcrew_webhooks_pending" in names
        # the API's gauges stay the API's: a worker's 0 would read as an outage
        assert not names & {"novelcrew_backend_up", "novelcrew_queue_depth", "novelcrew_jobs",
                            "novelcrew_live_workers", "novelcrew_http_requests_total"}


async def test_a_worker_counts_its_model_calls(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    """The model layer's series of the calls a worker's jobs make (``offline``: no network)."""
    port = free_port_pair()
    start_worker(worker_metrics_port=port, plugin_modules="nc_arq_model", model="offline")
    job = await backend.submit(new_job(["asks"]))
    done = await until_terminal(backend, job.id, timeout=120)
    assert done.status is JobStatus.succeeded, done.error
    samples = scrape(port)
    assert total(samples, "novelcrew_model_calls_total", model="offline", outcome="ok") >= 1
    assert total(samples, "novelcrew_model_call_seconds_count", model="offline") >= 1
    assert total(samples, "novelcrew_jobs_finished_total", crew="asks",
                 status="succeeded") == 1


def test_a_busy_metrics_port_stops_the_worker_at_start_naming_the_setting(
    redis_url: str, root: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for extra, named in (({"worker_metrics_port": port}, "NOVELCREW_WORKER_METRICS_PORT"),
                             ({"worker_metrics_port": port - 2, "worker_index": 2},
                              "NOVELCREW_WORKER_INDEX=2")):
            started = time.monotonic()
            proc = subprocess.run(
                [NOVELCREW, "worker"], cwd=tmp_path, capture_output=True, text=True,
                timeout=60, env=worker_env(redis_url, root, tmp_path / "data", **extra))
            assert proc.returncode == 3, proc.stderr
            last = proc.stderr.strip().splitlines()[-1]
            assert last.startswith(f"novelcrew: error: cannot serve worker metrics on "
                                   f"127.0.0.1:{port} ("), last
            assert named in last and "in use" in last, last
            assert "Traceback" not in proc.stderr
            assert time.monotonic() - started < 30  # before Redis or crewAI: at once


def test_the_worker_metrics_port_is_off_by_default_and_checked() -> None:
    settings = Settings(_env_file=None)
    assert metrics.worker_metrics_port(settings) == 0
    assert metrics.serve_worker_metrics(settings) is None
    on = Settings(_env_file=None, worker_metrics_port=9100, worker_index=3)
    assert metrics.worker_metrics_port(on) == 9103
    assert metrics.worker_metrics_url("::1", 9103) == "http://[::1]:9103/metrics"
    assert metrics.worker_metrics_url("10.0.0.5", 9103) == "http://10.0.0.5:9103/metrics"
    with pytest.raises(SettingsError, match=r"NOVELCREW_WORKER_INDEX=2: .* 65537, past 65535"):
        metrics.worker_metrics_port(Settings(_env_file=None, worker_metrics_port=65535,
                                             worker_index=2))


def test_a_bad_worker_index_is_a_bad_setting(tmp_path: Path) -> None:
    """``novelcrew-worker@%i``: an instance name that is not a number is refused at start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    env.update(NOVELCREW_WORKER_INDEX="gpu", NOVELCREW_WORKER_METRICS_PORT="9100")
    proc = subprocess.run([NOVELCREW, "worker"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "novelcrew: error: bad setting NOVELCREW_WORKER_INDEX='gpu'")


def test_the_worker_registry_leaves_crewai_unimported() -> None:
    code = ("import sys\n"
            "from prometheus_client import generate_latest\n"
            "from novelcrew import metrics\n"
            "generate_latest(metrics.worker_registry())\n"
            "assert 'crewai' not in sys.modules, 'crewai imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def test_a_stopped_worker_with_metrics_still_exits(
    backend: ArqBackend, start_worker: StartWorker
) -> None:
    """The metrics thread does not hold the process up on SIGTERM."""
    port = free_port_pair()
    proc = start_worker(worker_metrics_port=port)
    scrape(port)

    async def live() -> bool:
        return any(w["alive"] and w["pid"] == proc.pid for w in await backend.workers())

    await until(live)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
