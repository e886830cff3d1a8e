"""Errors of the knowledge graph plugin.

    novelcrew.errors.TransientError
    └── GraphUnavailable        the service is down, timed out or answered 5xx (retry the job)
    novelcrew.errors.JobError
    └── GraphRequestError       the remote service refused the request (4xx) or answered nonsense
"""

from __future__ import annotations

from novelcrew.errors import JobError, TransientError


class GraphUnavailable(TransientError):
    """The knowledge graph service could not be reached or failed (worth retrying later)."""

    error_type = "graph_unavailable"


class GraphRequestError(JobError):
    """The knowledge graph service rejected a request; retrying the same call will not help."""

    error_type = "graph_request_error"
