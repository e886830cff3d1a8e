"""The helpers for tests that start a real server: a free port, waiting until it answers (or
failing loudly when it died), stopping it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http


def test_a_server_on_a_free_port_is_waited_for_and_stopped(tmp_path: Path) -> None:
    (tmp_path / "health").write_text("ok")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", server)
        assert httpx.get(f"http://127.0.0.1:{port}/health").text == "ok"
    finally:
        stop_process(server)
    assert server.returncode is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health")


def test_a_server_that_dies_is_reported_with_what_it_said() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit('no config here')"],
                            stderr=subprocess.PIPE)
    with pytest.raises(RuntimeError, match=r"exited with 1 .*no config here"):
        wait_for_http(f"http://127.0.0.1:{free_port()}/health", dead)


def test_a_server_that_never_answers_times_out() -> None:
    with pytest.raises(TimeoutError, match=r"did not answer within 0\.5s"):
        wait_for_http(f"http://127.0.0.1:{free_port()}/health", timeout=0.5)


def test_the_servers_log_file_is_in_the_error(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("w") as out:
        dead = subprocess.Popen([sys.executable, "-c", "print('port already taken')"],
                                stdout=out, stderr=subprocess.STDOUT)
    with pytest.raises(RuntimeError, match=r"(?s)exited with 0 .*port already taken"):
        wait_for_http(f"http://127.0.0.1:{free_port()}/health", dead, log=log)
    log.write_text("still loading plugins")
    with pytest.raises(TimeoutError, match=r"within 0\.3s\nstill loading plugins"):
        wait_for_http(f"http://127.0.0.1:{free_port()}/health", timeout=0.3, log=log)


def test_a_server_that_writes_errors_to_its_piped_stdout_is_reported_with_them() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit('bad setting')"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with pytest.raises(RuntimeError, match=r"exited with 1 .*bad setting"):
        wait_for_http(f"http://127.0.0.1:{free_port()}/health", dead)
