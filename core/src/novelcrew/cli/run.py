"""``novelcrew run``: run one crew or a chain on a story in this process, no server needed.

The job lives in a ``MemoryStore`` (it is this command's, and ends with it) and runs through
the same ``JobRunner`` as on a server, so what you see here is what the server would do.
Progress goes to stderr, the result to stdout: ``--json`` output can be piped. Ctrl-C cancels
the job cleanly at its next step; a second Ctrl-C quits at once.

``novelcrew estimate`` reads its chain, story and inputs, and sets up, as this command does
(``job_args``, ``start``). Imports stay inside the functions: ``--help`` must not pay for them.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from novelcrew.jobs import Job
    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130


def run_command(
    crews: str = typer.Argument(..., metavar="CREW[,CREW...]",
                                help="Crew name, or a chain such as architect,director."),
    story: str | None = typer.Option(None, "--story", "-s",
                                     help="Story file (plain text or Markdown); '-' reads stdin."),
    project_id: str | None = typer.Option(None, "--project-id", help="Project id (scopes the "
                                          "knowledge graph; the director reads it)."),
    title: str | None = typer.Option(None, "--title", help="The story's title."),
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="Model id for every agent, e.g. offline or "
                                     "openrouter/anthropic/claude-sonnet-4."),
    inputs: list[str] = typer.Option([], "--input", "-i", metavar="KEY=VALUE",
                                     help="Extra input (VALUE may be JSON); repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the job record as JSON."),
    data_dir: Path | None = typer.Option(None, "--data-dir",
                                         help="Data directory (knowledge graph, crewAI storage)."),
    log_level: str = typer.Option("WARNING", "--log-level", help="Log level for stderr."),
) -> None:
    """Run crews on a story here and now, with live progress, then print the result."""
    names, job_inputs, settings = job_args(
        crews, story=story, title=title, inputs=inputs, data_dir=data_dir, log_level=log_level,
        example="`novelcrew run architect --story FILE`")
    code = run_job(names, job_inputs, settings, project_id=project_id, model=model,
                   as_json=as_json)
    raise typer.Exit(code)


def run_job(crews: list[str], inputs: dict[str, Any], settings: Settings, *,
            project_id: str | None = None, model: str | None = None,
            as_json: bool = False, plugins: Plugins | None = None) -> int:
    """Run a job to its end with a progress display; returns the process exit code."""
    import asyncio

    from rich.console import Console

    from novelcrew.crewai.env import import_crewai
    from novelcrew.errors import CrewNotFound
    from novelcrew.jobs import Job

    err, plugins = start(settings, plugins)
    try:
        plugins.registry.check_chain(crews)
    except CrewNotFound as exc:
        from rich.markup import escape

        err.print(f"[bold red]error:[/] {escape(exc.message)}")
        return EXIT_USAGE
    if "crewai" not in sys.modules:  # seconds of imports: say so rather than sit silent
        if err.is_terminal:
            with err.status("loading crewAI…"):
                import_crewai(settings.resolved_data_dir)
        else:
            err.print("loading crewAI…")
            import_crewai(settings.resolved_data_dir)
    config = {"model": model} if model else {}
    job = Job(crews=crews, inputs=inputs, project_id=project_id, config=config)
    with _quiet_job_log():
        final = asyncio.run(_run(job, plugins, settings, err))
    if as_json:
        sys.stdout.write(final.model_dump_json(indent=2) + "\n")
        sys.stdout.flush()
    else:
        from novelcrew.cli.render import render_job

        render_job(final, Console(), plugins)
    if final.status.value == "succeeded":
        return 0
    if final.status.value == "cancelled":
        return EXIT_CANCELLED
    if as_json and final.error is not None:  # else the error panel above says it, once
        from novelcrew.cli.render import error_line

        err.print("[bold red]job failed:[/] ", end="")
        err.print(error_line(final), markup=False, highlight=False)
    return EXIT_FAILED


@contextlib.contextmanager
def _quiet_job_log() -> Iterator[None]:
    """While the job runs at the default ``--log-level WARNING``: the display shows the job's
    end and its error once, so the job log's ``job_failed`` line and crewAI's (withheld) error
    records of the same failure would only say it again. ``serve`` and ``worker`` keep both
    lines; ``--log-level INFO`` shows them here too. Restored after, for callers in-process."""
    import logging

    if logging.getLogger().level < logging.WARNING:
        yield
        return
    loggers = {"novelcrew.jobs": logging.ERROR, "crewai": logging.CRITICAL}
    before = {name: logging.getLogger(name).level for name in loggers}
    for name, level in loggers.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


async def _run(job: Job, plugins: Plugins, settings: Settings, err: Console) -> Job:
    import asyncio
    import signal
    import threading

    from novelcrew.backends.memory import MemoryStore
    from novelcrew.runner import JobRunner
    from novelcrew.webhooks import drain_webhooks

    store = MemoryStore()
    await store.open()
    await store.create(job)
    runner = JobRunner(plugins, settings, store)
    await runner.emit(job, "queued", message="job queued", data={"crews": job.crews})
    cancel = threading.Event()
    loop = asyncio.get_running_loop()

    def on_interrupt() -> None:
        if cancel.is_set():
            loop.remove_signal_handler(signal.SIGINT)
            raise KeyboardInterrupt
        cancel.set()
        err.print("[yellow]cancelling at the next step (Ctrl-C again to quit now)[/]")

    # not in the main thread, or no signals here: Ctrl-C then simply interrupts
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    follower = asyncio.create_task(follow(store, job.id, err))
    await asyncio.sleep(0)  # the display starts before the job (its clock too)
    try:
        outcome = await runner.run(job.id, cancel)
        while outcome.retry_in is not None and not cancel.is_set():
            await _sleep_unless(cancel, outcome.retry_in)
            outcome = await runner.run(job.id, cancel)
        if outcome.retry_in is not None:  # cancelled while waiting to retry
            stored = await store.get(job.id)
            if stored is not None:
                stored.cancel_requested = True
                await store.save(stored)
            outcome = await runner.run(job.id, cancel)
        await asyncio.wait_for(follower, 10)
    finally:
        follower.cancel()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        await drain_webhooks(timeout=10)
    return outcome.job


async def _sleep_unless(cancel: Any, seconds: float) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline and not cancel.is_set():
        await asyncio.sleep(min(0.1, deadline - loop.time()))


async def follow(store: Any, job_id: str, err: Console) -> None:
    """Show a job's events as a live progress bar until its terminal event."""
    from novelcrew.cli.render import JobProgress

    with JobProgress(err) as view:
        while True:
            events = await store.wait_events(job_id, view.last_seq, timeout=1.0)
            for event in events:
                view.feed(event)
            # the record's usage is stored at a crew's end and the job's; reading it (a copy of
            # the whole record, partial results and all) on every batch grew with the job
            if any(e.type == "crew_finished" or e.terminal for e in events):
                job = await store.get(job_id)
                if job is not None:
                    view.usage_calls(sum(u.calls for u in job.usage.values()))
            if events and events[-1].terminal:
                return


