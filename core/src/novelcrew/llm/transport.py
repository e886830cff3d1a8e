"""A lean HTTP/1.1 transport under the OpenAI SDK's httpx client, for the sync model calls.

httpx's default transport (httpcore over h11, both pure Python) spends about a millisecond
of interpreter time per chat request: three socket writes (request line and headers, body,
end of message), each with a readiness poll and a timeout switch, h11's per-header
validation and its event state machine, and a readability poll per pooled connection. Under
many concurrent jobs those costs queue one after another behind the interpreter lock.

``PlainTransport`` sends a request as one write (headers and body) on a kept-alive
connection and parses the response directly, with the same outcomes as httpx's transport:

- timeouts from the request's ``timeout`` extension: connect (``httpx.ConnectTimeout``),
  write (``WriteTimeout``), read, for each read (``ReadTimeout``);
- connection failures as ``ConnectError``, ``WriteError``, ``ReadError``; a server closing
  without an answer, or a malformed answer, as ``RemoteProtocolError``; header names or
  values that could split the request as ``LocalProtocolError`` (nothing is sent);
- keep-alive: an idle connection is reused only within ``keepalive_expiry`` and when the
  server has not closed it (checked before reuse, as httpcore does); ``Connection: close``,
  HTTP/1.0 and bodies delimited by the connection's end are not reused. A request is never
  sent twice;
- bodies: ``Content-Length``, chunked (trailers dropped) and to-end-of-connection; a
  response with a chunked or close-delimited body streams from the socket as it is read.

Requests it does not cover (a body without a length, a URL scheme other than
``http``/``https``) go to ``fallback``, an ordinary ``httpx.HTTPTransport``; with a proxy
configured, ``http_client`` returns the SDK's own client unchanged.

``openai_client`` builds the SDK's ``OpenAI`` client with two more per-call costs cut (see
``LeanOpenAI``): together with the transport, a chat call's client-side CPU goes from about
1.45 to 0.56 ms (single thread, local server, median of interleaved rounds).
"""

from __future__ import annotations

import contextlib
import functools
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

__all__ = ["PlainTransport", "http_client", "openai_client"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]|^[ \t]|[ \t]$")
_STATUS_LINE = re.compile(rb"HTTP/(1\.[01]) ([0-9]{3})(?: ([^\r\n]*))?")
_NO_BODY = frozenset({204, 304})
_MAX_HEAD = 64 * 1024
_READ = 65536


def http_client(ssl_context: ssl.SSLContext) -> httpx.Client:
    """The OpenAI SDK's default httpx client, on ``PlainTransport`` unless a proxy is set.

    With ``HTTP(S)_PROXY``/``ALL_PROXY`` in the environment the SDK's own client is returned
    unchanged, so proxies keep working as httpx applies them.
    """
    import urllib.request

    from openai import DefaultHttpxClient

    if any(key in ("http", "https", "all") for key in urllib.request.getproxies()):
        return DefaultHttpxClient(verify=ssl_context)
    fallback = httpx.HTTPTransport(verify=ssl_context)
    transport = PlainTransport(ssl_context=ssl_context, fallback=fallback)
    return _lean_client_class()(transport=transport)


def openai_client(**params: Any) -> Any:
    """``openai.OpenAI(**params)`` with two per-call costs of the SDK cut (``_LeanOpenAI``)."""
    return _lean_openai_class()(**params)


