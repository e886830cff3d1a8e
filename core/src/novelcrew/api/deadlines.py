"""Deadlines for slow clients: a connection that trickles its request is closed.

uvicorn times out idle keep-alive connections (``timeout_keep_alive``) but nothing else: a
client sending one header line every few seconds, or a body ten bytes at a time, holds its
connection (and a file descriptor, and memory) for as long as it likes, and a few hundred of
them starve the server. Two deadlines close them, as nginx's ``client_header_timeout`` and
``client_body_timeout`` do:

- **header** (``NOVELCREW_HEADER_TIMEOUT_SECONDS``): a connection must complete a request's
  head within this time of opening, or of its previous response ending. ``guarded_protocol``
  wraps uvicorn's HTTP protocol class (the ``http`` option of ``uvicorn.Config``, which takes
  a class) and closes the transport when the time passes with no request in progress.
- **head size**: more than ``MAX_HEAD_BYTES`` before a request head ends closes the connection
  too (uvicorn's default protocol, httptools, sets no limit of its own; h11 has 16 KiB).
- **body** (``NOVELCREW_BODY_TIMEOUT_SECONDS``): a request's body must have arrived in full
  within this time of its head. ``RequestDeadlines`` (ASGI middleware) bounds each
  ``receive()``; past the deadline the request is answered 408 with ``Connection: close``.

The protocol learns that a request is in progress from the middleware: the protocol sets a
context variable while it parses incoming bytes, and asyncio copies the context into the task
uvicorn creates for the request, so the middleware finds its connection there. A request whose
connection is not guarded (tests through ``httpx.ASGITransport``, another server) gets the
body deadline only. ``tests/hardening/test_slow_clients.py`` fails loudly if uvicorn stops
creating the request's task while parsing (an in-flight request would then be cut off).
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("novelcrew.api")

#: the most bytes a request head may take (nginx's default buffers hold 32 KiB)
MAX_HEAD_BYTES = 64 * 1024
HEAD_END = b"\r\n\r\n"

#: the guarded connection whose bytes are being parsed (and so of the request task created)
CONNECTION: contextvars.ContextVar[GuardedConnection | None] = contextvars.ContextVar(
    "novelcrew_connection", default=None)


class GuardedConnection(asyncio.Protocol):
    """An HTTP protocol that delegates to ``inner_class`` and closes the connection when no
    request head completes within ``header_timeout`` seconds (see the module docstring)."""

    inner_class: type[asyncio.Protocol]
    header_timeout: float

    def __init__(self, **kwargs: Any) -> None:
        self.inner = self.inner_class(**kwargs)
        self.transport: asyncio.BaseTransport | None = None
        self.in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        #: bytes of the head being received (counted until its blank line), and its last 3
        self._head_bytes: int | None = 0
        self._tail = b""

    # the deadline --------------------------------------------------------------------------
    def _arm(self) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if not self.in_flight:
            self._close("header_timeout", seconds=self.header_timeout)

    def _close(self, reason: str, **fields: Any) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        peer = transport.get_extra_info("peername")
        log.info("slow_client_closed", reason=reason,
                 client=peer[0] if isinstance(peer, tuple) else None, **fields)
        transport.close()

    def _head_too_large(self, data: bytes) -> bool:
        """Count ``data`` into the head being received; True once it passes the limit."""
        if self._head_bytes is None:
            return False
        if HEAD_END in self._tail + data:
            self._head_bytes = None  # the head ended: the rest is a body, or pipelined
            return False
        self._head_bytes += len(data)
        self._tail = (self._tail + data)[-3:]
        return self._head_bytes > MAX_HEAD_BYTES

    def request_started(self) -> None:
        self.in_flight += 1
        self._disarm()

    def request_finished(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        if not self.in_flight and self.transport is not None \
                and not self.transport.is_closing():
            self._head_bytes, self._tail = 0, b""
            self._arm()

    # asyncio.Protocol, delegated -----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._arm()
        token = CONNECTION.set(self)
        try:
            self.inner.connection_made(transport)
        finally:
            CONNECTION.reset(token)

    def data_received(self, data: bytes) -> None:
        if self._head_too_large(data):
            self._close("head_too_large", limit_bytes=MAX_HEAD_BYTES)
            return
        token = CONNECTION.set(self)
        try:
            self.inner.data_received(data)
        finally:
            CONNECTION.reset(token)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.transport = None
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


def guarded_protocol(inner: type[asyncio.Protocol], header_timeout: float,
                     ) -> type[GuardedConnection]:
    """A protocol class for ``uvicorn.Config(http=...)``: ``inner`` with a header deadline."""
    return type("GuardedHTTPProtocol", (GuardedConnection,),
                {"inner_class": inner, "header_timeout": header_timeout})


class RequestDeadlines:
    """The body deadline (every request), and telling a guarded connection when a request
    starts and ends (so its header deadline spares requests in progress)."""

    def __init__(self, app: ASGIApp, body_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = CONNECTION.get()
        if connection is not None:
            connection.request_started()
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        body_done = False
        finished = False

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:  # after the body: waiting for a disconnect (SSE) has no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                log.info("slow_client_closed", reason="body_timeout",
                         seconds=self.body_timeout, path=scope.get("path"))
                raise HTTPException(
                    408, f"the request body did not arrive within {self.body_timeout:g}s",
                    headers={"Connection": "close"}) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_watched(message: Message) -> None:
            nonlocal finished
            await send(message)
            if (message["type"] == "http.response.body" and not message.get("more_body")
                    and not finished):
                finished = True
                if connection is not None:
                    connection.request_finished()

        try:
            await self.app(scope, receive_in_time, send_watched)
        finally:
            if not finished and connection is not None:
                finished = True
                connection.request_finished()
