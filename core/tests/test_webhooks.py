"""Webhooks against a real local HTTP receiver: signed, retried with backoff, never in the way."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job, JobStatus
from novelcrew.plugins import load, register_module
from novelcrew.runner import JobRunner
from novelcrew.settings import Settings
from novelcrew.webhooks import (
    WebhookTargetRefused,
    check_target,
    deliver_webhook,
    drain_webhooks,
    sign,
    webhook_counts,
)
from novelcrew_sdk.testing import free_port, stop_process

SECRET = "s3cret-for-tests"


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """What a receiver does (examples/client/webhook_receiver.py), independent of ``sign``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={digest}", header or "")


@dataclass
class Receiver:
    """A real HTTP server answering with ``statuses`` in turn (the last one repeats)."""

    statuses: list[int]
    requests: list[dict[str, Any]] = field(default_factory=list)
    got: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                index = len(receiver.requests)
                status = receiver.statuses[min(index, len(receiver.statuses) - 1)]
                receiver.requests.append({"headers": dict(self.headers), "body": body,
                                          "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if 200 <= status < 300:
                    receiver.got.set()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    rec = Receiver(statuses=getattr(request, "param", [500, 500, 200]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), rec.handler())
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/novelcrew?token=t0ken"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


class In(BaseModel):
    story_text: str


class Out(BaseModel):
    words: int


async def count_words(ctx: RunContext, inputs: In) -> Out:
    await ctx.add_tasks(1)
    await ctx.task_started("count")
    await ctx.task_finished("count")
    return Out(words=len(inputs.story_text.split()))


class Crews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="words", description="Counts words.", input_model=In,
                      output_model=Out, run=count_words))


def settings(tmp_path: Path, **kw: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": tmp_path, "webhook_secret": SECRET,
                              "webhook_backoff_seconds": 0.05, "webhook_retries": 3,
                              "webhook_allow": ["127.0.0.1"]}
    values.update(kw)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def run_job(tmp_path: Path, url: str, **kw: Any) -> tuple[Job, MemoryStore]:
    plugins = load(allow=[], include_entry_points=False)
    register_module(plugins, Crews(), "crews")
    store = MemoryStore()
    job = Job(crews=["words"], inputs={"story_text": "a b c"}, webhook_url=url, **kw)
    await store.create(job)
    outcome = await JobRunner(plugins, settings(tmp_path), store).run(job.id)
    return outcome.job, store


async def test_job_end_is_posted_signed_after_two_failures(
    tmp_path: Path, receiver: Receiver
) -> None:
    job, store = await run_job(tmp_path, receiver.url)
    assert job.status is JobStatus.succeeded
    assert len(receiver.requests) <= 1, "the job waited for its webhook"
    await asyncio.wait_for(asyncio.to_thread(receiver.got.wait, 10), 15)
    assert [r["status"] for r in receiver.requests] == [500, 500, 200]
    last = receiver.requests[-1]
    body, headers = last["body"], last["headers"]
    assert verify(body, SECRET, headers["X-Novelcrew-Signature"])
    assert headers["X-Novelcrew-Signature"] == sign(body, SECRET)
    assert not verify(body + b" ", SECRET, headers["X-Novelcrew-Signature"])
    assert headers["X-Novelcrew-Event"] == "job.succeeded"
    assert headers["X-Novelcrew-Job-Id"] == job.id
    record = json.loads(body)
    assert record["id"] == job.id and record["status"] == "succeeded"
    assert record["result"] == {"words": {"words": 3}}
    assert "inputs" not in record  # the story stays with whoever sent it
    assert len({r["headers"]["X-Novelcrew-Delivery"] for r in receiver.requests}) == 1
    events = await store.events(job.id)
    assert events[-1].type == "succeeded"


@pytest.mark.parametrize("receiver", [[503]], indirect=True)
async def test_a_delivery_that_keeps_failing_is_counted_not_added_to_the_job(
    tmp_path: Path, receiver: Receiver
) -> None:
    before = webhook_counts()["failed"]
    job, store = await run_job(tmp_path, receiver.url)
    await drain_webhooks(timeout=10)
    assert len(receiver.requests) == 4  # the first try and webhook_retries=3 retries
    assert webhook_counts()["failed"] == before + 1
    events = await store.events(job.id)
    assert events[-1].type == "succeeded"
    assert (await store.get(job.id)).status is JobStatus.succeeded  # type: ignore[union-attr]


@pytest.mark.parametrize("receiver", [[404, 200]], indirect=True)
async def test_a_client_error_is_final(tmp_path: Path, receiver: Receiver) -> None:
    job = Job(crews=["words"], status=JobStatus.failed, webhook_url=receiver.url)
    assert await deliver_webhook(job, settings(tmp_path)) is False
    assert [r["status"] for r in receiver.requests] == [404]
    assert receiver.requests[0]["headers"]["X-Novelcrew-Event"] == "job.failed"