@functools.cache
def _lean_openai_class() -> type[Any]:
    import pydantic
    from openai import OpenAI
    from openai.types.chat import ChatCompletion

    class LeanOpenAI(OpenAI):
        """The OpenAI SDK's client, with the same requests and results, for less CPU per call.

        - the request URL, merged from the base URL and the path on every call (two URL
          parses), is kept per path for as long as the base URL is the same object;
        - a chat completion is read by pydantic's validator in strict mode (~10 µs) instead
          of the SDK's field-by-field ``construct_type`` (~140 µs); for an answer of the
          declared types both build the same model (extra fields such as OpenRouter's
          ``usage.cost`` included; only ``model_fields_set`` also names the extra keys, as
          pydantic counts them). Anything strict validation refuses (a number sent as a
          string, a finish reason the SDK does not know) takes the SDK's lenient path as
          before, so nothing is coerced that was not before.
        """

        def _prepare_url(self, url: str) -> httpx.URL:
            cache: dict[str, tuple[Any, httpx.URL]] = self.__dict__.setdefault(
                "_novelcrew_urls", {})
            base = self.base_url
            hit = cache.get(url)
            if hit is not None and hit[0] is base:
                return hit[1]
            merged: httpx.URL = super()._prepare_url(url)
            if len(cache) < 64:
                cache[url] = (base, merged)
            return merged

        def _process_response_data(self, *, data: object, cast_to: type[Any],
                                   response: httpx.Response) -> Any:
            if cast_to is ChatCompletion and type(data) is dict and \
                    not self._strict_response_validation:
                try:
                    return ChatCompletion.model_validate(data, strict=True)
                except pydantic.ValidationError:
                    pass
            return super()._process_response_data(data=data, cast_to=cast_to,
                                                  response=response)

    return LeanOpenAI


class _Cookies(httpx.Cookies):
    """Cookies that skip the cookie jar's work for responses that set none.

    httpx hands every response to ``http.cookiejar`` (two urllib adapter objects and a header
    scan, about a tenth of a chat call's client-side time); model APIs rarely set cookies.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        for name, _ in response.headers.raw:
            if name.lower() in (b"set-cookie", b"set-cookie2"):
                super().extract_cookies(response)
                return


@functools.cache
def _lean_client_class() -> type[httpx.Client]:
    """Built on first use: the OpenAI SDK is imported only when a model client is made."""
    from openai import DefaultHttpxClient

    class LeanClient(DefaultHttpxClient):  # type: ignore[misc,valid-type]
        """The SDK's default client whose cookie store is ``_Cookies``."""

        def __init__(self, **kwargs: Any) -> None:
            self._lean_cookies = _Cookies()
            super().__init__(**kwargs)

        @property
        def cookies(self) -> httpx.Cookies:
            return self._lean_cookies

        @cookies.setter
        def cookies(self, cookies: Any) -> None:
            self._lean_cookies = _Cookies(cookies)

    return LeanClient


