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
    from novelcrew.settings import Settings

    settings = Settings(**overrides)
    log_config = _configure_logging(settings)
    app = create_app(settings)
    from novelcrew.cli import print_startup_summary

    print_startup_summary(settings, f"serving on http://{settings.host}:{settings.port}")
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=log_config,
        access_log=False,  # the API logs each request itself, without keys
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def _configure_logging(settings: Any) -> Any:
    """Use ``novelcrew.logging`` when it exists; else uvicorn's own logging config."""
    try:
        from novelcrew.logging import configure_logging  # type: ignore[import-not-found]
    except ModuleNotFoundError:
        import uvicorn.config

        return uvicorn.config.LOGGING_CONFIG
    configure_logging(settings, buffered=True)  # a line per request: written in groups
    return None


def attach(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