def job_args(crews: str, *, story: str | None, title: str | None, inputs: list[str],
             data_dir: Path | None, log_level: str,
             example: str) -> tuple[list[str], dict[str, Any], Settings]:
    """The chain's crew names, the job's inputs and the settings, from the command's options;
    a usage error (exit 2) names what is wrong, with ``example`` when no crew is named."""
    names = [name.strip() for name in crews.split(",") if name.strip()]
    if not names:
        usage_error(f"name at least one crew, e.g. {example}")
    job_inputs = parse_inputs(inputs)
    if story is not None:
        job_inputs["story_text"] = read_story(story)
    if title:
        job_inputs["title"] = title

    from novelcrew.settings import Settings

    overrides: dict[str, Any] = {"log_level": log_level, "log_format": "console"}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return names, job_inputs, Settings(**overrides)


def start(settings: Settings, plugins: Plugins | None) -> tuple[Console, Plugins]:
    """Logging to stderr, the stderr console for progress and errors, and the plugins."""
    import logging

    from rich.console import Console

    from novelcrew.logging import configure_logging
    from novelcrew.plugins import load
    from novelcrew.settings import check_plugin_settings

    configure_logging(settings)
    if logging.getLogger().level >= logging.WARNING:
        logging.getLogger("crewai").setLevel(logging.ERROR)  # per-call notices drown progress
    plugins = plugins or load(settings.plugins)
    check_plugin_settings(settings)  # a bad plugin setting: one line, exit 2 (``main``)
    return Console(stderr=True), plugins


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON is taken as JSON, else as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            usage_error(f"--input expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def read_story(source: str) -> str:
    """The story file's text (``-``: stdin)."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        usage_error(f"story file not found: {path}")
    except (OSError, UnicodeDecodeError) as exc:
        usage_error(f"cannot read story file {path}: {exc}")


def usage_error(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def attach(app: typer.Typer) -> None:
    app.command("run")(run_command)
