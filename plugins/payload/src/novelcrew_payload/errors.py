"""The errors the Payload client raises, each saying what went wrong in Payload's terms.

    novelcrew.errors.NovelcrewError
    └── PayloadError                   any failed Payload call (status, url, Payload's messages)
        ├── PayloadUnavailable          unreachable, timed out or 5xx after retries (transient)
        ├── PayloadAuthError            403: the API key is missing, wrong or not allowed
        ├── PayloadNotFound             404: no such document
        │   └── PayloadCollectionNotFound  404 with a bare ``{message}``: no such collection
        ├── PayloadValidationError      400: ``errors`` lists ``{path, message}`` per field
        └── PayloadBadId                an id or slug that is not Payload's format (never sent)

``PayloadUnavailable`` also subclasses ``TransientError`` so a crew whose tool call meets a
Payload outage fails in a way the job runner retries; the others are not worth retrying.
"""

from __future__ import annotations

from typing import Any

from novelcrew.errors import NovelcrewError, TransientError


class PayloadError(NovelcrewError):
    """A Payload REST call failed."""

    error_type = "payload_error"

    def __init__(self, message: str, *, status: int | None = None, url: str = "",
                 details: dict[str, Any] | None = None) -> None:
        merged = {"status": status, "url": url, **(details or {})}
        super().__init__(message, merged)
        self.status = status
        self.url = url


class PayloadUnavailable(PayloadError, TransientError):
    """Payload could not be reached, timed out or kept answering 5xx."""

    status_code = 503
    error_type = "payload_unavailable"


class PayloadAuthError(PayloadError):
    """Payload answered 403: it rejected (or did not get) the API key."""

    error_type = "payload_auth_error"


class PayloadNotFound(PayloadError):
    """Payload answered 404 for a document."""

    status_code = 404
    error_type = "payload_not_found"


class PayloadCollectionNotFound(PayloadNotFound):
    """Payload answered 404 for the route itself: the collection slug is unknown."""

    error_type = "payload_collection_not_found"


class PayloadValidationError(PayloadError):
    """Payload answered 400; ``errors`` holds ``{"path", "message"}`` for each bad field."""

    status_code = 422
    error_type = "payload_validation_error"

    def __init__(self, message: str, *, errors: list[dict[str, str]], status: int | None = 400,
                 url: str = "") -> None:
        super().__init__(message, status=status, url=url, details={"errors": errors})
        self.errors = errors


class PayloadBadId(PayloadError):
    """A document id or collection slug that is not in Payload's format; nothing was sent."""

    status_code = 422
    error_type = "invalid_payload_id"
