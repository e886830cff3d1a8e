"""``PlainTransport``: the lean HTTP/1.1 transport under the OpenAI SDK's client.

Driven over real sockets by a raw server whose answers are written byte by byte, so every
framing the transport must read (length, chunked, to the end of the connection, informational
answers, gzip) and every failure it must name (refused, dropped, timed out, malformed) is
exercised as a provider would produce it.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from novelcrew.llm import transport as transport_module
from novelcrew.llm.transport import PlainTransport, http_client

#: (answer bytes or None to drop the connection, close after answering)
Answer = tuple[bytes | None, bool]


class RawServer:
    """Answers the n-th request (0-based, over all connections) with ``answer(n, request)``."""

    def __init__(self, answer: Callable[[int, bytes], Answer], *, tls: ssl.SSLContext | None
                 = None) -> None:
        self.answer = answer
        self.tls = tls
        self.requests: list[tuple[int, bytes]] = []  # (connection number, raw request)
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{'localhost' if self.tls else '127.0.0.1'}" \
               f":{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                number = self.connections
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                return
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    more = conn.recv(65536)
                    if not more:
                        return
                    buffer += more
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    rest += conn.recv(65536)
                request, buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
                with self.lock:
                    index = len(self.requests)
                    self.requests.append((number, request))
                data, close = self.answer(index, request)
                if data is None:
                    return
                conn.sendall(data)
                if close:
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def make(answer: Callable[[int, bytes], Answer], **kwargs: Any) -> RawServer:
        servers.append(RawServer(answer, **kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def ok(body: bytes = b'{"ok": true}', *extra: bytes) -> bytes:
    headers = b"".join(h + b"\r\n" for h in extra)
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (len(body), headers)) + body


def client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(transport=PlainTransport(**kwargs), timeout=5)


def test_requests_reuse_one_connection_and_arrive_intact(serve: Any,
                                                         monkeypatch: Any) -> None:
    server = serve(lambda i, _: (ok(b'{"n": %d}' % i), False))
    writes: list[int] = []
    send = PlainTransport._send

    def counting(conn: Any, data: bytes, timeout: float | None) -> None:
        writes.append(len(data))
        send(conn, data, timeout)

    monkeypatch.setattr(PlainTransport, "_send", staticmethod(counting))
    with client() as http:
        for n in range(3):
            response = http.post(server.url + "/v1/chat/completions?x=1",
                                 json={"n": n}, headers={"Authorization": "Bearer k"})
            assert response.status_code == 200
            assert response.json() == {"n": n}
            assert response.http_version == "HTTP/1.1"
            assert response.reason_phrase == "OK"
    assert [number for number, _ in server.requests] == [0, 0, 0]
    assert len(writes) == 3  # headers and body in one write each
    head, _, body = server.requests[2][1].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions?x=1 HTTP/1.1"
    assert b"Authorization: Bearer k" in lines
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Content-Length: %d" % len(body) in lines
    assert body == b'{"n":2}'


def test_chunked_bodies_with_extensions_and_trailers(serve: Any) -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5;ext=1\r\n{\"a\":\r\n4\r\n 1}\n\r\n0\r\nX-Trailer: yes\r\n\r\n")
    server = serve(lambda i, _: (chunked if i == 0 else ok(), False))
    with client() as http:
        assert http.get(server.url).json() == {"a": 1}
        assert http.get(server.url).json() == {"ok": True}
    assert [number for number, _ in server.requests] == [0, 0]  # reused after the body


def test_a_body_to_the_end_of_the_connection_and_connection_close(serve: Any) -> None:
    answers = [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
               ok(b"closing", b"Connection: close"), ok(b"third")]
    server = serve(lambda i, _: (answers[i], i < 2))
    with client() as http:
        assert http.get(server.url).text == "until the end"
        assert http.get(server.url).text == "closing"
        assert http.get(server.url).text == "third"
    assert [number for number, _ in server.requests] == [0, 1, 2]


def test_gzip_bodies_are_decoded(serve: Any) -> None:
    packed = gzip.compress(b'{"zipped": true}')
    server = serve(lambda i, _: (ok(packed, b"Content-Encoding: gzip"), False))
    with client() as http:
        assert http.get(server.url).json() == {"zipped": True}


def test_informational_answers_are_skipped_and_bodyless_answers_keep_the_connection(
    serve: Any
) -> None:
    answers = [b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"after continue"),
               b"HTTP/1.1 204 No Content\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",  # to HEAD: no body follows
               ok(b"last")]
    server = serve(lambda i, _: (answers[i], False))
    with client() as http:
        assert http.post(server.url, content=b"x").text == "after continue"
        assert http.delete(server.url).status_code == 204
        assert http.head(server.url).headers["content-length"] == "99"
        assert http.get(server.url).text == "last"
    assert {number for number, _ in server.requests} == {0}


def test_a_connection_the_server_closed_while_idle_is_replaced(serve: Any) -> None:
    server = serve(lambda i, _: (ok(b"%d" % i), i == 0))  # closes after the first answer
    with client() as http:
        assert http.get(server.url).text == "0"
        time.sleep(0.1)
        assert http.get(server.url).text == "1"
    assert [number for number, _ in server.requests] == [0, 1]


def test_idle_connections_expire(serve: Any) -> None:
    server = serve(lambda i, _: (ok(), False))
    with client(keepalive_expiry=0.05) as http:
        http.get(server.url)
        time.sleep(0.15)
        http.get(server.url)
    assert [number for number, _ in server.requests] == [0, 1]


def test_a_server_that_drops_the_connection_is_a_remote_protocol_error(serve: Any) -> None:
    server = serve(lambda i, _: (None, True))
    with client() as http, pytest.raises(httpx.RemoteProtocolError):
        http.post(server.url, json={})
    assert len(server.requests) == 1  # sent once, never again


def test_malformed_answers_are_remote_protocol_errors(serve: Any) -> None:
    answers = [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
               b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]
    server = serve(lambda i, _: (answers[i], True))
    with client() as http:
        for _ in answers:
            with pytest.raises(httpx.RemoteProtocolError):
                http.get(server.url)


def test_timeouts_and_refused_connections_are_httpx_errors(serve: Any) -> None:
    server = serve(lambda i, _: (ok(), False) if i else (time.sleep(1) or None, True))
    with httpx.Client(transport=PlainTransport(), timeout=0.2) as http:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.get(server.url)
        assert time.monotonic() - started < 0.9
        assert http.get(server.url).status_code == 200  # a fresh connection
        closed = socket.create_server(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        with pytest.raises(httpx.ConnectError):
            http.get(f"http://127.0.0.1:{port}/")


def test_headers_that_could_split_the_request_are_refused_before_sending(serve: Any) -> None:
    server = serve(lambda i, _: (ok(), False))
    with client() as http:
        for bad in ({"X-Bad": "a\r\nInjected: 1"}, {"X Bad": "a"}, {"X-Bad": "a\n"}):
            with pytest.raises(httpx.LocalProtocolError):
                http.get(server.url, headers=bad)
        assert http.get(server.url).status_code == 200
    assert len(server.requests) == 1


def test_cookies_that_are_set_are_kept_and_sent(serve: Any) -> None:
    answers = [ok(b"a"), ok(b"b", b"Set-Cookie: session=abc; Path=/"), ok(b"c")]
    server = serve(lambda i, _: (answers[i], False))
    with http_client(ssl.create_default_context()) as http:
        http.get(server.url)
        assert not http.cookies
        http.get(server.url)
        assert http.cookies["session"] == "abc"
        http.get(server.url)
    assert b"Cookie: session=abc" in server.requests[2][1].split(b"\r\n")
    assert b"Cookie:" not in server.requests[1][1]


def test_streamed_bodies_are_read_as_they_arrive(serve: Any) -> None:
    events = b"".join(b"%x\r\ndata: %d\n\n\r\n" % (len(b"data: %d\n\n" % n), n)
                      for n in range(3))
    server = serve(lambda i, _: (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n" + events + b"0\r\n\r\n",
                                 False))
    with client() as http, http.stream("POST", server.url, json={}) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines == ["data: 0", "data: 1", "data: 2"]


def test_the_sdk_client_uses_the_lean_transport_unless_a_proxy_is_set(
    monkeypatch: Any
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    context = ssl.create_default_context()
    lean = http_client(context)
    assert isinstance(lean._transport, PlainTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    proxied = http_client(context)
    assert not isinstance(proxied._transport, PlainTransport)
    assert proxied._mounts  # httpx routes through the proxy as before
    lean.close()
    proxied.close()


def test_https_with_the_given_ssl_context(serve: Any, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server = serve(lambda i, _: (ok(b"secure %d" % i), False), tls=server_tls)
    trusting = ssl.create_default_context(cafile=str(cert))
    with client(ssl_context=trusting) as http:
        assert http.get(server.url).text == "secure 0"
        assert http.get(server.url).text == "secure 1"
    assert [number for number, _ in server.requests] == [0, 0]
    with client(ssl_context=ssl.create_default_context()) as http, \
            pytest.raises(httpx.ConnectError):
        http.get(server.url)  # an untrusted certificate fails the connection


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_the_providers_build_their_clients_on_it(settings_for: Any, monkeypatch: Any) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    from novelcrew.llm.providers import build_provider_llm

    llm = build_provider_llm("openai/main", settings_for())
    client = llm._get_sync_client()
    assert isinstance(client._client._transport, PlainTransport)
    assert type(client) is transport_module._lean_openai_class()
    assert transport_module.__all__ == ["PlainTransport", "http_client", "openai_client"]
