"""A real Payload 3 server for tests: ``npm ci`` once, then one Node process per server.

``PayloadServer`` starts ``tests/payload_server/server.mjs`` (Payload's REST API on
``node:http``, SQLite in a temporary directory) on a free loopback port, waits for its
``READY <port>`` line and knows the seeded ids and API key. Stop it with ``stop()`` (SIGTERM,
then SIGKILL); ``kill()`` ends it abruptly, as a crash would.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The server's folder in a source checkout (override with NOVELCREW_PAYLOAD_TEST_SERVER_DIR).
DEFAULT_SERVER_DIR = Path(__file__).resolve().parents[2] / "tests" / "payload_server"


def server_dir() -> Path:
    return Path(os.environ.get("NOVELCREW_PAYLOAD_TEST_SERVER_DIR", DEFAULT_SERVER_DIR))


def ensure_node_modules(folder: Path | None = None, timeout: float = 600) -> Path:
    """Run ``npm ci`` in the server folder unless its ``node_modules`` is already there."""
    folder = folder or server_dir()
    if (folder / "node_modules" / "payload" / "package.json").exists():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed; the Payload test server needs Node 20 + npm")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=folder, check=True,
                   timeout=timeout, stdout=subprocess.DEVNULL)
    return folder


@dataclass
class PayloadServer:
    """One running Payload test server."""

    data_dir: Path
    api_key: str = field(default_factory=lambda: f"nc-test-{secrets.token_hex(12)}")
    folder: Path = field(default_factory=server_dir)
    port: int = 0
    seeded: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    #: extra environment for the server, e.g. ``{"PAYLOAD_WITHOUT_STORYBOARD": "1"}`` for a
    #: projects collection as Novel Movie's schema has it today (no generatedContent.storyboard)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The server's root (the REST API is under ``/api``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"users API-Key {self.api_key}"}

    def start(self, timeout: float = 90) -> PayloadServer:
        """Start, seed and wait for ``READY``; raises with the server's output on failure."""
        ensure_node_modules(self.folder)
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed; the Payload test server needs Node 20")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PAYLOAD_DATA_DIR": str(self.data_dir),
            "PAYLOAD_SECRET": secrets.token_hex(16),
            "PAYLOAD_SEED_API_KEY": self.api_key,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "NODE_ENV": "development",
            "EXIT_WITH_STDIN": "1",  # if this process dies, its pipe closes and the server ends
            **self.env,
        }
        self.process = subprocess.Popen(
            [node, "server.mjs"], cwd=self.folder, env=env, text=True, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        ready = threading.Event()
        threading.Thread(target=self._read, args=(ready,), daemon=True).start()
        if not ready.wait(timeout) or self.port == 0:
            self.kill()
            raise RuntimeError("the Payload test server did not start:\n" + "".join(self.output))
        return self

    def _read(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("SEEDED "):
                self.seeded = json.loads(line.removeprefix("SEEDED "))
            elif line.startswith("READY "):
                self.port = int(line.split()[1])
                ready.set()
        ready.set()  # the process ended: wake the waiter

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): connections are accepted but never answered."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """End the server at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.kill(self.process.pid, signal.SIGCONT)
        except ProcessLookupError:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_until(predicate: Any, timeout: float = 10, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is truthy or ``timeout`` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
