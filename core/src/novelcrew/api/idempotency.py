"""``Idempotency-Key`` on the routes that create a job (``POST /jobs``, ``POST /crews/execute``,
``POST /jobs/{id}/retry``).

A client that retries a submission after a timeout must not start (and pay for) the crews a
second time. Following the IETF draft "The Idempotency-Key HTTP Header Field": a request that
repeats a key its tenant used within ``NOVELCREW_IDEMPOTENCY_TTL_SECONDS`` gets the first
request's job back and creates nothing; the same key with another body is refused with 422
(``idempotency_key_reused``); a repeat that arrives while the first is still being accepted
waits for it, and gets 409 (``idempotency_key_in_use``) if it takes longer than
``WAIT_SECONDS``.

The key is claimed in the job store (``JobStore.claim_idempotency_key``: one atomic insert,
so two racing requests cannot both win) after the request passed its checks, first for
``PENDING_SECONDS``: a process that dies before its job is stored frees the key soon. Once the
job is stored the claim is kept for the full TTL; a submission that fails releases it, so a
retry may try again (a repeat already waiting for it takes the key over). Keys are scoped to
the tenant of the request's API key (admin keys and a server without keys share one scope):
another tenant's key never matches. A header that names no one key (empty, only whitespace,
a stray quote, over ``MAX_KEY_CHARS``, sent twice) is refused with 400 (``invalid_idempotency_key``)
before anything is claimed or queued.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from typing import Annotated, NoReturn

from fastapi import Depends, Header, Request

from novelcrew.backends.base import IdempotencyClaim, JobBackend
from novelcrew.errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidIdempotencyKey
from novelcrew.jobs import Job, JobCreate

HEADER = "Idempotency-Key"
#: the longest key taken (Stripe's limit), not counting the quotes of a structured-field string
MAX_KEY_CHARS = 255
#: how long a claim lasts before its job is stored
PENDING_SECONDS = 60.0
#: how long a repeat waits for the first request's job to be stored (a webhook host's
#: resolution, 5 s at most, comes between the claim and the job); a repeat that waited this
#: long in vain is told to come back after as long again (``Retry-After``): by then the first
#: has had twice the time, and a repeat that arrives sooner only waits here anyway
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
#: the response header that marks a replayed answer (as Stripe sends it)
REPLAYED_HEADER = "Idempotent-Replayed"

HEADER_DOC = (
    "Makes the submission safe to retry: a request that repeats a key (with the same body) "
    "within NOVELCREW_IDEMPOTENCY_TTL_SECONDS (24 h by default) gets the first request's job "
    "back, with `Idempotent-Replayed: true`, and creates nothing. The same key with another "
    "body is refused (422, `idempotency_key_reused`). 1-255 characters, e.g. a UUID; a "
    "quoted string (`\"...\"`, the draft's form) is taken without its quotes. A value that "
    "names no one key (empty, only whitespace, a stray quote, sent twice) is refused (400, "
    "`invalid_idempotency_key`)."
)

#: what a 409 from a submitting route means, for the OpenAPI document
IN_USE_DOC = ("`idempotency_key_in_use`: the request that first sent this Idempotency-Key is "
              f"still being accepted after {WAIT_SECONDS:g} s; retry after the `Retry-After` "
              "header's seconds")
#: the ``Retry-After`` header of that 409, for the OpenAPI document
IN_USE_HEADERS = {"Retry-After": {
    "description": "Seconds to wait before sending the request again (with the same key)",
    "schema": {"type": "integer"}}}


def _one_header(request: Request, value: Annotated[str | None, Header(
        alias=HEADER, description=HEADER_DOC)] = None) -> str | None:
    """The header's value, sent once: FastAPI would take the first of two lines, and a proxy
    may fold them into one list, another key again, so the same request could make two jobs.
    The value is checked by ``parse`` (FastAPI's 422 would call a bad header invalid input)."""
    if len(request.headers.getlist(HEADER)) > 1:
        _refuse("was sent more than once", "repeated")
    return value


#: a submitting route's parameter: the header's one value, or None
IdempotencyKeyHeader = Annotated[str | None, Depends(_one_header)]

#: an RFC 8941 string (the draft's form): printable ASCII in quotes, ``\"`` and ``\\`` escaped
SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
SF_ESCAPE = re.compile(r'\\(["\\])')


def parse(value: str | None) -> str | None:
    """The key a header value names: a bare token (as most clients send a UUID), or an RFC
    8941 string unquoted and unescaped. A value naming no key is refused (400), not taken as
    a key every client sending the same mistake would share."""
    if value is None:
        return None
    raw = value.strip(" \t")
    if raw.startswith('"'):
        string = SF_STRING.fullmatch(raw)
        if string is None:
            _refuse("is not a well-formed quoted string (a quote at each end, and \\\" for a "
                    "quote inside)", "malformed_string")
        key = SF_ESCAPE.sub(r"\1", string.group(1))
    elif '"' in raw:
        _refuse("has a stray quote (quote the key at both ends, or not at all)",
                "malformed_string")
    elif "," in raw:  # two header lines folded into one by a proxy, or a list
        _refuse("holds a list (a comma outside quotes)", "list")
    else:
        key = raw
    if not key.strip():
        _refuse("names no key (it is empty or only whitespace)", "empty")
    if len(key) > MAX_KEY_CHARS:
        _refuse(f"is longer than {MAX_KEY_CHARS} characters", "too_long")
    return key


def _refuse(why: str, reason: str) -> NoReturn:
    raise InvalidIdempotencyKey(
        f"the {HEADER} header {why}; send one key of 1 to {MAX_KEY_CHARS} characters, e.g. a "
        'UUID, bare or as a quoted string ("...")',
        {"header": HEADER, "reason": reason})


def scoped(tenant: str | None, key: str) -> str:
    """The key as stored: a digest of the tenant and the key (bounded, and a key never
    matches another tenant's)."""
    return hashlib.sha256(json.dumps([tenant, key]).encode()).hexdigest()


def fingerprint(route: str, body: JobCreate) -> str:
    """A digest of what the request asks for, independent of its JSON's key order and
    spacing."""
    text = json.dumps([route, body.model_dump(mode="json")], sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


async def replay(backend: JobBackend, key: str, scoped_key: str, held: IdempotencyClaim,
                 claim: IdempotencyClaim) -> Job | None:
    """The job of the request that holds ``key``, once it is stored; None when that request
    was refused and freed the key while this one waited, and this one now holds it (it is
    then checked and submitted afresh, not told 409 after ``WAIT_SECONDS``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        if held.fingerprint != claim.fingerprint:
            raise IdempotencyKeyReused(
                f"{HEADER} {key[:100]!r} was already used with a different request body "
                f"(job {held.job_id}); send a new key for a new request",
                {"idempotency_key": key[:100], "job_id": held.job_id})
        if (job := await backend.store.get(held.job_id)) is not None:
            return job
        if loop.time() >= deadline:
            raise IdempotencyKeyInUse(
                f"the request that first sent {HEADER} {key[:100]!r} is still being "
                f"accepted; retry in {math.ceil(WAIT_SECONDS)}s",
                retry_after=WAIT_SECONDS, details={"idempotency_key": key[:100]})
        await asyncio.sleep(POLL_SECONDS)
        holder = await backend.store.claim_idempotency_key(scoped_key, claim, PENDING_SECONDS)
        if holder is None:
            return None
        held = holder
