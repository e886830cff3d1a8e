"""``novelcrew export JOB --format F``: a job's results as a production file.

``JOB`` is a job id on a running server (over its API, like ``novelcrew jobs``), or the path of
a job record saved with ``novelcrew run --json``, exported here without a server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from novelcrew.cli.jobs import DEFAULT_URL, KeyOpt, ServerError, UrlOpt


def export_command(
    job: str = typer.Argument(..., help="Job id on the server, or a job record JSON file."),
    fmt: str = typer.Option(..., "--format", "-f",
                            help="fountain, shots.csv, breakdown.csv, stripboard.csv or "
                                 "report.html."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Write here; default: <job id><suffix>; '-' "
                                            "for stdout."),
    url: str = UrlOpt,
    api_key: str | None = KeyOpt,
) -> None:
    """Write a finished job's screenplay, shot list, breakdown, stripboard or report."""
    from novelcrew.exports import FORMATS, ExportUnavailable, export

    if fmt not in FORMATS:
        typer.echo(f"error: unknown format {fmt!r}; one of: {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    source = Path(job)
    if source.is_file():
        try:
            record = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            typer.echo(f"error: {source} is not a job record: {exc}", err=True)
            raise typer.Exit(2) from None
        try:
            spec, body = export(record, fmt)
        except ExportUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        job_id = str(record.get("id") or source.stem)
    else:
        from novelcrew.cli.jobs import ServerClient

        try:
            with ServerClient(url or DEFAULT_URL, api_key) as client:
                response = client.http.get(f"/jobs/{job}/export/{fmt}")
        except ServerError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        except Exception as exc:
            typer.echo(f"error: cannot reach the server at {url}: {exc}", err=True)
            raise typer.Exit(1) from None
        if not response.is_success:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            typer.echo(f"error: {response.status_code}: {message}", err=True)
            raise typer.Exit(1)
        spec, body, job_id = FORMATS[fmt], response.content, job
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(body)
        return
    target = output or Path(f"{job_id}{spec.suffix}")
    target.write_bytes(body)
    typer.echo(f"wrote {target} ({len(body):,} bytes, {spec.description.rstrip('.')})")


def attach(app: typer.Typer) -> None:
    app.command("export")(export_command)
