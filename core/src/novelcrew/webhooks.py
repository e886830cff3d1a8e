"""Webhooks: when a job that carries ``webhook_url`` ends, POST its record there.

The body is the job record as JSON, as ``GET /jobs/{id}`` shows it (without the inputs: the
story can be megabytes, and the sender has it). ``X-Novelcrew-Signature: sha256=<hex>`` is the
HMAC-SHA256 of those exact bytes under ``settings.webhook_secret`` (left out when no secret is
set), so a receiver verifies before it parses. ``X-Novelcrew-Delivery`` is derived from the
job id and its final status, so it is the same on every retry and redelivery and receivers can
drop duplicates. Delivery runs in the background and never delays or fails the job: connection
errors, timeouts, 429 and 5xx are retried with exponential backoff (``webhook_retries`` times);
any other answer is final. A delivery that finally fails is logged and counted
(``webhook_counts()``): the job's event log is closed by its terminal event.

Targets are checked twice (``check_target``): at submission, so a malformed URL or one whose
host resolves to a loopback, link-local, private, multicast or reserved address is refused with
422 before anything runs; and at delivery, where the connection goes to the very address that
was checked (the URL's host is pinned to it, with the original name kept for ``Host`` and TLS),
so a DNS answer that changes between the check and the connection cannot redirect it
(rebinding). Redirects are never followed. ``NOVELCREW_WEBHOOK_ALLOW`` (host names and CIDRs)
admits in-cluster targets such as the Novel Movie app.

A job whose ``config`` has ``webhook_partial: true`` also gets each ``partial`` event (a
finished chunk analysis, scene plan or storyboard scene) at the same URL as it happens:
``X-Novelcrew-Event: job.partial``, the body ``{"job_id", "event"}`` with the event as the SSE
stream carries it, the delivery id derived from the job, crew, kind and key. These go out with
the same retries but are not remembered across a restart (the job record holds every piece).

A store that offers ``webhook_finished`` (an outbox, e.g. ``SQLiteStore``) is told when a
delivery is settled, delivered or not; one cut short by a shutdown or a crash stays unsettled,
and the inline backend delivers it again when it starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx
import structlog
import tenacity

if TYPE_CHECKING:
    from novelcrew.jobs import Job, JobEvent
    from novelcrew.settings import Settings

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Novelcrew-Signature"
EVENT_HEADER = "X-Novelcrew-Event"
JOB_HEADER = "X-Novelcrew-Job-Id"
DELIVERY_HEADER = "X-Novelcrew-Delivery"
ATTEMPT_TIMEOUT = 10.0
MAX_BACKOFF = 60.0

_pending: set[asyncio.Task[bool]] = set()
_counts: Counter[str] = Counter()


class WebhookOutbox(Protocol):
    """Where settled deliveries are recorded (so unsettled ones can be sent again)."""

    async def webhook_finished(self, job_id: str, delivered: bool, detail: str) -> None: ...


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookTargetRefused(ValueError):
    """A webhook URL that is malformed or points where deliveries must not go."""


@dataclass(frozen=True)
class Target:
    """A checked webhook target: the URL, and the address deliveries connect to."""

    url: httpx.URL
    address: IPAddress


def parse_url(url: str) -> httpx.URL:
    """The URL as httpx reads it, or ``WebhookTargetRefused`` saying what is wrong with it."""
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise WebhookTargetRefused("webhook_url contains spaces or control characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise WebhookTargetRefused(f"webhook_url is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise WebhookTargetRefused("webhook_url must be an http:// or https:// URL")
    if not parsed.host:
        raise WebhookTargetRefused("webhook_url has no host")
    if parsed.userinfo:
        raise WebhookTargetRefused("webhook_url must not carry credentials; use the signature")
    return parsed


def _public(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


def _allowed(host: str, address: IPAddress, allow: Sequence[str]) -> bool:
    for entry in allow:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            if entry == host.lower().rstrip("."):
                return True
    return False


async def check_target(url: str, allow: Sequence[str] = ()) -> Target:
    """Parse and resolve ``url``; refuse it unless every address it resolves to is public or
    allow-listed. The first address is the one deliveries connect to."""
    parsed = parse_url(url)
    host = parsed.host
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, parsed.port or None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise WebhookTargetRefused(f"webhook_url host {host!r} does not resolve: {exc}") \
                from None
        addresses = list(dict.fromkeys(  # each once, in the resolver's order
            ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
        if not addresses:
            raise WebhookTargetRefused(f"webhook_url host {host!r} does not resolve")
    for address in addresses:
        if not _public(address) and not _allowed(host, address, allow):
            raise WebhookTargetRefused(
                f"webhook_url host {host!r} resolves to {address}, a non-public address; "
                "allow it with NOVELCREW_WEBHOOK_ALLOW if it is an in-cluster receiver"
            )
    return Target(url=parsed, address=addresses[0])


def pinned_request(client: httpx.AsyncClient, target: Target, body: bytes,
                   headers: dict[str, str]) -> httpx.Request:
    """A POST to ``target`` that connects to its checked address, not to a new DNS answer.

    The URL's host is replaced by the address; ``Host`` keeps the name, and for HTTPS the
    ``sni_hostname`` request extension makes TLS send and verify the original name.
    """
    host = target.url.host
    ip = str(target.address)
    extensions = {"sni_hostname": host} if target.url.scheme == "https" else {}
    pinned = target.url.copy_with(host=ip)
    host_header = host if target.url.port is None else f"{host}:{target.url.port}"
    return client.build_request("POST", pinned, content=body,
                                headers={**headers, "Host": host_header},
                                extensions=extensions)


def delivery_id(job: Job) -> str:
    """The same for every attempt to tell about one job's end (receivers dedupe on it)."""
    return hashlib.sha256(f"{job.id}:{job.status.value}".encode()).hexdigest()[:32]