class _Conn:
    """One kept-alive socket and the bytes read past the last response."""

    __slots__ = ("buffer", "idle_since", "key", "sock", "timeout")

    def __init__(self, sock: socket.socket, key: tuple[str, str, int]) -> None:
        self.sock = sock
        self.key = key
        self.buffer = b""
        self.timeout: float | None = -1.0  # unknown: set before first use
        self.idle_since = 0.0

    def set_timeout(self, timeout: float | None) -> None:
        if timeout != self.timeout:  # each change is a system call
            self.sock.settimeout(timeout)
            self.timeout = timeout

    def alive(self) -> bool:
        """Whether the server has not closed (or written to) this idle connection."""
        if self.buffer:
            return False
        try:  # poll, not select: no limit on descriptor numbers in a busy server
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return not poller.poll(0)  # readable, hung up or failed: not reusable
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class PlainTransport(httpx.BaseTransport):
    """A thread-safe HTTP/1.1 connection pool with one write per request (see the module)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None,
                 fallback: httpx.BaseTransport | None = None, max_idle: int = 64,
                 keepalive_expiry: float = 5.0) -> None:
        self._ssl = ssl_context
        self._fallback = fallback
        self._max_idle = max_idle
        self._expiry = keepalive_expiry
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()

    # httpx ---------------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        stream = request.stream
        if scheme not in _DEFAULT_PORTS or not isinstance(stream, httpx.ByteStream) or \
                request.extensions.get("sni_hostname"):
            return self._delegate(request)
        body = b"".join(stream)  # type: ignore[arg-type]  # ByteStream iterates its bytes
        head = self._head(request, len(body))
        timeouts = request.extensions.get("timeout") or {}
        key = (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])
        conn = self._checkout(key, timeouts.get("connect"))
        try:
            self._send(conn, head + body if len(body) < 65536 else head, timeouts.get("write"))
            if len(body) >= 65536:
                self._send(conn, body, timeouts.get("write"))
            return self._response(conn, request, timeouts.get("read"))
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        if self._fallback is not None:
            self._fallback.close()

    def _delegate(self, request: httpx.Request) -> httpx.Response:
        if self._fallback is None:
            self._fallback = httpx.HTTPTransport(verify=self._ssl or True)
        return self._fallback.handle_request(request)

    # request -------------------------------------------------------------------------------
    @staticmethod
    def _head(request: httpx.Request, length: int) -> bytes:
        lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
        has_length = False
        for name, value in request.headers.raw:
            if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
                raise httpx.LocalProtocolError(f"illegal header {name!r}", request=request)
            lower = name.lower()
            if lower == b"content-length":
                has_length = True
            elif lower == b"transfer-encoding":
                raise httpx.LocalProtocolError("unexpected transfer-encoding", request=request)
            lines.append(name + b": " + value)
        if not has_length and (length or request.method not in ("GET", "HEAD")):
            lines.append(b"Content-Length: %d" % length)
        lines.append(b"\r\n")
        return b"\r\n".join(lines)

    # connections ---------------------------------------------------------------------------
    def _checkout(self, key: tuple[str, str, int], connect_timeout: float | None) -> _Conn:
        now = time.monotonic()
        stale: list[_Conn] = []
        found: _Conn | None = None
        with self._lock:
            idle = self._idle
            for i in range(len(idle) - 1, -1, -1):
                conn = idle[i]
                if now - conn.idle_since > self._expiry:
                    stale.append(conn)
                    del idle[i]
                elif found is None and conn.key == key:
                    found = conn
                    del idle[i]
        for conn in stale:
            conn.close()
        if found is not None:
            if found.alive():
                return found
            found.close()
        return self._connect(key, connect_timeout)

    def _connect(self, key: tuple[str, str, int], timeout: float | None) -> _Conn:
        scheme, host, port = key
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                context = self._ssl or ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=host)
        except TimeoutError as exc:
            sock.close()
            raise httpx.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except OSError as exc:  # ssl.SSLError is an OSError
            sock.close()
            raise httpx.ConnectError(str(exc)) from exc
        conn = _Conn(sock, key)
        conn.timeout = timeout
        return conn

    def _checkin(self, conn: _Conn) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    @staticmethod
    def _send(conn: _Conn, data: bytes, timeout: float | None) -> None:
        conn.set_timeout(timeout)
        try:
            conn.sock.sendall(data)
        except TimeoutError as exc:
            raise httpx.WriteTimeout(str(exc) or "write timed out") from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc)) from exc

    @staticmethod
    def _recv(conn: _Conn, timeout: float | None) -> bytes:
        conn.set_timeout(timeout)
        try:
            return conn.sock.recv(_READ)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc

    # response ------------------------------------------------------------------------------
    def _response(self, conn: _Conn, request: httpx.Request,
                  timeout: float | None) -> httpx.Response:
        while True:
            status, reason, version, headers, length, chunked, close = \
                self._read_head(conn, timeout)
            if status >= 200 or status == 101:
                break  # skip informational answers (100 Continue, 103 Early Hints)
        extensions = {"http_version": b"HTTP/" + version, "reason_phrase": reason}
        reuse = not close and version == b"1.1"
        if request.method == "HEAD" or status in _NO_BODY or 100 <= status < 200:
            length, chunked = 0, False
        if not chunked and length is not None:
            data = conn.buffer
            while len(data) < length:
                more = self._recv(conn, timeout)
                if not more:
                    raise httpx.RemoteProtocolError(
                        "server closed the connection before the end of the body",
                        request=request)
                data += more
            conn.buffer = data[length:]
            if reuse:
                self._checkin(conn)
            else:
                conn.close()
            return httpx.Response(status, headers=headers, content=data[:length],
                                  extensions=extensions, request=request)
        body = _StreamedBody(self, conn, request, timeout, chunked, reuse and chunked)
        return httpx.Response(status, headers=headers, stream=body, extensions=extensions,
                              request=request)

    def _read_head(self, conn: _Conn, timeout: float | None) -> tuple[
            int, bytes, bytes, list[tuple[bytes, bytes]], int | None, bool, bool]:
        data = conn.buffer
        start = 0
        while True:
            end = data.find(b"\r\n\r\n", start)
            if end >= 0:
                break
            if len(data) > _MAX_HEAD:
                raise httpx.RemoteProtocolError("response head too long")
            start = max(0, len(data) - 3)
            more = self._recv(conn, timeout)
            if not more:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response." if not data
                    else "server closed the connection in the middle of the response head")
            data += more
        conn.buffer = data[end + 4:]
        lines = data[:end].split(b"\r\n")
        match = _STATUS_LINE.fullmatch(lines[0])
        if match is None:
            raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:100]!r}")
        version, status, reason = match.group(1), int(match.group(2)), match.group(3) or b""
        headers: list[tuple[bytes, bytes]] = []
        length: int | None = None
        chunked = False
        close = False
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not _TOKEN.fullmatch(name):
                raise httpx.RemoteProtocolError(f"malformed header line {line[:100]!r}")
            value = value.strip(b" \t")
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                try:
                    values = {int(v) for v in value.split(b",")}
                except ValueError:
                    raise httpx.RemoteProtocolError("malformed Content-Length") from None
                if len(values) != 1 or (length is not None and length not in values) \
                        or min(values) < 0:
                    raise httpx.RemoteProtocolError("conflicting Content-Length")
                length = values.pop()
            elif lower == b"transfer-encoding":
                codings = [c.strip().lower() for c in value.split(b",")]
                if codings[-1] != b"chunked":
                    close = True  # the body runs to the end of the connection
                else:
                    chunked = True
            elif lower == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            length = None  # Transfer-Encoding wins over Content-Length (RFC 9112 6.3)
        return status, reason, version, headers, length, chunked, close


class _StreamedBody(httpx.SyncByteStream):
    """A chunked or close-delimited body, read from the socket as httpx iterates it."""

    def __init__(self, transport: PlainTransport, conn: _Conn, request: httpx.Request,
                 timeout: float | None, chunked: bool, reuse: bool) -> None:
        self._transport = transport
        self._conn: _Conn | None = conn
        self._request = request
        self._timeout = timeout
        self._chunked = chunked
        self._reuse = reuse

    def __iter__(self) -> Iterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        if self._chunked:
            yield from self._chunks(conn)
            self._finish(reusable=self._reuse)
            return
        if conn.buffer:
            yield conn.buffer
            conn.buffer = b""
        while True:
            more = self._transport._recv(conn, self._timeout)
            if not more:
                break
            yield more
        self._finish(reusable=False)

    def _chunks(self, conn: _Conn) -> Iterator[bytes]:
        read = self._transport._recv
        while True:
            line = self._line(conn)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError(
                    f"malformed chunk size {size_text[:40]!r}", request=self._request
                ) from None
            if size == 0:
                while self._line(conn):  # trailers, up to the empty line
                    pass
                return
            while len(conn.buffer) < size + 2:
                more = read(conn, self._timeout)
                if not more:
                    raise httpx.RemoteProtocolError(
                        "server closed the connection in the middle of a chunk",
                        request=self._request)
                conn.buffer += more
            chunk, conn.buffer = conn.buffer[:size], conn.buffer[size + 2:]
            yield chunk

    def _line(self, conn: _Conn) -> bytes:
        while True:
            end = conn.buffer.find(b"\r\n")
            if end >= 0:
                line, conn.buffer = conn.buffer[:end], conn.buffer[end + 2:]
                return line
            if len(conn.buffer) > _MAX_HEAD:
                raise httpx.RemoteProtocolError("chunk header too long", request=self._request)
            more = self._transport._recv(conn, self._timeout)
            if not more:
                raise httpx.RemoteProtocolError(
                    "server closed the connection in the middle of a chunked body",
                    request=self._request)
            conn.buffer += more

    def _finish(self, *, reusable: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if reusable:
            self._transport._checkin(conn)
        else:
            conn.close()

    def close(self) -> None:
        self._finish(reusable=False)  # closed before the end: the connection is unusable
