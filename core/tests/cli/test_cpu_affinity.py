"""``NOVELCREW_CPU_AFFINITY``: a server or worker process runs on one CPU of the list, every
thread of it, and a list it cannot honour stops it with a clear message (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nc_redis_server import start_redis

from novelcrew.affinity import parse_cpus
from novelcrew.settings import Settings
from novelcrew_sdk.testing import free_port, stop_process

EXE = str(Path(sys.executable).parent / "novelcrew")
CPUS = sorted(os.sched_getaffinity(0))  # what this test may use: a container may allow fewer


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    out.update(NOVELCREW_PLUGINS="", **extra)
    return out


def test_the_list_reads_as_taskset_writes_it() -> None:
    assert parse_cpus("0-3,6") == [0, 1, 2, 3, 6]
    assert parse_cpus(" 2 , 0-1 ,2") == [2, 0, 1]  # in order, no repeats
    for bad, said in (("x", "'x' is not a CPU"), ("3-1", "from the lower CPU"),
                      ("1,,2", "'' is not a CPU")):
        with pytest.raises(ValueError, match=said):
            parse_cpus(bad)
    assert Settings(_env_file=None, cpu_affinity="1,0").cpu_affinity == [1, 0]  # type: ignore[call-arg]
    assert Settings(_env_file=None).cpu_affinity is None  # type: ignore[call-arg]


def test_pinning_covers_the_threads_already_running() -> None:
    cpu = CPUS[-1]
    code = (
        "import os, threading, time\n"
        "from novelcrew.affinity import pin\n"
        "seen = {}\n"
        "ready, done = threading.Event(), threading.Event()\n"
        "def early():\n"
        "    ready.set(); done.wait()\n"
        "    seen['early'] = sorted(os.sched_getaffinity(0))\n"
        "t = threading.Thread(target=early); t.start(); ready.wait()\n"
        f"print(pin([{cpu}]))\n"
        "def later_one():\n"
        "    seen['later'] = sorted(os.sched_getaffinity(0))\n"
        "later = threading.Thread(target=later_one)\n"
        "later.start(); later.join(); done.set(); t.join()\n"
        "seen['main'] = sorted(os.sched_getaffinity(0))\n"
        "print(seen)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out[0] == str(cpu)
    assert out[1] == str({"later": [cpu], "early": [cpu], "main": [cpu]})


def test_a_worker_runs_on_its_cpu(tmp_path: Path) -> None:
    redis, url = start_redis(tmp_path / "redis")
    log = tmp_path / "worker.log"
    cpu = CPUS[-1]
    try:
        with log.open("w") as out:
            proc = subprocess.Popen(
                [EXE, "worker"], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                env=env(NOVELCREW_JOB_BACKEND="arq", NOVELCREW_REDIS_URL=url,
                        NOVELCREW_CPU_AFFINITY=str(cpu), NOVELCREW_LOG_FORMAT="json",
                        NOVELCREW_DATA_DIR=str(tmp_path / "data")))
        try:
            deadline = time.monotonic() + 120
            while "pinned_to_cpu" not in log.read_text():
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            line = next(json.loads(x) for x in log.read_text().splitlines()
                        if x.startswith("{") and "pinned_to_cpu" in x)
            assert line["cpu"] == cpu
            tasks = Path(f"/proc/{proc.pid}/task").iterdir()
            assert {frozenset(os.sched_getaffinity(int(t.name))) for t in tasks} == {
                frozenset({cpu})}
        finally:
            stop_process(proc)
    finally:
        redis.terminate()
        redis.wait(10)


def test_a_cpu_the_process_may_not_use_stops_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [EXE, "serve", "--port", str(free_port())], cwd=tmp_path, capture_output=True,
        text=True, timeout=120,
        env=env(NOVELCREW_JOB_BACKEND="inline", NOVELCREW_DATA_DIR=str(tmp_path / "data"),
                NOVELCREW_CPU_AFFINITY=str(max(CPUS) + 1)))
    assert done.returncode == 3, done.stderr
    assert f"names CPU {max(CPUS) + 1}, but this process may only run on CPUs" in done.stderr
