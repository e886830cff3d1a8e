"""``novelcrew worker``: run queued jobs from Redis (the ``arq`` job backend)."""

from __future__ import annotations

from typing import Any

import typer


def worker_command(
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1,
        help="Jobs this worker runs at once (default NOVELCREW_CONCURRENCY, 4).",
    ),
    burst: bool = typer.Option(
        False, "--burst", help="Exit once the queue is empty instead of waiting for more jobs."
    ),
    redis_url: str | None = typer.Option(
        None, "--redis-url", help="Overrides NOVELCREW_REDIS_URL."
    ),
    queue: str | None = typer.Option(None, "--queue", help="Overrides NOVELCREW_QUEUE_NAME."),
    log_level: str | None = typer.Option(None, "--log-level", help="DEBUG, INFO, WARNING..."),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=0, max=65535,
        help="Serve this worker's Prometheus metrics on this port plus --index (0: off; "
        "overrides NOVELCREW_WORKER_METRICS_PORT).",
    ),
    index: int | None = typer.Option(
        None, "--index", min=0,
        help="This worker's number on its host, added to the metrics port so each worker "
        "has its own (overrides NOVELCREW_WORKER_INDEX, 0).",
    ),
    check: bool = typer.Option(
        False, "--check",
        help="Exit 0 if a worker on this host has a heartbeat younger than the lease, else 1 "
        "(a container health check).",
    ),
) -> None:
    """Run jobs queued in Redis by API instances using NOVELCREW_JOB_BACKEND=arq.

    Start any number, on any machines sharing the Redis. SIGTERM lets running jobs finish
    within NOVELCREW_WORKER_GRACE_SECONDS, then hands the rest back to the queue. With a
    metrics port, the worker serves the metrics of the jobs it runs at
    http://NOVELCREW_WORKER_METRICS_HOST:<port + index>/metrics.
    """
    from novelcrew.backends.arq.worker import run_worker
    from novelcrew.logging import configure_logging
    from novelcrew.settings import Settings

    overrides: dict[str, Any] = {
        key: value for key, value in {
            "redis_url": redis_url, "queue_name": queue, "log_level": log_level,
            "worker_metrics_port": metrics_port, "worker_index": index,
        }.items() if value is not None
    }
    # a worker is the arq backend whatever NOVELCREW_JOB_BACKEND says: its model limits are
    # then the Redis pools every worker shares, and its summary line says arq
    settings = Settings(**overrides, job_backend="arq")
    if check:
        import asyncio

        from novelcrew.backends.arq.worker import local_worker_alive

        raise typer.Exit(0 if asyncio.run(local_worker_alive(settings)) else 1)
    configure_logging(settings)
    from novelcrew.cli import pin_to_cpu, print_startup_summary

    pin_to_cpu(settings)

    from novelcrew import metrics

    port = metrics.worker_metrics_port(settings)  # past 65535: a bad setting, exit 2
    role = f"worker on {settings.queue_name}"
    if port:
        role += f", metrics on {metrics.worker_metrics_url(settings.worker_metrics_host, port)}"
    print_startup_summary(settings, role)
    try:
        metrics.serve_worker_metrics(settings)
    except metrics.WorkerMetricsError as exc:  # as a server that cannot start: exit 3
        typer.echo(f"novelcrew: error: {exc}", err=True)
        raise SystemExit(3) from None
    from novelcrew.cli.serve import freeze_heap

    # once crewAI is imported: shorter full collections, and a stopped worker ends without
    # tearing down crewAI's modules object by object (1-2 s)
    run_worker(settings, concurrency=concurrency, burst=burst,
               on_ready=lambda: freeze_heap(settings))


def attach(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
