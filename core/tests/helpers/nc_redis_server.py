"""Start a throwaway ``redis-server`` on a free loopback port, in a temp dir (no system service)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from novelcrew_sdk.testing import free_port, stop_process


def start_redis(workdir: Path, *, port: int | None = None,
                appendonly: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server answering PING, and its ``redis://127.0.0.1:<port>/0``; the caller stops
    it (a test of an outage stops it midway). With ``appendonly`` it keeps its data across a
    restart in ``workdir``; it logs to ``workdir/redis.log``."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = workdir / "redis.log"
    with log.open("a") as out:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
             "--save", "", "--appendonly", "yes" if appendonly else "no",
             "--appendfsync", "always", "--protected-mode", "yes"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc, 5)
            raise RuntimeError(f"redis-server did not start: {log.read_text()}")
        time.sleep(0.05)


@contextmanager
def redis_server(workdir: Path, *, port: int | None = None,
                 appendonly: bool = False) -> Iterator[str]:
    """Yield the URL of a redis-server (see ``start_redis``) that lives as long as the block."""
    proc, url = start_redis(workdir, port=port, appendonly=appendonly)
    try:
        yield url
    finally:
        stop_process(proc, 5)
