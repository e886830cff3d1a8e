"""Readable terminal rendering of a job and its results (``novelcrew run``, ``novelcrew jobs
show``, the demo client): the header, error and usage, and the live progress are core's; each
crew's result is drawn by the renderer a plugin registers for it (``register_renderers``: the
architect, director and storyboard plugins register theirs), else shown as pretty JSON.
Works on a ``Job`` or on the API's JSON for one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.json import JSON
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from novelcrew.display import short
from novelcrew.jobs import Job, JobStatus

if TYPE_CHECKING:
    from novelcrew.plugins import Plugins
    from novelcrew.registry import Entry
    from novelcrew.specs import Renderer

log = logging.getLogger(__name__)

STATUS_STYLE = {
    JobStatus.queued: "yellow",
    JobStatus.running: "cyan",
    JobStatus.succeeded: "bold green",
    JobStatus.failed: "bold red",
    JobStatus.cancelled: "magenta",
}


def as_job(job: Job | Mapping[str, Any]) -> Job:
    return job if isinstance(job, Job) else Job.model_validate(dict(job))


def render_job(job: Job | Mapping[str, Any], console: Console | None = None,
               plugins: Plugins | None = None) -> None:
    """Print a job's header, its error if any, then each crew's result (``render_result``;
    ``plugins``, the process's by default, hold the renderers)."""
    console = console or Console()
    job = as_job(job)
    console.print(job_header(job))
    if job.error is not None:
        console.print(error_panel(job))
    for crew in job.crews:
        if crew in job.result:
            console.print(Rule(f"[bold]{crew}[/bold]"))
            console.print(render_result(job.result[crew], crew, plugins))


def job_header(job: Job) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    style = STATUS_STYLE.get(job.status, "")
    grid.add_row("job", job.id)
    grid.add_row("crews", " → ".join(job.crews))
    grid.add_row("status", Text(job.status.value, style=style))
    if job.project_id:
        grid.add_row("project", job.project_id)
    if job.duration_seconds is not None:
        grid.add_row("took", f"{job.duration_seconds:.1f}s"
                     + (f" ({job.attempts} attempts)" if job.attempts > 1 else ""))
    if job.usage:
        grid.add_row("models", usage_line(job))
    return grid


def usage_line(job: Job) -> str:
    parts = []
    for model, usage in job.usage.items():
        tokens = usage.prompt_tokens + usage.completion_tokens
        part = f"{model}: {usage.calls} calls, {tokens} tokens"
        if usage.cost:
            part += f", ${usage.cost:.4f}"
        if usage.cached_calls:
            part += f" (+{usage.cached_calls} reused"
            part += f", ${usage.saved_cost:.4f} saved)" if usage.saved_cost else ")"
        parts.append(part)
    return "; ".join(parts)


def error_line(job: Job) -> str:
    """The error in one line (``run --json``: stdout holds the record, stderr says this):
    its type, crew, message and each invalid field."""
    error = job.error
    assert error is not None
    line = f"{error.type}" + (f" in crew {error.crew}" if error.crew else "") + \
        f": {error.message}"
    fields = []
    for item in error.details.get("errors", [])[:20]:
        if isinstance(item, Mapping):
            loc = ".".join(str(p) for p in item.get("loc", ()))
            fields.append(f"{loc + ': ' if loc else ''}{item.get('msg', '')}")
    return line + (f" ({'; '.join(fields)})" if fields else "")


def error_panel(job: Job) -> Panel:
    error = job.error
    assert error is not None
    body = Text()
    body.append(f"{error.type}", style="bold red")
    if error.crew:
        body.append(f" in crew {error.crew}", style="red")
    body.append(f"\n{error.message}")
    for item in error.details.get("errors", [])[:20]:
        if isinstance(item, Mapping):
            loc = ".".join(str(p) for p in item.get("loc", ()))
            body.append(f"\n  • {loc + ': ' if loc else ''}{item.get('msg', '')}")
    # scalars read as lines; nested details (a model error's attempts repeat its message
    # reason by reason) stay in the JSON record, named so they can be found
    nested = []
    for key, value in error.details.items():
        if key == "errors":
            continue
        if isinstance(value, Mapping | list | tuple):
            nested.append(str(key))
        elif value is not None and str(value) not in error.message:
            body.append(f"\n{key}: {short(value, 200)}", style="dim")
    if nested:
        body.append(f"\n(the JSON record's error.details also has: {', '.join(nested)})",
                    style="dim")
    return Panel(body, title="error", border_style="red", expand=False)


# results ------------------------------------------------------------------------------------
def render_result(result: Any, crew: str | None = None,
                  plugins: Plugins | None = None) -> RenderableType:
    """A crew's result for the terminal, by a registered renderer (``register_renderers``):
    the one claiming ``crew`` by name, else the first whose ``matches`` says yes; anything
    else, and a result whose renderer fails, as pretty JSON (the latter with a dim note)."""
    if not isinstance(result, Mapping):
        return _json(result)
    entry = pick_renderer(result, crew, plugins)
    if entry is None:
        return _json(result)
    try:
        return _Guarded(entry, entry.spec.render(result), result)
    except Exception as exc:
        return _fallback(entry, exc, result)


def pick_renderer(result: Mapping[str, Any], crew: str | None = None,
                  plugins: Plugins | None = None) -> Entry[Renderer] | None:
    """The renderer for ``crew``'s ``result``: by crew name first, then by shape in
    registration order. A ``matches`` that raises counts as no."""
    if plugins is None:
        from novelcrew.plugins import get_plugins

        plugins = get_plugins()
    entries = list(plugins.registry.renderers.values())
    for entry in entries:
        if crew is not None and crew in entry.spec.crews:
            return entry
    for entry in entries:
        matches = entry.spec.matches
        try:
            if matches is not None and matches(result):
                return entry
        except Exception:
            log.debug("renderer %s: matches raised", entry.spec.name, exc_info=True)
    return None


def _json(result: Any) -> JSON:
    return JSON(json.dumps(result, default=str))


def _fallback(entry: Entry[Renderer], exc: Exception, result: Any) -> Group:
    note = Text(f"renderer {entry.spec.name!r} of plugin {entry.plugin!r} failed "
                f"({type(exc).__name__}: {short(exc, 200)}); the result as JSON:", style="dim")
    return Group(note, _json(result))


class _Guarded:
    """A renderer's output, rendered when printed (rich renders lazily): if that raises, the
    result prints as JSON with the note instead, so a faulty renderer never breaks a run."""

    def __init__(self, entry: Entry[Renderer], inner: RenderableType, result: Any) -> None:
        self.entry, self.inner, self.result = entry, inner, result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        try:
            segments = list(console.render(self.inner, options))
        except Exception as exc:
            segments = list(console.render(_fallback(self.entry, exc, self.result), options))
        yield from segments


# live progress -----------------------------------------------------------------------------
class JobProgress:
    """A live progress bar fed with a job's events (from a store or an SSE stream): tasks done
    of total, current crew and task, elapsed time, model calls; notable events as lines."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.fields[crew]}[/]"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[calls]} model calls"),
            TextColumn("{task.fields[pieces]}"),
            TextColumn("[dim]{task.description}[/]"),
            console=self.console,
        )
        self.bar = self.progress.add_task("queued", total=None, crew="", calls=0, pieces="")
        self.calls = 0
        self.last_seq = 0

    def __enter__(self) -> JobProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def feed(self, event: Any) -> None:
        """Take one event (a ``JobEvent`` or its JSON as a dict)."""
        get = event.get if isinstance(event, Mapping) else (lambda k: getattr(event, k, None))
        kind, data = get("type"), get("data") or {}
        self.last_seq = get("seq") or self.last_seq
        fields: dict[str, Any] = {}
        if kind == "llm_call":
            self.calls += 1
            fields["calls"] = self.calls
        elif kind == "progress":
            total = data.get("total_tasks") or None
            fields.update(completed=data.get("completed_tasks", 0), total=total,
                          crew=data.get("current_crew") or "",
                          description=str(data.get("current_task") or "")[:60])
        elif kind == "crew_started":
            fields.update(crew=get("crew") or "", description="", pieces="")
        elif kind == "partial":
            fields["pieces"] = pieces_label(data)
        elif kind in ("succeeded", "failed", "cancelled"):
            fields["description"] = kind
        if fields:
            self.progress.update(self.bar, **fields)
        line = describe_event(str(kind), get("crew"), get("message") or "", data)
        if line:
            self.progress.console.print(line)

    def usage_calls(self, calls: int) -> None:
        """Correct the call count from the job's usage (which also counts calls that emitted
        no event)."""
        if calls > self.calls:
            self.calls = calls
            self.progress.update(self.bar, calls=calls)


def pieces_label(data: Mapping[str, Any]) -> str:
    """``scenes 3/40`` from a ``partial`` event: the crew's progress by scene (or chunk)."""
    total = data.get("total")
    return f"{data.get('kind', 'piece')}s {data.get('done', 0)}" + (f"/{total}" if total else "")


def describe_event(kind: str, crew: str | None, message: str,
                   data: Mapping[str, Any]) -> str | None:
    """One line for the events worth a line of their own (the rest move the bar)."""
    if kind == "crew_started":
        return f"[cyan]▶ {crew}[/] started"
    if kind == "crew_finished":
        seconds = data.get("seconds")
        took = f" in {seconds:.1f}s" if isinstance(seconds, int | float) else ""
        return f"[green]✔ {crew}[/] finished{took}"
    if kind == "partial":
        return f"[green]·[/] {crew} {data.get('kind', 'piece')} {data.get('key', '')} " \
            f"ready ({pieces_label(data)})"
    if kind in ("warning", "retrying"):
        return f"[yellow]! {kind}:[/] {message}"
    if kind == "failed":  # the error itself is shown once, after the progress (``render_job``)
        return f"[bold red]✘ failed[/]{f' in {crew}' if crew else ''}"
    if kind == "cancelled":
        return "[magenta]■ cancelled[/]"
    if kind == "succeeded":
        return "[bold green]✔ job succeeded[/]"
    return None
