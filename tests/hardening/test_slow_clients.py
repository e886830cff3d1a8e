"""Slow clients are cut off (issue #24): against a real ``novelcrew serve``, a few hundred
loopback connections that trickle their request head or body are closed once the header or
body deadline passes, while ``/health`` keeps answering at once and requests that are slow
for good reasons (an event stream that outlives the header deadline, a body sent within the
body deadline) are left alone."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import httpx
from hardening_helpers import start_server, stop

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 6.0
HEADER_TRICKLERS = 200
BODY_TRICKLERS = 50
#: no connection may stay open this long (the deadlines are seconds; before, 40 s was not enough)
GIVE_UP = 30.0


def open_trickler(port: int, first: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(first)
    sock.setblocking(False)
    return sock


def closed(sock: socket.socket, received: bytearray) -> bool:
    """Whether the server closed ``sock`` (keeping anything it sent before)."""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
            received.extend(chunk)
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def test_trickling_clients_are_closed_while_health_answers(tmp_path: Path) -> None:
    proc, url = start_server(tmp_path / "data", tmp_path / "serve.log",
                             NOVELCREW_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
                             NOVELCREW_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
                             NOVELCREW_RATE_LIMIT_PER_MINUTE="0")
    port = int(url.rsplit(":", 1)[1])
    try:
        # a job whose event stream lasts about twice the header deadline
        job = httpx.post(f"{url}/jobs", json={"crews": ["gated"], "inputs": {
            "story_text": "a b c", "steps": 40, "step_seconds": 0.1}}, timeout=10).json()
        stream: dict[str, object] = {}

        def follow() -> None:
            with httpx.stream("GET", f"{url}/jobs/{job['id']}/events", timeout=30) as r:
                stream["text"] = r.read().decode()

        follower = threading.Thread(target=follow)
        follower.start()

        started = time.monotonic()
        heads = [open_trickler(port, b"GET /health HTTP/1.1\r\nHost: x\r\n")
                 for _ in range(HEADER_TRICKLERS)]
        bodies = [open_trickler(port, b"POST /jobs HTTP/1.1\r\nHost: x\r\n"
                                b"Content-Type: application/json\r\n"
                                b"Content-Length: 100000\r\n\r\n{")
                  for _ in range(BODY_TRICKLERS)]
        received = {sock: bytearray() for sock in heads + bodies}
        open_socks = set(received)
        closed_after: dict[socket.socket, float] = {}
        health_seconds: list[float] = []
        while open_socks and time.monotonic() - started < GIVE_UP:
            for sock in list(open_socks):
                if closed(sock, received[sock]):
                    open_socks.discard(sock)
                    closed_after[sock] = time.monotonic() - started
                    continue
                with contextlib.suppress(OSError):  # closed meanwhile: seen at the next pass
                    sock.send(b"X-Slow: 1\r\n" if sock in heads else b" ")
            t0 = time.monotonic()
            assert httpx.get(f"{url}/health", timeout=10).status_code == 200
            health_seconds.append(time.monotonic() - t0)
            time.sleep(0.5)

        assert not open_socks, f"{len(open_socks)} trickling connections still open"
        head_times = sorted(closed_after[s] for s in heads)
        body_times = sorted(closed_after[s] for s in bodies)
        # cut at their deadlines (give or take the polling and a loaded machine), not before
        assert head_times[0] >= HEADER_TIMEOUT * 0.9 and head_times[-1] < GIVE_UP
        assert body_times[0] >= BODY_TIMEOUT * 0.9 and body_times[-1] < GIVE_UP
        assert all(not received[s] for s in heads)  # a head never completed: no answer
        for sock in bodies:
            assert received[sock].startswith(b"HTTP/1.1 408"), bytes(received[sock][:80])
            assert b'"request_timeout"' in received[sock]
        assert max(health_seconds) < 1.0, f"/health took up to {max(health_seconds):.2f}s"

        follower.join(30)
        events = [line for line in str(stream.get("text", "")).splitlines()
                  if line.startswith("event: ")]
        assert events[-1] == "event: succeeded", events[-3:]  # never cut by the header deadline
        for sock in received:
            sock.close()
    finally:
        stop(proc)


def read_response(sock: socket.socket) -> bytes:
    """One HTTP/1.1 response (head and a Content-Length body) from a blocking socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed mid-body"
        body += chunk
    return head + b"\r\n\r\n" + body


def test_slow_but_timely_bodies_pass_and_heads_are_capped(
        tmp_path: Path) -> None:
    proc, url = start_server(tmp_path / "data", tmp_path / "serve.log",
                             NOVELCREW_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
                             NOVELCREW_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
                             NOVELCREW_RATE_LIMIT_PER_MINUTE="0")
    port = int(url.rsplit(":", 1)[1])
    try:
        body = json.dumps({"crews": ["gated"], "inputs": {"story_text": "slow but fine"}})
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode())
            pieces = [body[i:i + len(body) // 6 + 1] for i in range(0, len(body),
                                                                     len(body) // 6 + 1)]
            for piece in pieces:  # about 3 s in all: past the header deadline, within the body's
                time.sleep(3.0 / len(pieces))
                sock.sendall(piece.encode())
            answer = read_response(sock)
            assert answer.startswith(b"HTTP/1.1 202"), answer[:200]
            # the connection stays usable for its next request (keep-alive)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")
        # a big head is fine; one past 64 KiB is not (the server's parser sets no limit)
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000
                         + b"\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            with contextlib.suppress(OSError):  # the server may close while we still send
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: "
                             + b"a" * 1_000_000)
            received = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    received += chunk
            assert received == b""  # closed without an answer, for its size
        assert "head_too_large" in (tmp_path / "serve.log").read_text()
    finally:
        stop(proc)
