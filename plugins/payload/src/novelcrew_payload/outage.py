"""What this process knows of Payload outages, shared by everything that calls Payload.

Every ``PayloadClient`` call notes its outcome here: ``PayloadUnavailable`` (unreachable, timed
out, 5xx after its retries) starts or extends an outage of that REST root; any answer from
Payload (a 4xx too) ends it. While an outage is known (until ``OUTAGE_SECONDS`` after its last
failure), the observer's updates and the crews' tool calls get a single attempt instead of their
retries with backoff: retrying into a known outage only spends the job's time.
"""

from __future__ import annotations

import time

#: how long after its last failure a Payload counts as unavailable (one attempt per call)
OUTAGE_SECONDS = 60.0
_outages: dict[str, tuple[float, float]] = {}  # REST root -> (first, last failure)


def note_unavailable(api_url: str) -> None:
    """Payload at ``api_url`` could not be reached: start the outage, or extend it."""
    now = time.monotonic()
    first, last = _outages.get(api_url, (now, now))
    _outages[api_url] = (first if now - last < OUTAGE_SECONDS else now, now)


def note_available(api_url: str) -> None:
    """Payload at ``api_url`` answered: any outage is over."""
    _outages.pop(api_url, None)


def known_outage(api_url: str) -> float | None:
    """Seconds Payload at ``api_url`` has been unavailable, or None when no outage is known
    (none, or none confirmed in the last ``OUTAGE_SECONDS``)."""
    found = _outages.get(api_url)
    now = time.monotonic()
    if found is None or now - found[1] >= OUTAGE_SECONDS:
        return None
    return now - found[0]


def forget_outages() -> None:
    """Forget which Payload servers were found unavailable (tests, after a config change)."""
    _outages.clear()