async def test_connection_errors_are_retried(tmp_path: Path) -> None:
    port = free_port()
    job = Job(crews=["words"], status=JobStatus.cancelled,
              webhook_url=f"http://127.0.0.1:{port}/nobody-listens")
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await deliver_webhook(job, settings(tmp_path, webhook_retries=2,
                                               webhook_backoff_seconds=0.1)) is False
    assert loop.time() - started >= 0.3  # waited 0.1 then 0.2 between the three tries


async def test_no_secret_means_no_signature_header(tmp_path: Path, receiver: Receiver) -> None:
    job = Job(crews=["words"], status=JobStatus.succeeded, webhook_url=receiver.url)
    ok = await deliver_webhook(job, settings(tmp_path, webhook_secret=None))
    assert ok is True
    assert all("X-Novelcrew-Signature" not in r["headers"] for r in receiver.requests)


async def test_a_cancelled_job_sends_its_webhook(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [200]
    job, _ = await run_job(tmp_path, receiver.url, cancel_requested=True)
    assert job.status is JobStatus.cancelled
    await drain_webhooks(timeout=10)
    assert [r["headers"]["X-Novelcrew-Event"] for r in receiver.requests] == ["job.cancelled"]


async def test_the_example_receiver_accepts_signed_deliveries_and_rejects_others(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "examples" / "client" / "webhook_receiver.py"
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), "--port", str(port),
                             "--secret", SECRET], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/hooks"
        job = Job(crews=["words"], status=JobStatus.failed, webhook_url=url,
                  error={"type": "timeout", "message": "too slow"})  # type: ignore[arg-type]
        assert await deliver_webhook(job, settings(tmp_path)) is True
        line = json.loads(proc.stdout.readline())
        assert line == {"event": "job.failed", "job_id": job.id, "status": "failed",
                        "crews": ["words"], "error": {"type": "timeout", "message": "too slow",
                                                      "crew": None, "details": {}}}
        wrong = settings(tmp_path, webhook_secret="not-the-secret")
        assert await deliver_webhook(job, wrong) is False
        assert json.loads(proc.stdout.readline()) == {"rejected": "bad signature"}
    finally:
        stop_process(proc, 10)


async def wait_for(predicate: Any, timeout: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("receiver", [[503]], indirect=True)
async def test_a_delivery_cut_short_by_a_stop_is_sent_again_on_start(
    tmp_path: Path, receiver: Receiver
) -> None:
    from novelcrew.backends.inline import InlineBackend

    plugins = load(allow=[], include_entry_points=False)
    register_module(plugins, Crews(), "crews")
    s = settings(tmp_path, webhook_backoff_seconds=30.0)

    first = InlineBackend(plugins, s)
    first.webhook_drain_seconds = 0.1
    await first.start()
    job = await first.submit(Job(crews=["words"], inputs={"story_text": "a b"},
                                 webhook_url=receiver.url))
    await wait_for(lambda: len(receiver.requests) == 1)  # then it waits 30 s to retry
    assert (await first.get(job.id)).status is JobStatus.succeeded
    await first.stop()

    receiver.statuses = [200]
    second = InlineBackend(plugins, s)
    await second.start()
    try:
        await asyncio.wait_for(asyncio.to_thread(receiver.got.wait, 10), 15)
        await drain_webhooks(timeout=5)
    finally:
        await second.stop()
    assert len(receiver.requests) == 2
    again = receiver.requests[1]
    assert json.loads(again["body"])["id"] == job.id
    assert verify(again["body"], SECRET, again["headers"]["X-Novelcrew-Signature"])
    delivery_ids = {r["headers"]["X-Novelcrew-Delivery"] for r in receiver.requests}
    assert len(delivery_ids) == 1, "a redelivery must carry the same delivery id"

    third = InlineBackend(plugins, s)  # settled now: nothing is sent again
    await third.start()
    await asyncio.sleep(0.3)
    await third.stop()
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("receiver", [[410]], indirect=True)
async def test_a_final_answer_is_not_sent_again(tmp_path: Path, receiver: Receiver) -> None:
    from novelcrew.backends.inline import InlineBackend

    plugins = load(allow=[], include_entry_points=False)
    register_module(plugins, Crews(), "crews")
    s = settings(tmp_path)
    first = InlineBackend(plugins, s)
    await first.start()
    await first.submit(Job(crews=["words"], inputs={"story_text": "a"},
                           webhook_url=receiver.url))
    await wait_for(lambda: len(receiver.requests) == 1)
    await drain_webhooks(timeout=5)
    await first.stop()
    second = InlineBackend(plugins, s)
    await second.start()
    await asyncio.sleep(0.3)
    await second.stop()
    assert [r["status"] for r in receiver.requests] == [410]


# targets ------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "http://\x01bad/hook", "ftp://example.com/x", "http:///nohost", "http://a b/c",
    "http://user:pw@example.com/hook", "not a url",
])
async def test_a_malformed_webhook_url_is_refused(url: str) -> None:
    with pytest.raises(WebhookTargetRefused):
        await check_target(url)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook", "http://192.168.0.1/",
    "http://172.16.0.1/", "http://0.0.0.0/", "http://224.0.0.1/", "http://100.64.0.1/",
])
async def test_a_non_public_target_is_refused_by_default(url: str) -> None:
    # checked without sending anything: only the address is looked at
    with pytest.raises(WebhookTargetRefused, match="non-public"):
        await check_target(url)