def sign(body: bytes, secret: str) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _worth_retrying(exc: BaseException) -> bool:
    """Connection errors, timeouts, 429 and 5xx; not other answers, nor a refused target."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.HTTPError)


def _problem(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, WebhookTargetRefused):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


async def deliver_webhook(job: Job, settings: Settings) -> bool:
    """POST ``job`` to its ``webhook_url`` with retries; True when the receiver took it (2xx)."""
    return (await _deliver(job, settings))[0]


async def _deliver(job: Job, settings: Settings,
                   partial: JobEvent | None = None) -> tuple[bool, str]:
    url = job.webhook_url
    if not url:
        return False, "no webhook_url"
    if partial is None:
        body = job.model_dump_json(exclude={"inputs"}).encode()  # as GET /jobs/{id} shows it
        event, delivery = f"job.{job.status.value}", delivery_id(job)
    else:
        body = json.dumps({"job_id": job.id, "event": partial.model_dump(mode="json")},
                          ensure_ascii=False).encode()
        event = "job.partial"
        delivery = hashlib.sha256(
            f"{job.id}:partial:{partial.crew}:{partial.data.get('kind')}:"
            f"{partial.data.get('key')}".encode()).hexdigest()[:32]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "novelcrew-webhook",
        EVENT_HEADER: event,
        JOB_HEADER: job.id,
        DELIVERY_HEADER: delivery,
    }
    if settings.webhook_secret is not None:
        headers[SIGNATURE_HEADER] = sign(body, settings.webhook_secret.get_secret_value())

    def retrying(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        assert exc is not None and state.next_action is not None  # retried only on errors
        log.info("webhook_retrying", job_id=job.id, problem=_problem(exc),
                 attempt=state.attempt_number, retry_in=state.next_action.sleep)

    policy = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(max(0, settings.webhook_retries) + 1),
        wait=tenacity.wait_exponential(
            multiplier=settings.webhook_backoff_seconds, max=MAX_BACKOFF),
        retry=tenacity.retry_if_exception(_worth_retrying),
        before_sleep=retrying,
        reraise=True,
    )
    async with httpx.AsyncClient(timeout=ATTEMPT_TIMEOUT, follow_redirects=False) as client:

        async def attempt() -> httpx.Response:
            # checked again at every attempt: the address connected to is the one checked
            target = await check_target(url, settings.webhook_allow)
            response = await client.send(pinned_request(client, target, body, headers))
            return response.raise_for_status()  # any answer but 2xx is a failed attempt

        try:
            response: httpx.Response = await policy(attempt)
        except (WebhookTargetRefused, httpx.HTTPError) as exc:
            problem = _problem(exc)
        else:
            _counts["delivered"] += 1
            log.info("webhook_delivered", job_id=job.id, webhook_event=event,
                     status=response.status_code, attempt=policy.statistics["attempt_number"])
            return True, f"HTTP {response.status_code}"
    _counts["failed"] += 1
    log.warning("webhook_failed", job_id=job.id, webhook_event=event, problem=problem,
                url=_redacted(url))
    return False, problem


def schedule_webhook(job: Job, settings: Settings,
                     outbox: WebhookOutbox | None = None) -> asyncio.Task[bool] | None:
    """Deliver in the background (the caller does not wait); None when there is no URL.

    ``outbox`` (if given) is told once the delivery is settled.
    """
    if not job.webhook_url:
        return None
    snapshot = job.model_copy(deep=True)
    task = asyncio.get_running_loop().create_task(
        _guarded(snapshot, settings, outbox), name=f"webhook-{job.id}"
    )
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return task


def schedule_partial_webhook(job: Job, event: JobEvent,
                             settings: Settings) -> asyncio.Task[bool] | None:
    """Send one ``partial`` event to the job's webhook in the background (best effort)."""
    if not job.webhook_url:
        return None
    snapshot = job.model_copy(update={"partial": {}, "result": {}})
    task = asyncio.get_running_loop().create_task(
        _partial_guarded(snapshot, event, settings), name=f"webhook-partial-{job.id}")
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return task


