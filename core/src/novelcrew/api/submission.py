"""Checking a job before it is queued, shared by ``POST /jobs`` and ``POST /crews/execute``.

A job that cannot run is refused here, with the status the client can act on, rather than
queued to fail later: unknown crew (404), story over the limit (413), a required tool no
plugin provides (503, the operator's to fix), inputs the crews' models reject (422), a
``webhook_url`` that is malformed or whose host resolves to a non-public address not in
``NOVELCREW_WEBHOOK_ALLOW`` (422: delivery would refuse it anyway, and only after the job ran).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from fastapi import Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field, ValidationError, field_validator

from novelcrew import metrics, webhooks
from novelcrew.api import idempotency
from novelcrew.api.errors import clean_validation_errors
from novelcrew.backends.base import IdempotencyClaim, JobBackend
from novelcrew.errors import InvalidInput, StoryTooLarge
from novelcrew.jobs import Job, JobCreate
from novelcrew.llm.sampling import JobSampling, config_errors, whole_number
from novelcrew.plugins import Plugins
from novelcrew.runner import build_inputs, check_crew_config
from novelcrew.settings import Settings
from novelcrew.specs import Crew

if TYPE_CHECKING:
    from novelcrew.registry import Registry

log = structlog.get_logger("novelcrew.jobs")

STORY_FIELD = "story_text"
#: how long the host of a ``webhook_url`` may take to resolve at submission
WEBHOOK_RESOLVE_SECONDS = 5.0
#: how deep pydantic's JSON parser reads a stored record: a body nested deeper would be
#: accepted and then never read back
MAX_DEPTH = 200


def check_story_size(inputs: dict[str, Any], settings: Settings) -> None:
    story = inputs.get(STORY_FIELD)
    if isinstance(story, str) and len(story) > settings.max_story_chars:
        raise StoryTooLarge(
            f"{STORY_FIELD} has {len(story)} characters; the limit is {settings.max_story_chars}",
            {"chars": len(story), "limit": settings.max_story_chars},
        )


def check_unicode(body: JobCreate) -> None:
    """JSON may carry lone surrogates (``"\\ud800"``), which no store can write as UTF-8.

    orjson checks in microseconds what ``json.dumps`` takes tens of; it also refuses what is
    still fine here (integers past 64 bits), so its refusal is confirmed the slow way."""
    for name in ("inputs", "config"):
        value = getattr(body, name)
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError:
            try:
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidInput(
                    f"{name} holds text that is not valid Unicode (a lone surrogate)",
                    {"errors": [{"loc": [name], "msg": str(exc.reason),
                                 "type": "string_unicode"}]},
                ) from None


def check_json_values(body: JobCreate) -> None:
    """Refuse, as malformed JSON, what Python's JSON parser accepts and no store or client
    can read back: ``NaN`` and ``Infinity`` (not JSON, RFC 8259), and nesting deeper than
    ``MAX_DEPTH``."""
    problem: str | None = None
    stack: list[tuple[Any, int]] = [(body.inputs, 2), (body.config, 2)]
    while stack and problem is None:
        value, depth = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            problem = ("NaN" if math.isnan(value) else
                       "Infinity" if value > 0 else "-Infinity") + " is not a JSON value"
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                problem = f"nested deeper than {MAX_DEPTH} levels"
            else:
                stack.extend((child, depth + 1) for child in
                             (value.values() if isinstance(value, dict) else value))
    if problem is not None:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                       "msg": f"JSON decode error: {problem}", "input": None}])


def check_inputs(crews: list[Crew], job: Job) -> None:
    """Validate each stage's input model; a later stage's ``previous`` is not known yet."""
    previous: dict[str, Any] = {}
    for index, crew in enumerate(crews):
        try:
            build_inputs(crew.input_model, job, previous)
        except InvalidInput as exc:
            errors = exc.details.get("errors", [])
            if index > 0:
                errors = [e for e in errors if (e.get("loc") or ("",))[0] != "previous"]
            if errors:
                raise InvalidInput(
                    f"invalid inputs for crew {crew.name!r}: {len(errors)} error(s)",
                    {"crew": crew.name, "errors": clean_validation_errors(errors)},
                ) from exc
        previous[crew.name] = {}


def prepare(body: JobCreate, plugins: Plugins, settings: Settings) -> tuple[Job, list[Crew]]:
    """The job record for ``body``, or the error that explains why it cannot run."""
    check_json_values(body)
    registry = plugins.registry
    crews = registry.check_chain(body.crews)
    check_story_size(body.inputs, settings)
    check_unicode(body)
    for crew in crews:
        for name in registry.missing_tools(crew):
            registry.tool(name, wanted_by=crew.name)  # raises ToolMissing naming the plugins
    check_config(crews, body.config, registry)
    job = Job.from_create(body)
    check_inputs(crews, job)
    return job, crews


async def check_webhook(url: str | None, settings: Settings) -> None:
    """Refuse (422) a webhook target delivery would refuse (``webhooks.check_target``).

    The host is resolved in the event loop's resolver thread, never on the loop itself, and
    for at most ``WEBHOOK_RESOLVE_SECONDS``."""
    if url is None:
        return
    try:
        async with asyncio.timeout(WEBHOOK_RESOLVE_SECONDS):
            await webhooks.check_target(url, settings.webhook_allow)
    except webhooks.WebhookTargetRefused as exc:
        raise InvalidInput(str(exc), {"field": "webhook_url"}) from None
    except TimeoutError:
        raise InvalidInput(
            f"webhook_url host did not resolve within {WEBHOOK_RESOLVE_SECONDS:g}s",
            {"field": "webhook_url"}) from None


class JobOptions(JobSampling):
    """The job ``config`` keys core reads; any other key is kept for the crews (a crew's own
    ``config_model`` checks those). Checked at submission, not when the job runs: a job
    queued with ``temperature: 5`` would otherwise fail minutes later, after the client was
    told 202."""

    model: str | None = Field(None, min_length=1, strict=True,
                              description="Model id for every agent of the job, e.g. offline.")
    cache: bool | None = Field(None, strict=True,
                               description="false: this job's calls skip the response cache.")
    webhook_partial: bool | None = Field(None, strict=True,
                                         description="Send each crew's result as it ends.")
    max_cost_usd: float | None = Field(None, ge=0, strict=True,
                                       description="Stop the job once it cost this much (USD).")
    max_tokens_total: int | None = Field(None, ge=1, strict=True,
                                         description="Stop the job once it used this many tokens.")

    _whole_total = field_validator("max_tokens_total", mode="before")(whole_number)


def check_config(crews: list[Crew], config: dict[str, Any], registry: Registry) -> None:
    """422 for every bad config value at once: the keys core reads (``JobOptions``), a model
    id no provider serves, and each crew's ``config_model`` (the options that crew reads), so
    a client fixes them in one round, not core's and then a crew's. ``details.errors`` lists
    each problem once with its ``loc`` from ``config`` (a crew's also name the ``crew``);
    ``details.config`` names the first key, as before."""
    errors: list[dict[str, Any]] = []
    try:
        JobOptions.model_validate(config)
    except ValidationError as exc:
        errors = config_errors(exc)
    details: dict[str, Any] = {}
    model = config.get("model")
    if isinstance(model, str) and model:
        try:
            registry.model_provider(model)
        except InvalidInput as exc:
            details["model"] = model
            errors.append({"loc": ["config", "model"], "msg": exc.message,
                           "type": "model_provider_unknown"})
    for crew in crews:
        try:
            check_crew_config(crew, config)
        except InvalidInput as exc:
            seen = [e["loc"] for e in errors]  # core's bound, or an earlier crew's, is named
            errors += [{**e, "crew": crew.name} for e in exc.details["errors"]
                       if e["loc"] not in seen]
    if not errors:
        return
    crew_named = next((e["crew"] for e in errors if "crew" in e), None)
    if crew_named is not None:
        details["crew"] = crew_named
    # the answer's message names each field and its problem (api/errors.py)
    message = ("invalid config" if "crew" not in errors[0]
               else f"invalid config for crew {errors[0]['crew']!r}")
    first = str((errors[0]["loc"][1:] or ["config"])[0])
    raise InvalidInput(message, {"config": first, **details, "errors": errors})


async def submit(body: JobCreate, plugins: Plugins, settings: Settings,
                 backend: JobBackend, tenant: str | None, response: Response, *,
                 idempotency_key: str | None = None, route: str = "") -> tuple[Job, list[Crew]]:
    """Check and queue the job ``body`` asks for; with an ``Idempotency-Key`` (the header's
    value), the job an earlier request with that key and body created, if there is one
    (``idempotency.py``), marked as replayed on ``response``. ``route`` tells the routes'
    requests apart in the fingerprint."""
    idempotency_key = idempotency.parse(idempotency_key)
    job, crews = prepare(body, plugins, settings)
    job.tenant = tenant
    key, claim = None, None
    if idempotency_key is not None:
        key = idempotency.scoped(tenant, idempotency_key)
        claim = IdempotencyClaim(fingerprint=idempotency.fingerprint(route, body), job_id=job.id)
        held = await backend.store.claim_idempotency_key(key, claim, idempotency.PENDING_SECONDS)
        if held is not None:
            first = await idempotency.replay(backend, idempotency_key, key, held, claim)
            if first is not None:
                log.info("job_replayed", job_id=first.id)
                response.headers[idempotency.REPLAYED_HEADER] = "true"
                return first, crews
    try:
        await check_webhook(body.webhook_url, settings)
        job = await backend.submit(job)
    except BaseException:
        if key is not None:  # free the key: a retry may try again
            with contextlib.suppress(Exception):
                await backend.store.keep_idempotency_key(key, job.id, 0)
        raise
    if key is not None:
        try:
            await backend.store.keep_idempotency_key(key, job.id,
                                                     settings.idempotency_ttl_seconds)
        except Exception as exc:  # the job is queued: the claim lasts PENDING_SECONDS only
            log.warning("idempotency_key_not_kept", job_id=job.id,
                        error=f"{type(exc).__name__}: {exc}")
    metrics.JOBS_SUBMITTED.labels(metrics.chain_label(job.crews)).inc()
    story = job.inputs.get(STORY_FIELD)
    log.info("job_submitted", job_id=job.id, crews=job.crews, project_id=job.project_id,
             story_chars=len(story) if isinstance(story, str) else None)
    return job, crews
