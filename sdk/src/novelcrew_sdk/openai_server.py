"""A local OpenAI-compatible chat server for tests and benches, with faults on demand.

It is a real HTTP/1.1 server on a free loopback port (asyncio streams in a background thread),
so crewAI's own OpenAI client talks to it exactly as it talks to OpenRouter, vLLM or Ollama.
``POST /v1/chat/completions`` answers from a queue of planned replies and faults (per model, or
for any model), then from a default reply; it reports usage (and OpenRouter-style ``cost``) and
records every request and the most chat completions it answered at once (``peak_in_flight``)::

    with OpenAIServer(default="hello") as server:
        server.queue(Fault.rate_limited(retry_after=0.1), Fault.server_error(), "answer")
        settings = make_settings(..., openai_base_url=server.url, default_model="openai/m")

``gather = n`` holds every answer until ``n`` requests are in flight (or ``gather_timeout``
passes), so a test that calls run at once needs no timing luck.

Faults: a status (429 with ``Retry-After``, 500, ...), ``hang`` (accept, never answer),
``slow`` (answer after a delay), ``malformed`` (200 with a body that is not JSON), ``drop``
(close the connection without an answer). Streaming requests (``"stream": true``) get SSE.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

__all__ = ["Fault", "OpenAIServer", "RecordedRequest", "Reply", "openai_server"]

Handler = Callable[[dict[str, Any]], "str | Reply"]


@dataclass
class Reply:
    """A planned answer: text content or tool calls, after an optional delay."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # [{"name": ..., "arguments": {...}}]
    delay: float = 0.0
    cost: float | None = None

    @classmethod
    def tool(cls, name: str, arguments: dict[str, Any] | None = None, **kw: Any) -> Reply:
        return cls(tool_calls=[{"name": name, "arguments": arguments or {}}], **kw)


