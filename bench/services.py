"""What the benchmarks start besides the thing they measure: a throwaway redis-server.

Free ports, waiting for a server and stopping it come from ``novelcrew_sdk.testing``, as in the
tests. (The bench scripts keep bench/ last on ``sys.path``: it holds a ``queue.py``.)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from novelcrew_sdk.testing import free_port, stop_process


@contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """A redis-server on a free loopback port, without persistence, for as long as the block:
    its URL and its pid (whose CPU a bench reports apart)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                             str(workdir), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc.pid
    finally:
        stop_process(proc, 10)
