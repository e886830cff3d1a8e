"""Every Redis key the ``arq`` backend uses, in one place.

Job records, event logs and indexes live under ``Keys.root`` (``novelcrew`` by default);
arq's own keys keep arq's fixed prefixes. The one arq key novelcrew touches is a running job's
in-progress marker, whose expiry it renews as the job's lease (``worker.py``). A deployment
that shares one Redis between several novelcrew installations gives each its own root
(``NOVELCREW_QUEUE_NAME`` picks the queue; the root is derived from it) so their records never
mix.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.constants import in_progress_key_prefix

from novelcrew import metrics

#: The arq function every enqueued novelcrew job calls.
RUN_JOB_FUNCTION = "run_job"

ARQ_IN_PROGRESS = in_progress_key_prefix

#: what each worker counts, kept in its hash (``Keys.worker``) and shown by ``/stats``
WORKER_COUNTERS = metrics.WORKER_COUNTERS


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
        ``events_count``, ``cancel_requested``, ``terminal_seq``, and while a worker runs
        it ``worker`` (the id of the worker holding its lease) and ``recoveries``."""
        return f"{self.root}:job:{job_id}"

    def events(self, job_id: str) -> str:
        """Stream of events; entry id ``0-<seq>``, field ``e`` holds the event JSON."""
        return f"{self.root}:events:{job_id}"

    # indexes (sorted sets scored by created_at) -------------------------------------------
    # every job is in the indexes under ``<root>:jobs``; a tenant's job is also in the same
    # indexes under ``<root>:tenant:<tenant>:jobs``, so a tenant's list pages and counts
    # without reading anyone else's jobs (tenant names hold no ``:``, see ``api/auth.py``)
    def jobs(self, tenant: str | None = None) -> str:
        return f"{self.root}:jobs" if tenant is None else f"{self.root}:tenant:{tenant}:jobs"

    def by_status(self, status: str, tenant: str | None = None) -> str:
        return f"{self.jobs(tenant)}:status:{status}"

    def by_project(self, project_id: str, tenant: str | None = None) -> str:
        return f"{self.jobs(tenant)}:project:{project_id}"

    def by_project_status(self, project_id: str, status: str, tenant: str | None = None) -> str:
        return f"{self.jobs(tenant)}:project-status:{status}:{project_id}"

    # workers ------------------------------------------------------------------------------
    @property
    def workers(self) -> str:
        """Sorted set: worker id -> last heartbeat (unix seconds)."""
        return f"{self.root}:workers"

    def worker(self, worker_id: str) -> str:
        """Hash: host, pid, started_at, last_seen, concurrency, running (comma list), and
        ``WORKER_COUNTERS``."""
        return f"{self.root}:worker:{worker_id}"

    @property
    def reaper_lock(self) -> str:
        """String with a short expiry: the worker that checks arq's in-progress markers."""
        return f"{self.root}:lock:reaper"

    # idempotency keys (api/idempotency.py) -------------------------------------------------
    def idempotency(self, key: str) -> str:
        """String with an expiry: ``<job id>:<request fingerprint>`` of the request that
        claimed an ``Idempotency-Key`` (``key`` is a digest of the tenant and the key)."""
        return f"{self.root}:idempotency:{key}"

    # model answers (llm/replies.py) -------------------------------------------------------
    def llm_answer(self, key: str) -> str:
        """String with an expiry: a cached model answer by request key (JSON)."""
        return f"{self.root}:llm:answer:{key}"

    def llm_checkpoint(self, job_id: str) -> str:
        """Hash: call name -> the answer a job's call already got (JSON)."""
        return f"{self.root}:llm:checkpoint:{job_id}"
