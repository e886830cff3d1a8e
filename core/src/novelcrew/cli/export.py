"""``novelcrew export JOB --format F``: a job's results as a production file.

``JOB`` is a job id on a running server (over its API, like ``novelcrew jobs``; the server's
formats apply), or the path of a job record saved with ``novelcrew run --json``, exported here
without a server (the formats of the plugins installed here apply). Formats come from plugins
(``register_exports``); novelcrew-exports adds the screenplay, CSV sheets and report.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import typer

from novelcrew.cli.jobs import DEFAULT_URL, KeyOpt, UrlOpt


def export_command(
    job: str = typer.Argument(..., help="Job id on the server, or a job record JSON file."),
    fmt: str = typer.Option(..., "--format", "-f",
                            help="An export format (`novelcrew plugins` or GET /exports lists "
                                 "them): novelcrew-exports adds fountain, shots.csv, "
                                 "breakdown.csv, stripboard.csv and report.html."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Write here; default: <job id><suffix>; '-' "
                                            "for stdout."),
    url: str = UrlOpt,
    api_key: str | None = KeyOpt,
) -> None:
    """Write a finished job's results as a file in a plugin's export format."""
    from novelcrew.errors import ExportUnavailable
    from novelcrew.plugins import get_plugins

    registry = get_plugins().registry
    local = registry.exports.get(fmt)
    source = Path(job)
    if source.is_file():
        if local is None:
            known = ", ".join(registry.exports)
            hint = (f"one of: {known}" if known else "no export formats are installed "
                    "(novelcrew install novelcrew-exports)")
            typer.echo(f"error: unknown format {fmt!r}; {hint}", err=True)
            raise typer.Exit(2)
        try:
            record = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            typer.echo(f"error: {source} is not a job record: {exc}", err=True)
            raise typer.Exit(2) from None
        try:
            body = local.spec.file(record)
        except ExportUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        job_id, suffix = str(record.get("id") or source.stem), local.spec.suffix
        what = local.spec.description.rstrip(".")
    else:
        from novelcrew.cli.jobs import ServerClient

        try:
            with ServerClient(url or DEFAULT_URL, api_key) as client:
                response = client.http.get(f"/jobs/{job}/export/{fmt}")
        except Exception as exc:  # httpx's (the raw request raises no ServerError)
            typer.echo(f"error: cannot reach the server at {url}: {exc}", err=True)
            raise typer.Exit(1) from None
        if not response.is_success:
            try:
                error = response.json()["error"]
                message, details = str(error["message"]), error.get("details") or {}
            except (ValueError, KeyError, TypeError, AttributeError):
                message, details = response.text[:200], {}
            typer.echo(f"error: {response.status_code}: {message}", err=True)
            # a format the server does not know is a usage error, as it is for a file
            raise typer.Exit(2 if "formats" in details else 1)
        # the server's formats apply (they need not be installed here): its file name
        # gives the suffix
        body, job_id = response.content, job
        suffix = _suffix(response.headers.get("content-disposition", ""), job, fmt)
        what = (local.spec.description.rstrip(".") if local is not None
                else response.headers.get("content-type", "").split(";")[0])
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(body)
        return
    target = output or Path(f"{job_id}{suffix}")
    target.write_bytes(body)
    typer.echo(f"wrote {target} ({len(body):,} bytes, {what})")


def _suffix(disposition: str, job_id: str, fmt: str) -> str:
    """The suffix of the file name the server gave (``<job id><suffix>``); ``.<fmt>`` when it
    gave none (the format need not be installed where the CLI runs)."""
    named = re.search(r'filename="([^"/\\]+)"', disposition)
    if named and named.group(1).startswith(job_id) and len(named.group(1)) > len(job_id):
        return named.group(1)[len(job_id):]
    return f".{fmt}"


def attach(app: typer.Typer) -> None:
    app.command("export")(export_command)
