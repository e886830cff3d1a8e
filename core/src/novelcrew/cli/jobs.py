"""``novelcrew jobs list|show|cancel|retry``: jobs on a running server, over its HTTP API.

``show --follow`` streams the job's Server-Sent Events as a live progress bar, reconnecting
with ``Last-Event-ID`` if the connection drops, then prints the result. ``sse_events`` and
``ServerClient`` are reused by the demo client (examples/client/demo.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, NoReturn

import typer

DEFAULT_URL = "http://127.0.0.1:5001"
EXIT_FAILED = 1
EXIT_CANCELLED = 130

jobs_app = typer.Typer(help="List, show, follow, cancel and retry jobs on a running server.",
                       no_args_is_help=True)

UrlOpt = typer.Option(DEFAULT_URL, "--url", envvar="NOVELCREW_URL",
                      help="The server's base URL.")
KeyOpt = typer.Option(None, "--api-key", envvar="NOVELCREW_API_KEY",
                      help="API key, when the server requires one.")


class ServerError(Exception):
    """The server answered with an error (or could not be reached); ``str`` says which."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ServerClient:
    """A thin synchronous client of the native API (``/jobs``...)."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        headers = {"X-API-Key": api_key} if api_key else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise ServerError(f"cannot reach the server at {self.url}: is `novelcrew serve` "
                              "running (or pass --url)?") from None
        except httpx.HTTPError as exc:
            raise ServerError(f"request to {self.url}{path} failed: {exc}") from None
        if response.is_success:
            return response.json()
        raise _server_error(response)

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/jobs/{job_id}")  # type: ignore[no-any-return]

    def events(self, job_id: str, after: int = 0, retries: int = 5) -> Iterator[dict[str, Any]]:
        """Every event after ``after`` until the terminal one, reconnecting on drops."""
        import httpx

        last, failures = after, 0
        while True:
            headers = {"Last-Event-ID": str(last)} if last else {}
            try:
                with self.http.stream("GET", f"/jobs/{job_id}/events", headers=headers,
                                      timeout=httpx.Timeout(30.0, read=None)) as response:
                    if not response.is_success:
                        response.read()
                        raise _server_error(response)
                    for event in sse_events(response.iter_lines()):
                        failures = 0
                        last = event.get("seq", last)
                        yield event
                        if event.get("type") in ("succeeded", "failed", "cancelled"):
                            return
            except (httpx.TransportError, httpx.RemoteProtocolError) as exc:
                failures += 1
                if failures > retries:
                    raise ServerError(f"lost the event stream of job {job_id}: {exc}") from None
                time.sleep(min(0.5 * 2 ** failures, 5.0))
                continue
            job = self.get_job(job_id)  # the stream ended without a terminal event
            if job.get("status") in ("succeeded", "failed", "cancelled") \
                    and job.get("events_count", 0) <= last:
                return


def _server_error(response: Any) -> ServerError:
    message = f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # the native envelope
            message = error.get("message") or message
        elif isinstance(error, str) and error:  # Novel Movie's routes: error is the message
            message = error
        elif body.get("detail"):
            message = str(body["detail"])
    if response.status_code == 401:
        message += " (pass --api-key or set NOVELCREW_API_KEY)"
    return ServerError(message, response.status_code)


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse a Server-Sent Events stream whose ``data:`` is a JSON job event."""
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            event = _decode(data)
            if event is not None:
                yield event
            data = []
            continue
        if line.startswith(":"):
            continue  # keep-alive comment
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    event = _decode(data)
    if event is not None:
        yield event


def _decode(data: list[str]) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        value = json.loads("\n".join(data))
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _fail(exc: ServerError) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(EXIT_FAILED)


def _ask(url: str, api_key: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """One request to the server; an error ends the command with exit 1."""
    try:
        with ServerClient(url, api_key) as client:
            return client.request(method, path, **kwargs)
    except ServerError as exc:
        _fail(exc)


def _age(value: str | None) -> str:
    if not value:
        return ""
    from datetime import UTC, datetime

    try:
        then = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    seconds = (datetime.now(UTC) - then).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{max(seconds, 0):.0f}s ago"


@jobs_app.command("list")
def list_command(
    project_id: str | None = typer.Option(None, "--project-id", help="Only this project's."),
    status: str | None = typer.Option(None, "--status",
                                      help="queued, running, succeeded, failed or cancelled."),
    limit: int = typer.Option(20, "--limit", min=1, max=200),
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON."),
    url: str = UrlOpt,
    api_key: str | None = KeyOpt,
) -> None:
    """List jobs, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if project_id:
        params["project_id"] = project_id
    if status:
        params["status"] = status
    page = _ask(url, api_key, "GET", "/jobs", params=params)
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    from novelcrew.cli.render import STATUS_STYLE

    rows = page.get("data", [])
    table = Table(title=f"jobs ({len(rows)} of {page.get('count', len(rows))})",
                  title_justify="left")
    for col in ("id", "crews", "status", "progress", "project", "created"):
        table.add_column(col, no_wrap=col in ("id", "status"))
    for job in rows:
        progress = job.get("progress") or {}
        done, total = progress.get("completed_tasks", 0), progress.get("total_tasks", 0)
        style = STATUS_STYLE.get(job.get("status"), "")  # type: ignore[call-overload]
        table.add_row(job["id"], ",".join(job.get("crews", [])),
                      f"[{style}]{job.get('status')}[/]" if style else str(job.get("status")),
                      f"{done}/{total}" if total else "", job.get("project_id") or "",
                      _age(job.get("created_at")))
    Console().print(table)


@jobs_app.command("show")
def show_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    follow: bool = typer.Option(False, "--follow", "-f",
                                help="Stream its events live until it ends."),
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON record."),
    url: str = UrlOpt,
    api_key: str | None = KeyOpt,
) -> None:
    """Show one job (its result when it has ended); --follow streams its progress."""
    from rich.console import Console

    from novelcrew.cli.render import JobProgress, render_job

    try:
        with ServerClient(url, api_key) as client:
            job = client.get_job(job_id)
            if follow and job.get("status") not in ("succeeded", "failed", "cancelled"):
                with JobProgress(Console(stderr=True)) as view:
                    for event in client.events(job_id):
                        view.feed(event)
                job = client.get_job(job_id)
    except ServerError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(job, indent=2))
    else:
        render_job(job, Console())
    status = job.get("status")
    if status == "failed":
        raise typer.Exit(EXIT_FAILED)
    if status == "cancelled":
        raise typer.Exit(EXIT_CANCELLED)


@jobs_app.command("cancel")
def cancel_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    url: str = UrlOpt,
    api_key: str | None = KeyOpt,
) -> None:
    """Cancel a job: a queued one at once, a running one at its next step."""
    job = _ask(url, api_key, "POST", f"/jobs/{job_id}/cancel")
    state = job.get("status")
    if state == "cancelled":
        typer.echo(f"job {job_id} cancelled")
    else:
        typer.echo(f"job {job_id} is {state}; it stops at its next step")


@jobs_app.command("retry")
def retry_command(
    job_id: str = typer.Argument(..., help="The failed or cancelled job's id."),
    url: str = UrlOpt,
    api_key: str | None = KeyOpt,
) -> None:
    """Run a failed or cancelled job again, as a new job with the same story and options."""
    job = _ask(url, api_key, "POST", f"/jobs/{job_id}/retry")
    typer.echo(f"job {job_id} retried as {job.get('id')} ({job.get('status')})")


def attach(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