@dataclass
class Fault:
    """A planned failure for one request."""

    kind: Literal["status", "hang", "slow", "malformed", "drop"]
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    body: str | None = None

    @classmethod
    def rate_limited(cls, retry_after: float | None = 1.0) -> Fault:
        return cls("status", status=429, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("status", status=status)

    @classmethod
    def status_code(cls, status: int, body: str | None = None) -> Fault:
        return cls("status", status=status, body=body)

    @classmethod
    def hang(cls, seconds: float = 3600.0) -> Fault:
        return cls("hang", delay=seconds)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer normally (the next reply or the default) after ``seconds``."""
        return cls("slow", delay=seconds)

    @classmethod
    def malformed(cls, body: str = '{"id": "x", "choices": [ this is not json') -> Fault:
        return cls("malformed", body=body)

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    outcome: str = ""

    @property
    def model(self) -> str | None:
        return self.body.get("model")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "" if content is None else str(content)


class OpenAIServer:
    """The server; a context manager, also usable as the ``openai_server`` pytest fixture."""

    def __init__(self, default: str | Handler | Reply = "Thought: done\nFinal Answer: ok", *,
                 latency: float = 0.0, cost: float | None = 0.0001,
                 host: str = "127.0.0.1") -> None:
        self.default = default
        self.latency = latency
        self.cost = cost
        self.host = host
        self.port = 0
        self.requests: list[RecordedRequest] = []
        #: chat completions being answered now, and the most at once so far
        self.in_flight = 0
        self.peak_in_flight = 0
        #: hold each chat completion until this many are in flight (or ``gather_timeout``
        #: passes): a test of "these calls run at once" then needs no timing luck
        self.gather = 0
        self.gather_timeout = 10.0
        self._queues: dict[str | None, deque[Fault | Reply | str]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    # planning ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL to configure (``.../v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    def queue(self, *items: Fault | Reply | str, model: str | None = None) -> None:
        """Plan the next answers, in order (for ``model`` only, or for any model)."""
        with self._lock:
            self._queues.setdefault(model, deque()).extend(items)

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self.requests.clear()
            self.peak_in_flight = self.in_flight

    def _busy(self, change: int) -> None:
        with self._lock:
            self.in_flight += change
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def requests_for(self, model: str) -> list[RecordedRequest]:
        return [r for r in self.calls if r.model == model]

    @property
    def calls(self) -> list[RecordedRequest]:
        """Chat completion requests received so far."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next(self, model: str | None) -> Fault | Reply | str | Handler:
        with self._lock:
            for key in (model, None):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
        return self.default

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> OpenAIServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                        name=f"openai-server-{self.port}")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the OpenAI-compatible test server did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def open_server() -> None:
            self._server = await asyncio.start_server(self._connection, sock=sock,
                                                      limit=2**24)

        loop.run_until_complete(open_server())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for writer in list(self._writers):
                writer.transport.abort()
            if self._server is not None:
                self._server.close()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    # HTTP ----------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                method, path, _version = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    key, _, value = line.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                raw = await reader.readexactly(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                record = RecordedRequest(method, path.split("?")[0], headers, body)
                with self._lock:
                    self.requests.append(record)
                chat = record.path.endswith("/chat/completions")
                if chat:
                    self._busy(1)
                try:
                    keep = await self._respond(record, writer)
                finally:
                    if chat:
                        self._busy(-1)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError,
                asyncio.CancelledError):  # shutting down, or the client went away
            return
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes,
                    headers: dict[str, str] | None = None,
                    content_type: str = "application/json") -> None:
        reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests",
                  500: "Internal Server Error"}.get(status, "Status")
        head = [f"HTTP/1.1 {status} {reason}", f"content-type: {content_type}",
                f"content-length: {len(body)}", "connection: keep-alive"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()

    async def _respond(self, record: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        if record.path.endswith("/models") and record.method == "GET":
            await self._send(writer, 200, json.dumps({"object": "list", "data": []}).encode())
            return True
        if not record.path.endswith("/chat/completions") or record.method != "POST":
            record.outcome = "404"
            await self._send(writer, 404, b'{"error": {"message": "not found"}}')
            return True
        if self.gather:
            deadline = time.monotonic() + self.gather_timeout
            while self.in_flight < self.gather and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        if self.latency:
            await asyncio.sleep(self.latency)
        plan = self._next(record.model)
        while isinstance(plan, Fault) and plan.kind == "slow":
            await asyncio.sleep(plan.delay)
            plan = self._next(record.model)
        if isinstance(plan, Fault):
            record.outcome = plan.kind if plan.kind != "status" else str(plan.status)
            if plan.kind == "hang":
                await asyncio.sleep(plan.delay)
                writer.transport.abort()
                return False
            if plan.kind == "drop":
                writer.transport.abort()
                return False
            if plan.kind == "malformed":
                await self._send(writer, 200, (plan.body or "").encode())
                return True
            headers = {}
            if plan.retry_after is not None:
                headers["retry-after"] = f"{plan.retry_after:g}"
            body = plan.body or json.dumps({"error": {
                "message": f"planned failure {plan.status}", "type": "test_fault",
                "code": plan.status}})
            await self._send(writer, plan.status, body.encode(), headers)
            return True
        reply = plan(record.body) if callable(plan) else plan
        if isinstance(reply, str):
            reply = Reply(content=reply)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        record.outcome = "tool_calls" if reply.tool_calls else "ok"
        if record.body.get("stream"):
            await self._stream(writer, record, reply)
            return False
        await self._send(writer, 200, json.dumps(self._completion(record, reply)).encode())
        return True

    def _usage(self, record: RecordedRequest, reply: Reply, text: str) -> dict[str, Any]:
        prompt = sum(len(_text(m.get("content"))) for m in record.messages)
        usage: dict[str, Any] = {"prompt_tokens": max(1, prompt // 4),
                                 "completion_tokens": max(1, len(text) // 4)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        cost = reply.cost if reply.cost is not None else self.cost
        if cost is not None:
            usage["cost"] = cost
        return usage

    def _completion(self, record: RecordedRequest, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        text = reply.content or ""
        finish = "stop"
        if reply.tool_calls:
            message["tool_calls"] = [{
                "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                "function": {"name": call["name"],
                             "arguments": json.dumps(call.get("arguments") or {})},
            } for call in reply.tool_calls]
            text = json.dumps(message["tool_calls"])
            finish = "tool_calls"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:16]}", "object": "chat.completion",
            "created": int(time.time()), "model": record.model or "test",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": self._usage(record, reply, text),
        }

    async def _stream(self, writer: asyncio.StreamWriter, record: RecordedRequest,
                      reply: Reply) -> None:
        head = ("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                "cache-control: no-cache\r\nconnection: close\r\n\r\n")
        writer.write(head.encode())
        full = self._completion(record, reply)
        base = {k: full[k] for k in ("id", "created", "model")} | {
            "object": "chat.completion.chunk"}
        message = full["choices"][0]["message"]
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        content = message.get("content") or ""
        deltas += [{"content": content[i:i + 40]} for i in range(0, len(content), 40)]
        for index, call in enumerate(message.get("tool_calls") or []):
            deltas.append({"tool_calls": [{"index": index, **call}]})
        for delta in deltas:
            chunk = base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            writer.write(f"data: {json.dumps(chunk)}\n\n".encode())
        last = base | {"choices": [{"index": 0, "delta": {},
                                    "finish_reason": full["choices"][0]["finish_reason"]}],
                       "usage": full["usage"]}
        writer.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
        await writer.drain()


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[OpenAIServer]:
    with OpenAIServer(**kwargs) as server:
        yield server


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A started ``OpenAIServer`` (stopped after the test)."""
    with OpenAIServer() as server:
        yield server


def tool_rounds_handler(tool: str, rounds: int, final: str = "Done.") -> Handler:
    """Answer with a call to ``tool`` until the conversation holds ``rounds`` tool results."""

    def handler(body: dict[str, Any]) -> str | Reply:
        done = sum(1 for m in body.get("messages") or [] if m.get("role") == "tool")
        if done < rounds:
            return Reply.tool(tool, {"text": f"note {done + 1}"})
        return final

    return handler


class OpenAIServerProcess:
    """The same server in a child process, so its work does not share the caller's GIL.

    Benches use it: a real provider is another machine, and a server thread inside the measured
    process would steal the interpreter from the crews being measured.
    """

    def __init__(self, *, default: str = "Done.", latency: float = 0.0,
                 tool: str | None = None, tool_rounds: int = 0) -> None:
        self.args = ["--default", default, "--latency", str(latency)]
        if tool and tool_rounds:
            self.args += ["--tool", tool, "--tool-rounds", str(tool_rounds)]
        self.port = 0
        self._proc: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> OpenAIServerProcess:
        import subprocess
        import sys

        self._proc = subprocess.Popen(
            [sys.executable, "-m", "novelcrew_sdk.openai_server", *self.args],
            stdout=subprocess.PIPE, text=True,
        )
        line = self._proc.stdout.readline()
        if not line.startswith("PORT "):
            self._proc.kill()
            raise RuntimeError(f"the OpenAI-compatible server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except Exception:
                self._proc.kill()


def main(argv: list[str] | None = None) -> None:
    """Serve until terminated; prints ``PORT <n>`` once listening."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="OpenAI-compatible test server")
    parser.add_argument("--default", default="Done.")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--tool")
    parser.add_argument("--tool-rounds", type=int, default=0)
    args = parser.parse_args(argv)
    default: str | Handler = args.default
    if args.tool and args.tool_rounds:
        default = tool_rounds_handler(args.tool, args.tool_rounds, args.default)
    server = OpenAIServer(default=default, latency=args.latency).start()
    print(f"PORT {server.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
