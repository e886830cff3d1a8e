"""Which failures are retried and for how long; provider health as /health shows it."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

import httpx

from novelcrew.errors import JobCancelled
from novelcrew.llm.health import openai_health, openrouter_health
from novelcrew.llm.policy import MalformedResponse, backoff_delay, judge, retry_after_of
from novelcrew_sdk.openai_server import OpenAIServer
from novelcrew_sdk.testing import free_port, make_plugins, make_settings


class StatusError(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"status {status}")
        self.status_code = status
        self.response = httpx.Response(status, headers=headers or {})


def test_retry_after_in_seconds_milliseconds_and_http_dates() -> None:
    assert retry_after_of(StatusError(429, {"retry-after": "7"})) == 7.0
    assert retry_after_of(StatusError(429, {"retry-after-ms": "250"})) == 0.25
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (retry_after_of(StatusError(429, {"retry-after": later})) or 0) <= 30
    assert retry_after_of(StatusError(429)) is None


def test_what_is_retried_what_falls_back_and_what_is_raised() -> None:
    assert judge(StatusError(429, {"retry-after": "2"})).retry_after == 2.0
    for status in (429, 500, 502, 503, 504, 408):
        assert judge(StatusError(status)).action == "retry"
    for status in (400, 401, 403, 404):
        assert judge(StatusError(status)).action == "fallback"
    wrapped = ConnectionError("Failed to connect to OpenAI API")
    assert judge(wrapped).action == "retry"
    try:
        try:
            raise StatusError(503)
        except StatusError as inner:
            raise ValueError("crewAI re-wrapped it") from inner
    except ValueError as outer:
        assert judge(outer).action == "retry"
    assert judge(MalformedResponse("not json")).action == "retry"
    assert judge(TimeoutError()).action == "retry"
    request = httpx.Request("POST", "http://provider/v1/chat/completions")
    for lost in (httpx.ReadError("reset", request=request), httpx.ConnectError("refused"),
                 httpx.RemoteProtocolError("closed mid-answer"), httpx.PoolTimeout("busy")):
        verdict = judge(lost)
        assert verdict.action == "retry", lost
        assert verdict.reason.startswith("timeout" if "Timeout" in type(lost).__name__
                                         else "connection error")
    assert judge(httpx.DecodingError("bad gzip")).action == "raise"  # not a lost connection
    assert judge(ValueError("API key required for openrouter")).action == "fallback"
    assert judge(JobCancelled("stop")).action == "raise"
    assert judge(KeyError("a bug in a tool")).action == "raise"


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 10.0)):
        delays = [backoff_delay(attempt, 1.0, 10.0) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert backoff_delay(1, 1.0, 10.0, retry_after=3.0) == 3.0
    assert backoff_delay(1, 1.0, 10.0, retry_after=300.0) == 10.0


async def test_health_of_providers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)  # offline only
    assert (await openrouter_health(settings)).status == "disabled"
    assert (await openai_health(settings)).status == "disabled"
    offline = make_plugins().registry.models["offline"]
    assert offline.plugin == "novelcrew.default_plugins.offline"  # a default plugin like any
    assert (await offline.spec.health(settings)).status == "ok"
    routed = make_settings(tmp_path, default_model="openrouter/anthropic/claude-sonnet-4")
    assert (await openrouter_health(routed)).status == "down"  # routed to, but no key
    with OpenAIServer() as server:
        local = make_settings(tmp_path, default_model="openai/m", openai_base_url=server.url)
        assert (await openai_health(local)).status == "ok"
        assert server.requests[-1].path == "/v1/models"
    gone = make_settings(tmp_path, default_model="openai/m",  # nothing listens there
                         openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    assert (await openai_health(gone)).status == "down"
