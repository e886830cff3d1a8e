"""Every Redis key the ``arq`` backend uses, in one place.

Job records, event logs and indexes live under ``KeyPrefix.root`` (``novelcrew`` by default);
arq's own keys (job definitions, in-progress markers, results) keep arq's fixed prefixes, named
here too because crash recovery has to clear them. A deployment that shares one Redis between
several novelcrew installations gives each its own root (``NOVELCREW_QUEUE_NAME`` picks the
queue; the root is derived from it) so their records never mix.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.constants import (
    abort_jobs_ss,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)

#: The arq function every enqueued novelcrew job calls.
RUN_JOB_FUNCTION = "run_job"

ARQ_JOB = job_key_prefix
ARQ_IN_PROGRESS = in_progress_key_prefix
ARQ_RESULT = result_key_prefix
ARQ_RETRY = retry_key_prefix
ARQ_ABORT = abort_jobs_ss


@dataclass(frozen=True)
class Keys:
    """Key names under one root (from the queue name: ``novelcrew:queue`` -> ``novelcrew``)."""

    root: str = "novelcrew"

    @classmethod
    def for_queue(cls, queue_name: str) -> Keys:
        root = queue_name.rsplit(":", 1)[0] if ":" in queue_name else queue_name
        return cls(root=root or "novelcrew")

    # job records --------------------------------------------------------------------------
    def job(self, job_id: str) -> str:
        """Hash: ``record`` (JSON), ``status``, ``project_id``, ``created_at``,
        ``events_count``, ``cancel_requested``, ``terminal_seq``."""
        return f"{self.root}:job:{job_id}"

    def events(self, job_id: str) -> str:
        """Stream of events; entry id ``0-<seq>``, field ``e`` holds the event JSON."""
        return f"{self.root}:events:{job_id}"

    # indexes (sorted sets scored by created_at) -------------------------------------------
    @property
    def all_jobs(self) -> str:
        return f"{self.root}:jobs"

    def by_status(self, status: str) -> str:
        return f"{self.root}:jobs:status:{status}"

    def by_project(self, project_id: str) -> str:
        return f"{self.root}:jobs:project:{project_id}"

    def by_project_status(self, project_id: str, status: str) -> str:
        return f"{self.root}:jobs:project-status:{status}:{project_id}"

    # workers ------------------------------------------------------------------------------
    @property
    def workers(self) -> str:
        """Sorted set: worker id -> last heartbeat (unix seconds)."""
        return f"{self.root}:workers"

    def worker(self, worker_id: str) -> str:
        """Hash: host, pid, started_at, last_seen, concurrency, running (JSON), counters."""
        return f"{self.root}:worker:{worker_id}"

    @property
    def claims(self) -> str:
        """Hash: job id -> id of the worker running it."""
        return f"{self.root}:claims"

    @property
    def cancel_channel(self) -> str:
        """Pub/sub channel: a job id published here is cancelled by whichever worker runs it."""
        return f"{self.root}:cancel"

    # locks --------------------------------------------------------------------------------
    def recover_lock(self, job_id: str) -> str:
        return f"{self.root}:lock:recover:{job_id}"

    @property
    def reaper_lock(self) -> str:
        return f"{self.root}:lock:reaper"
