"""Recorded model replies: record every chat completion once, replay it offline after.

Quality is measured on real models (``novelcrew eval``), but CI has no key and no network. With
``NOVELCREW_LLM_RECORD=DIR`` every ``POST .../chat/completions`` and its successful reply are
written to ``DIR/<key>.json``; with ``NOVELCREW_LLM_REPLAY=DIR`` the same requests are answered
from those files, and a request that was never recorded gets a clear error (HTTP 404,
``not recorded: re-record ...``) instead of a network call. With both set, recorded requests are
replayed and new ones go to the network and are recorded (topping a recording up).

The key is a SHA-256 of the JSON request body (model, messages, response_format or tools,
every sampling parameter), canonicalised (sorted keys, no spaces), without the fields that only
identify a caller (``user``, ``metadata``, ``store``). Headers are never read into a key or
written to a file, so API keys and other secrets never enter a recording; of the reply only the
status, its ``content-type`` and the body are kept. Only 2xx replies are recorded: a 429 or a
5xx must not be replayed forever.

The seam: ``wrap_transport(transport)`` (and ``wrap_async_transport``) returns the transport
unchanged when neither variable is set, else a wrapper around it; whoever builds the OpenAI
SDK's ``httpx`` client passes its transport through it::

    client = openai.OpenAI(http_client=httpx.Client(transport=wrap_transport(transport)))
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "RECORD_ENV",
    "REPLAY_ENV",
    "AsyncRecordingTransport",
    "RecordingTransport",
    "recording_key",
    "wrap_async_transport",
    "wrap_transport",
]

RECORD_ENV = "NOVELCREW_LLM_RECORD"
REPLAY_ENV = "NOVELCREW_LLM_REPLAY"
#: request body fields that identify a caller, not a question: left out of the key and file
_CALLER_FIELDS = frozenset({"user", "metadata", "store"})
_FORMAT = 1


def _is_chat(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.rstrip("/").endswith("chat/completions")


def _question(request: httpx.Request) -> dict[str, Any]:
    """The request body without caller fields; ``ValueError`` if it is not a JSON object."""
    body = json.loads(request.read() or b"null")
    if not isinstance(body, dict):
        raise ValueError("a chat completion request body must be a JSON object")
    return {k: v for k, v in body.items() if k not in _CALLER_FIELDS}


def recording_key(question: Mapping[str, Any]) -> str:
    """The key of a request body (already without caller fields)."""
    canonical = json.dumps(question, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


class _Recorder:
    """What the sync and async wrappers share: keys, files, the miss reply."""

    def __init__(self, record: Path | None, replay: Path | None) -> None:
        self.record = record
        self.replay = replay
        if replay is not None and not replay.is_dir():
            raise ValueError(f"{REPLAY_ENV}: no recording directory at {replay}")
        if record is not None:
            record.mkdir(parents=True, exist_ok=True)

    def lookup(self, request: httpx.Request) -> tuple[str | None, dict[str, Any] | None,
                                                       httpx.Response | None]:
        """(key, question, reply): a replayed reply, or what recording the real one needs."""
        if not _is_chat(request):
            return None, None, None
        try:
            question = _question(request)
        except ValueError:
            return None, None, None  # not ours to judge: the server answers it
        key = recording_key(question)
        if self.replay is not None:
            path = self.replay / f"{key}.json"
            if path.is_file():
                return key, question, self._replayed(request, path)
            if self.record is None:
                return key, question, self._miss(request, key, question)
        return key, question, None

    @staticmethod
    def _replayed(request: httpx.Request, path: Path) -> httpx.Response:
        saved = json.loads(path.read_text(encoding="utf-8"))["response"]
        body = saved["body"]
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return httpx.Response(saved["status"], content=content, request=request,
                              headers={"content-type": saved["content_type"]})

    def _miss(self, request: httpx.Request, key: str, question: dict[str, Any]) -> httpx.Response:
        message = (
            f"not recorded: re-record (no reply for request {key} in {self.replay}; run once "
            f"with {RECORD_ENV}=DIR and a real model, model {question.get('model')!r})"
        )
        return httpx.Response(
            404, request=request,
            json={"error": {"message": message, "type": "not_recorded", "code": "not_recorded"}},
        )

    def save(self, key: str, question: dict[str, Any], request: httpx.Request,
             response: httpx.Response) -> httpx.Response:
        """Write a 2xx reply (already read) and hand back an equivalent response to the caller."""
        content_type = response.headers.get("content-type", "application/json")
        if self.record is not None and 200 <= response.status_code < 300:
            try:
                body: Any = json.loads(response.content)
            except ValueError:
                body = response.text  # a streamed (SSE) reply, kept as written
            entry = {
                "format": _FORMAT,
                "key": key,
                "request": {"path": request.url.path, "body": question},
                "response": {"status": response.status_code, "content_type": content_type,
                             "body": body},
            }
            _write_atomically(self.record / f"{key}.json",
                              json.dumps(entry, ensure_ascii=False, indent=1, sort_keys=True))
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length",
                                        "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=response.content,
                              request=request, extensions={"http_version": b"HTTP/1.1"})


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RecordingTransport(httpx.BaseTransport):
    """Records chat completions to a directory, or replays them from one (see the module)."""

    def __init__(self, transport: httpx.BaseTransport, *, record: str | Path | None = None,
                 replay: str | Path | None = None) -> None:
        self.transport = transport
        self.recorder = _Recorder(Path(record) if record else None,
                                  Path(replay) if replay else None)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key, question, reply = self.recorder.lookup(request)
        if reply is not None:
            return reply
        response = self.transport.handle_request(request)
        if key is None or question is None or self.recorder.record is None:
            return response
        try:
            response.read()
        finally:
            response.close()
        return self.recorder.save(key, question, request, response)

    def close(self) -> None:
        self.transport.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """The async twin of ``RecordingTransport``, for ``openai.AsyncOpenAI``."""

    def __init__(self, transport: httpx.AsyncBaseTransport, *,
                 record: str | Path | None = None, replay: str | Path | None = None) -> None:
        self.transport = transport
        self.recorder = _Recorder(Path(record) if record else None,
                                  Path(replay) if replay else None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key, question, reply = self.recorder.lookup(request)
        if reply is not None:
            return reply
        response = await self.transport.handle_async_request(request)
        if key is None or question is None or self.recorder.record is None:
            return response
        try:
            await response.aread()
        finally:
            await response.aclose()
        return self.recorder.save(key, question, request, response)

    async def aclose(self) -> None:
        await self.transport.aclose()


def _dirs(env: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    source = os.environ if env is None else env
    return (source.get(RECORD_ENV) or None, source.get(REPLAY_ENV) or None)


def wrap_transport(transport: httpx.BaseTransport,
                   env: Mapping[str, str] | None = None) -> httpx.BaseTransport:
    """``transport`` itself, or a recording/replaying wrapper when the variables ask for one.

    ``env`` defaults to the process environment; pass a mapping (settings, tests) to decide
    without touching it.
    """
    record, replay = _dirs(env)
    if record is None and replay is None:
        return transport
    return RecordingTransport(transport, record=record, replay=replay)


def wrap_async_transport(transport: httpx.AsyncBaseTransport,
                         env: Mapping[str, str] | None = None) -> httpx.AsyncBaseTransport:
    """The async twin of ``wrap_transport``."""
    record, replay = _dirs(env)
    if record is None and replay is None:
        return transport
    return AsyncRecordingTransport(transport, record=record, replay=replay)
