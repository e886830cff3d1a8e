"""Job and HTTP metrics on the default Prometheus registry (``GET /metrics`` exports them).

Counts of submitted jobs and HTTP requests are made where they happen (the API process).
Finished jobs and durations are observed through the ``job_event`` hook by ``JobMetrics``,
which ``install(plugins)`` registers in every process that runs jobs: the API process (the
``inline`` backend runs jobs there; on ``arq`` it ends the queued jobs it cancels) and each
``novelcrew worker``, which serves them with the model layer's series on a port of its own
(``serve_worker_metrics``). Gauges of queue depth, jobs by status and each worker's counters
are read from the backend each time the API's ``/metrics`` is scraped (``BackendGauges``), so
they hold for every backend; a worker's endpoint leaves them out, or every worker would repeat
them.

Under ``novelcrew serve --workers N`` the API processes keep their counters and histograms in
prometheus-client's multiprocess files (a private directory the parent makes, in
``PROMETHEUS_MULTIPROC_DIR`` before they start), and whichever process answers ``/metrics``
serves their sum (``render(multiprocess_dir)``), so a scrape does not depend on the process
that answers it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from novelcrew.hookspecs import hookimpl
from novelcrew.llm import metrics as model_metrics
from novelcrew.settings import SettingsError

if TYPE_CHECKING:
    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf"))

JOBS_SUBMITTED = Counter(
    "novelcrew_jobs_submitted_total", "Jobs accepted by the API, by crew (chain).", ["crew"]
)
JOBS_FINISHED = Counter(
    "novelcrew_jobs_finished_total", "Jobs that ended, by crew (chain) and final status.",
    ["crew", "status"],
)
JOB_DURATION = Histogram(
    "novelcrew_job_duration_seconds", "Seconds from a job's start to its end, by crew (chain).",
    ["crew"], buckets=DURATION_BUCKETS,
)
CREW_DURATION = Histogram(
    "novelcrew_crew_duration_seconds", "Seconds one crew of a job took, by crew.", ["crew"],
    buckets=DURATION_BUCKETS,
)
#: counted by the runner (``JobRunner.notify``), in the process that runs the job
OBSERVER_FAILURES = Counter(
    "novelcrew_job_observer_failures_total",
    "job_event observers that failed, by plugin and by whether the job had ended (then its "
    "log is closed: no warning event records it, only this series and the server log).",
    ["plugin", "ended"],
)
#: what each arq worker counts, in its Redis hash and in ``/stats``; defined here, below the
#: arq backend (``keys.py`` takes it from here), so that its worker may import this module
WORKER_COUNTERS = ("jobs_done", "jobs_failed", "jobs_retried", "jobs_handed_back",
                   "jobs_recovered", "jobs_lost")


class BackendGauges:
    """The gauges read from the job backend at each scrape (queue depth, jobs by status, the
    arq workers' heartbeats, the inline server's webhooks): ``set_backend_gauges`` gives it
    ``backend.stats()``, and it yields them when a registry is collected.

    A collector rather than ``Gauge`` objects because every API process reads the same store:
    under ``serve --workers N`` the process that answers the scrape serves what it just read,
    and none of it goes through prometheus-client's per-process files, where a gauge's
    labels cannot be cleared (a stopped worker's series would stay) and the processes' stale
    values would have to be combined. While the store is away it serves its last values with
    ``novelcrew_backend_up`` 0."""

    def __init__(self) -> None:
        self.up = False
        self.queue_depth: float = 0
        self.counts: dict[str, float] = {}  # every status seen keeps its series
        self.live_workers: float = 0
        self.workers: list[dict[str, Any]] = []
        self.deliveries: dict[str, float] = {}
        self.pending: float = 0

    def update(self, stats: dict[str, Any]) -> None:
        self.up = True
        self.queue_depth = stats.get("queue_depth", 0)
        self.counts = {**self.counts, **(stats.get("counts") or {})}
        webhooks = stats.get("webhooks")
        if isinstance(webhooks, dict):  # the inline backend delivers them in this process
            self.pending = webhooks.get("pending", self.pending)
            self.deliveries = {**self.deliveries, **{
                outcome: count for outcome, count in webhooks.items() if outcome != "pending"}}
        if "workers" in stats:  # the arq backend's per-worker activity, from heartbeats
            self.live_workers = stats.get("live_workers", 0)
            self.workers = [w for w in stats["workers"] if w.get("alive")]

    def describe(self) -> Iterator[Metric]:
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("novelcrew_queue_depth", "Jobs waiting to run.",
                                value=self.queue_depth)
        #: the backend gauges keep their last values while the store is away; this says so
        yield GaugeMetricFamily(
            "novelcrew_backend_up", "1 when the job backend's store (SQLite, Redis) answered "
            "this scrape; 0: the backend gauges are stale.", value=1 if self.up else 0)
        jobs = GaugeMetricFamily("novelcrew_jobs", "Jobs in the store, by status.",
                                 labels=["status"])
        for status, count in self.counts.items():
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily("novelcrew_live_workers",
                                "Workers with a live heartbeat (arq backend).",
                                value=self.live_workers)
        running = GaugeMetricFamily("novelcrew_worker_running_jobs",
                                    "Jobs a worker runs now (arq backend).", labels=["worker"])
        handled = GaugeMetricFamily(
            "novelcrew_worker_jobs", "Jobs a worker has handled since it started, by outcome: "
            "each jobs_<outcome> counter of /stats (arq backend).", labels=["worker", "outcome"])
        for worker in self.workers:
            running.add_metric([worker["id"]], len(worker.get("running", [])))
            for name in WORKER_COUNTERS:
                handled.add_metric([worker["id"], name.removeprefix("jobs_")],
                                   worker.get(name, 0))
        yield running
        yield handled
        deliveries = GaugeMetricFamily(
            "novelcrew_webhook_deliveries", "Webhook deliveries of the server since it "
            "started, by outcome (inline backend).", labels=["outcome"])
        for outcome, count in self.deliveries.items():
            deliveries.add_metric([outcome], count)
        yield deliveries
        yield GaugeMetricFamily("novelcrew_webhooks_pending", "Webhook deliveries under way "
                                "or waiting to be tried again (inline backend).",
                                value=self.pending)


BACKEND_GAUGES = BackendGauges()
REGISTRY.register(BACKEND_GAUGES)
#: one per API server (``create_app``'s lifespan): under ``serve --workers N`` the live
#: processes' values add up (``livesum``: a dead process's file is dropped by the parent with
#: ``mark_process_dead``), so it reads N while the port is served by N processes
API_PROCESSES = Gauge("novelcrew_api_processes", "API server processes serving this port.",
                      multiprocess_mode="livesum")
HTTP_REQUESTS = Counter(
    "novelcrew_http_requests_total", "HTTP requests, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "novelcrew_http_request_duration_seconds", "HTTP request latency, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf")),
)

OBSERVER_NAME = "novelcrew.metrics"


def chain_label(crews: list[str]) -> str:
    return ",".join(crews)


class JobMetrics:
    """A ``job_event`` observer counting finished jobs and timing them."""

    @hookimpl
    def job_event(self, event: Any, job: Any) -> None:
        if event.type == "crew_finished" and event.crew:
            seconds = event.data.get("seconds")
            if isinstance(seconds, (int, float)):
                CREW_DURATION.labels(event.crew).observe(seconds)
        elif event.terminal:
            label = chain_label(job.crews)
            JOBS_FINISHED.labels(label, event.type).inc()
            duration = job.duration_seconds
            if duration is not None:
                JOB_DURATION.labels(label).observe(duration)


def install(plugins: Plugins) -> bool:
    """Register the observer once per plugin manager; True when this call registered it."""
    if plugins.pm.has_plugin(OBSERVER_NAME):
        return False
    plugins.pm.register(JobMetrics(), name=OBSERVER_NAME)
    return True


def uninstall(plugins: Plugins) -> None:
    if plugins.pm.has_plugin(OBSERVER_NAME):
        plugins.pm.unregister(name=OBSERVER_NAME)


def set_backend_gauges(stats: dict[str, Any]) -> None:
    """Set the backend gauges from ``backend.stats()`` (what ``/stats`` shows as
    ``backend_stats``): every counter there has its series here."""
    BACKEND_GAUGES.update(stats)


def mark_backend_down() -> None:
    """The backend did not answer this scrape: its gauges keep their last values, and
    ``novelcrew_backend_up`` says they are stale."""
    BACKEND_GAUGES.up = False


def render(multiprocess_dir: str | None = None) -> tuple[bytes, str]:
    """The metrics in the Prometheus text format, and its content type: this process's
    default registry, or with ``multiprocess_dir`` (``serve --workers N``) every API process's
    series from that directory, added up (``multiprocess_registry``)."""
    registry = REGISTRY if multiprocess_dir is None else multiprocess_registry(multiprocess_dir)
    return generate_latest(registry), CONTENT_TYPE_LATEST


@functools.cache
def multiprocess_registry(path: str) -> CollectorRegistry:
    """What ``/metrics`` serves under ``serve --workers N``: prometheus-client's
    ``MultiProcessCollector`` over ``path`` (the counters and histograms of every API process,
    the dead ones' included, summed; the live processes' ``API_PROCESSES``), the backend
    gauges as this process just read them, and ``python_info``. Not the process and garbage
    collector series: each process has its own, and they would change with the process
    that answers."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    registry.register(BACKEND_GAUGES)
    registry.register(PLATFORM_COLLECTOR)
    return registry


class WorkerMetricsError(RuntimeError):
    """A worker could not serve its metrics (the port is taken); the message names the
    settings to change."""


class _WebhookCollector:
    """This process's webhook deliveries under the inline server's gauge names: a worker
    delivers the webhooks of the jobs it runs. Read at each scrape."""

    def collect(self) -> Iterator[Metric]:
        from novelcrew import webhooks  # httpx and tenacity: not before a scrape needs them

        deliveries = GaugeMetricFamily(
            "novelcrew_webhook_deliveries",
            "Webhook deliveries of this process since it started, by outcome.",
            labels=["outcome"])
        for outcome, count in webhooks.webhook_counts().items():
            deliveries.add_metric([outcome], count)
        yield deliveries
        yield GaugeMetricFamily(
            "novelcrew_webhooks_pending",
            "Webhook deliveries under way or waiting to be tried again.",
            value=webhooks.pending_webhooks())


def worker_registry() -> CollectorRegistry:
    """What a worker's endpoint serves: the series of the jobs it runs, as the API's
    ``/metrics`` shows them for the inline backend (finished jobs, job and crew durations,
    model calls, tokens and cost, webhooks) and the process collectors. Not the API's
    counters, nor the backend gauges: every worker would repeat the same queue depth and a
    ``novelcrew_backend_up`` of 0, which is the API's to say."""
    registry = CollectorRegistry()
    for collector in (JOBS_FINISHED, JOB_DURATION, CREW_DURATION, OBSERVER_FAILURES,
                      model_metrics.MODEL_CALLS,
                      model_metrics.MODEL_TOKENS, model_metrics.MODEL_COST,
                      model_metrics.MODEL_SECONDS, _WebhookCollector(), PROCESS_COLLECTOR,
                      PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def worker_metrics_port(settings: Settings) -> int:
    """The port this worker serves metrics on: ``NOVELCREW_WORKER_METRICS_PORT`` plus
    ``NOVELCREW_WORKER_INDEX`` (0: off), so the workers of one host each have their own."""
    if not settings.worker_metrics_port:
        return 0
    port = settings.worker_metrics_port + settings.worker_index
    if port > 65535:
        raise SettingsError(
            f"bad setting NOVELCREW_WORKER_INDEX={settings.worker_index}: "
            f"NOVELCREW_WORKER_METRICS_PORT={settings.worker_metrics_port} plus the index is "
            f"{port}, past 65535")
    return port


def serve_worker_metrics(settings: Settings) -> str | None:
    """Serve ``worker_registry()`` over HTTP from a daemon thread (prometheus_client's
    ``start_http_server``; any path answers, ``/metrics`` included); its URL, or None when
    off. A port that cannot be bound raises ``WorkerMetricsError`` naming the settings."""
    port = worker_metrics_port(settings)
    if not port:
        return None
    host = settings.worker_metrics_host
    try:
        start_http_server(port, addr=host, registry=worker_registry())
    except OSError as exc:
        how = f"NOVELCREW_WORKER_METRICS_PORT={settings.worker_metrics_port}"
        if settings.worker_index:
            how += f" + NOVELCREW_WORKER_INDEX={settings.worker_index}"
        raise WorkerMetricsError(
            f"cannot serve worker metrics on {host}:{port} ({how}): {exc.strerror or exc}; "
            "each worker of a host needs a port of its own: give each its own "
            "NOVELCREW_WORKER_INDEX (or --index), or another NOVELCREW_WORKER_METRICS_PORT "
            "(--metrics-port)") from None
    return worker_metrics_url(host, port)


def worker_metrics_url(host: str, port: int) -> str:
    """Where a worker's metrics answer (an IPv6 address in brackets)."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"
