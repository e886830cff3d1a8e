"""Every exception novelcrew raises on purpose.

    NovelcrewError
    ├── PluginError                 a plugin failed to import or register
    │   └── RegistrationError       bad or clashing registration (names both plugins)
    ├── NotFound                    404
    │   ├── CrewNotFound
    │   ├── JobNotFound
    │   └── ToolMissing             a crew needs a tool no loaded plugin provides
    ├── BadRequest                  400 (a request the server cannot read as sent)
    │   └── InvalidIdempotencyKey   an Idempotency-Key header that names no usable key
    ├── InvalidInput                422 (the job fails at once, never retried)
    │   ├── StoryTooLarge           413
    │   └── IdempotencyKeyReused    an Idempotency-Key sent again with another body
    ├── Unauthorized                401
    ├── RateLimited                 429
    ├── Conflict                    409 (e.g. cancelling a finished job)
    │   ├── ExportUnavailable       the job has nothing an export format is made from
    │   └── IdempotencyKeyInUse     the request that first sent the key is still being accepted
    ├── BackendUnavailable          503 (the job backend or a required dependency is down)
    └── JobError                    a job's run failed
        ├── JobCancelled            the job was cancelled while running
        ├── TransientError          worth retrying: provider outage, lost connection
        ├── ModelError              the model layer gave up (names the models tried)
        │   └── NotRecorded         replaying a recording that lacks this request
        └── BudgetExceeded          the job spent its token or money cap

The API maps each to its status in one place (``api/errors.py``); a job stores its failure as
data (``JobErrorInfo``) rather than re-raising it at whoever reads the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class NovelcrewError(Exception):
    """Base of every novelcrew error."""

    status_code = 500
    error_type = "internal_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class PluginError(NovelcrewError):
    error_type = "plugin_error"


class RegistrationError(PluginError):
    error_type = "registration_error"


class NotFound(NovelcrewError):
    status_code = 404
    error_type = "not_found"


class CrewNotFound(NotFound):
    error_type = "crew_not_found"


class JobNotFound(NotFound):
    error_type = "job_not_found"


class ToolMissing(NotFound):
    error_type = "tool_missing"


class BadRequest(NovelcrewError):
    status_code = 400
    error_type = "bad_request"


class InvalidIdempotencyKey(BadRequest):
    """An ``Idempotency-Key`` header that names no usable key (empty, only whitespace, a stray
    or unbalanced quote, over the length limit): refused rather than taken as a key that a
    client's unrelated requests could share."""

    error_type = "invalid_idempotency_key"


class InvalidInput(NovelcrewError):
    status_code = 422
    error_type = "invalid_input"


class StoryTooLarge(InvalidInput):
    status_code = 413
    error_type = "story_too_large"


class IdempotencyKeyReused(InvalidInput):
    """The ``Idempotency-Key`` was used with another request body (422, as the IETF draft
    says)."""

    error_type = "idempotency_key_reused"


class Unauthorized(NovelcrewError):
    status_code = 401
    error_type = "unauthorized"


class RateLimited(NovelcrewError):
    status_code = 429
    error_type = "rate_limited"

    def __init__(self, message: str, retry_after: float, details: dict[str, Any] | None = None):
        super().__init__(message, details)
        self.retry_after = retry_after


class Conflict(NovelcrewError):
    status_code = 409
    error_type = "conflict"


class ExportUnavailable(Conflict):
    """Raised by an export's ``render`` when the job has nothing the format is made from
    (e.g. a shot list before the director ran): the API answers 409, the CLI exits 1."""


class IdempotencyKeyInUse(Conflict):
    """The request that first sent the ``Idempotency-Key`` is still being accepted (409, as
    the IETF draft says): retry after ``retry_after`` seconds (the ``Retry-After`` header)."""

    error_type = "idempotency_key_in_use"

    def __init__(self, message: str, retry_after: float, details: dict[str, Any] | None = None):
        super().__init__(message, details)
        self.retry_after = retry_after


class BackendUnavailable(NovelcrewError):
    status_code = 503
    error_type = "backend_unavailable"


class JobError(NovelcrewError):
    error_type = "job_error"


class JobCancelled(JobError):
    error_type = "cancelled"


class TransientError(JobError):
    """A failure worth retrying: provider outage, lost connection, timeout."""

    error_type = "transient_error"


class ModelError(JobError):
    """The model layer gave up on a call after retries and fallbacks."""

    error_type = "model_error"


class NotRecorded(ModelError):
    """``NOVELCREW_LLM_REPLAY`` is set and the recording has no answer for this request."""

    error_type = "not_recorded"


class BudgetExceeded(JobError):
    """The job reached its cap on tokens or money (``config.max_cost_usd``,
    ``config.max_tokens_total``); crews that finished before keep their results."""

    error_type = "budget_exceeded"


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from, each once: crewAI and the OpenAI SDK
    re-wrap errors, so the one that matters may be several links down."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_error(exc: BaseException) -> str:
    """An exception's message without the data it may quote: pydantic's ``ValidationError``
    prints each rejected ``input_value`` (a story, a result), so it is described by its
    locations and problems alone. Job errors and log lines use this, never ``str(exc)``
    of a validation error."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(str(p) for p in err.get('loc', ())) or '(value)'}: {err.get('msg')}"
            for err in exc.errors(include_url=False, include_input=False,
                                  include_context=False)[:10]
        ]
        more = exc.error_count() - len(problems)
        return (f"{exc.error_count()} validation error(s) for {exc.title}: "
                + "; ".join(problems) + (f"; and {more} more" if more > 0 else ""))
    return str(exc) or type(exc).__name__