async def test_the_allow_list_admits_hosts_and_networks() -> None:
    assert str((await check_target("http://127.0.0.1:9/h", ["127.0.0.0/8"])).address) \
        == "127.0.0.1"
    target = await check_target("http://localhost:9/h", ["localhost"])
    assert target.address.is_loopback
    with pytest.raises(WebhookTargetRefused):
        await check_target("http://127.0.0.1:9/h", ["10.0.0.0/8", "example.com"])


async def test_a_public_address_literal_is_accepted_without_sending_anything() -> None:
    target = await check_target("https://93.184.215.14/hook")
    assert str(target.address) == "93.184.215.14"


async def test_delivery_to_loopback_is_refused_unless_allowed(
        tmp_path: Path, receiver: Receiver) -> None:
    job = Job(crews=["words"], webhook_url=receiver.url, status=JobStatus.succeeded)
    refused = await deliver_webhook(job, settings(tmp_path, webhook_allow=[]))
    assert refused is False and receiver.requests == []
    assert await deliver_webhook(job, settings(tmp_path)) is True
    # delivered to the pinned address with the original host name kept
    assert receiver.requests[-1]["headers"]["Host"].startswith("127.0.0.1:")


async def test_redirects_are_not_followed(tmp_path: Path) -> None:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        job = Job(crews=["words"], webhook_url=url, status=JobStatus.succeeded)
        assert await deliver_webhook(job, settings(tmp_path)) is False
        assert hits == ["/hook"]
    finally:
        server.shutdown()
        server.server_close()


async def count_words_in_pieces(ctx: RunContext, inputs: In) -> Out:
    words = inputs.story_text.split()
    for i, word in enumerate(words, 1):
        await ctx.publish_partial("scene", i, {"word": word}, total=len(words))
    return Out(words=len(words))


class PieceCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="pieces", description="Publishes a piece per word.",
                      input_model=In, output_model=Out, run=count_words_in_pieces))


@pytest.mark.parametrize("receiver", [[200]], indirect=True)
@pytest.mark.parametrize("opted_in", [True, False])
async def test_pieces_are_posted_as_they_finish_when_the_job_asks(
    tmp_path: Path, receiver: Receiver, opted_in: bool
) -> None:
    plugins = load(allow=[], include_entry_points=False)
    register_module(plugins, PieceCrews(), "pieces")
    store = MemoryStore()
    job = Job(crews=["pieces"], inputs={"story_text": "a b"}, webhook_url=receiver.url,
              config={"webhook_partial": True} if opted_in else {})
    await store.create(job)
    outcome = await JobRunner(plugins, settings(tmp_path), store).run(job.id)
    assert outcome.job.status == JobStatus.succeeded
    await drain_webhooks(10)
    kinds = [r["headers"]["X-Novelcrew-Event"] for r in receiver.requests]
    if not opted_in:  # only the job's end, as before
        assert kinds == ["job.succeeded"]
        return
    assert sorted(kinds) == ["job.partial", "job.partial", "job.succeeded"]
    pieces = [r for r in receiver.requests if r["headers"]["X-Novelcrew-Event"] == "job.partial"]
    bodies = sorted((json.loads(r["body"]) for r in pieces), key=lambda b: b["event"]["seq"])
    assert [b["event"]["data"]["item"] for b in bodies] == [{"word": "a"}, {"word": "b"}]
    assert {b["job_id"] for b in bodies} == {job.id}
    assert bodies[0]["event"]["type"] == "partial"
    assert bodies[0]["event"]["data"]["total"] == 2
    for request in pieces:  # signed like the final delivery, and told apart by delivery id
        assert verify(request["body"], SECRET, request["headers"]["X-Novelcrew-Signature"])
    assert len({r["headers"]["X-Novelcrew-Delivery"] for r in receiver.requests}) == 3
