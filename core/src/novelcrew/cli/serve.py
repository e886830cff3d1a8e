"""``novelcrew serve``: the HTTP API under uvicorn (port 5001 unless told otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def serve_command(
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 5001)."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where the inline backend keeps its SQLite job store."
    ),
    backend: str | None = typer.Option(None, "--backend", help="Job backend: inline or arq."),
    log_level: str | None = typer.Option(None, "--log-level", help="DEBUG, INFO, WARNING..."),
) -> None:
    """Serve the HTTP API. Flags override NOVELCREW_* settings."""
    overrides: dict[str, Any] = {
        key: value for key, value in {
            "host": host, "port": port, "data_dir": data_dir, "job_backend": backend,
            "log_level": log_level,
        }.items() if value is not None
    }
    run_server(overrides)


def run_server(overrides: dict[str, Any]) -> None:
    import uvicorn

    from novelcrew.api.app import create_app
    from novelcrew.logging import configure_logging
    from novelcrew.settings import Settings

    settings = Settings(**overrides)
    configure_logging(settings, cache=True)  # a long-running process: build loggers once
    app = create_app(settings)
    from novelcrew.cli import print_startup_summary

    print_startup_summary(settings, f"serving on http://{settings.host}:{settings.port}")
    freeze_heap(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through ours
        access_log=False,  # the API logs each request itself, without keys
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def freeze_heap(settings: Any) -> None:
    """With ``NOVELCREW_GC_FREEZE`` (on by default): move everything loaded at start-up
    (modules, the app, the plugins) out of the garbage collector's sight. It lives as long as
    the process, and a full collection would otherwise walk all of it, a pause every client in
    flight waits out. ``gc.freeze`` is the interpreter's own switch for this."""
    import gc

    if settings.gc_freeze:
        gc.collect()
        gc.freeze()


def attach(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