async def _partial_guarded(job: Job, event: JobEvent, settings: Settings) -> bool:
    try:
        return (await _deliver(job, settings, partial=event))[0]
    except Exception as exc:  # never let a delivery bug surface anywhere else
        _counts["failed"] += 1
        log.error("webhook_error", job_id=job.id, error=f"{type(exc).__name__}: {exc}")
        return False


async def _guarded(job: Job, settings: Settings, outbox: WebhookOutbox | None) -> bool:
    try:
        delivered, detail = await _deliver(job, settings)
    except asyncio.CancelledError:
        _counts["abandoned"] += 1
        log.warning("webhook_abandoned", job_id=job.id, reason="shutdown")
        raise
    except Exception as exc:  # never let a delivery bug surface anywhere else
        _counts["failed"] += 1
        # no traceback: its frames hold the job (story text, results) and the settings
        log.error("webhook_error", job_id=job.id, error=f"{type(exc).__name__}: {exc}")
        delivered, detail = False, f"{type(exc).__name__}: {exc}"
    if outbox is not None:
        try:
            await outbox.webhook_finished(job.id, delivered, detail)
        except Exception as exc:  # e.g. the store closed meanwhile: it is sent again later
            log.warning("webhook_outbox_failed", job_id=job.id,
                        error=f"{type(exc).__name__}: {exc}")
    return delivered


async def drain_webhooks(timeout: float = 10.0) -> None:
    """Wait up to ``timeout`` for deliveries in flight, then abandon the rest (shutdown)."""
    pending = [t for t in _pending if t.get_loop() is asyncio.get_running_loop()]
    if not pending:
        return
    _done, still = await asyncio.wait(pending, timeout=timeout)
    for task in still:
        task.cancel()
    if still:
        await asyncio.gather(*still, return_exceptions=True)


def pending_webhooks() -> int:
    return len(_pending)


def webhook_counts() -> dict[str, int]:
    """Deliveries that succeeded, failed for good, or were abandoned at shutdown."""
    return {key: _counts.get(key, 0) for key in ("delivered", "failed", "abandoned")}


def _redacted(url: str) -> str:
    """The URL without query string or credentials (they may hold tokens)."""
    try:
        parsed = httpx.URL(url)
    except Exception:
        return "<invalid url>"
    return str(parsed.copy_with(query=None, userinfo=b"", fragment=None))
