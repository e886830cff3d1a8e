"""``novelcrew serve``: the HTTP API under uvicorn (port 5001 unless told otherwise)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer


def serve_command(
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 5001)."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where the inline job store, the embedded knowledge graph "
        "and crewAI's storage live (default .novelcrew; NOVELCREW_DATA_DIR)."
    ),
    backend: str | None = typer.Option(None, "--backend", help="Job backend: inline or arq."),
    log_level: str | None = typer.Option(None, "--log-level", help="DEBUG, INFO, WARNING..."),
    reload: bool = typer.Option(
        False, "--reload", help="Restart the server when a file of an editable-installed "
        "plugin changes (development only)."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="API processes sharing the port (arq backend only; "
        "the inline backend runs its jobs inside its one server process)."),
) -> None:
    """Serve the HTTP API. Flags override NOVELCREW_* settings."""
    overrides: dict[str, Any] = {
        key: value for key, value in {
            "host": host, "port": port, "data_dir": data_dir, "job_backend": backend,
            "log_level": log_level,
        }.items() if value is not None
    }
    if workers > 1:
        if reload:
            raise typer.BadParameter("--reload serves one process; drop --workers",
                                     param_hint="--workers")
        from novelcrew.settings import Settings

        backend_name = Settings(**overrides).job_backend
        if backend_name != "arq":
            raise typer.BadParameter(
                f"several API processes need the arq backend (NOVELCREW_JOB_BACKEND=arq or "
                f"--backend arq), not {backend_name!r}: the inline backend runs its jobs inside "
                "the one server process that owns the data directory's SQLite store, so it "
                "serves one process per data directory", param_hint="--workers")
        raise SystemExit(run_processes(overrides, workers))
    if reload:
        run_reloading(overrides)
    else:
        run_server(overrides)


def run_server(overrides: dict[str, Any], sockets: list[Any] | None = None,
               summary: bool = True, index: int = 0, metrics_dir: str | None = None) -> None:
    """One server process; ``sockets``: listen on these (a ``--workers`` child) instead of
    binding ``host:port``; ``index``: which of them (its CPU with ``NOVELCREW_CPU_AFFINITY``);
    ``metrics_dir``: the processes' shared metrics directory (a ``--workers`` child)."""
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from novelcrew.api.app import create_app
    from novelcrew.api.deadlines import guarded_protocol
    from novelcrew.logging import configure_logging
    from novelcrew.settings import Settings

    settings = Settings(**overrides)
    configure_logging(settings, cache=True)  # a long-running process: build loggers once
    from novelcrew.cli import pin_to_cpu

    pin_to_cpu(settings, index)
    app = create_app(settings)
    app.state.metrics_dir = metrics_dir
    from novelcrew.cli import print_startup_summary

    if summary:
        print_startup_summary(settings, serving_on(settings))
    freeze_heap(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through ours
        access_log=False,  # the API logs each request itself, without keys
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        # the protocol uvicorn picks by default, closing connections that trickle their
        # request head; idle keep-alive connections close after uvicorn's 5 s
        http=guarded_protocol(AutoHTTPProtocol, settings.header_timeout_seconds),
    )
    server = _draining_server(config, app.state.backend, settings.worker_grace_seconds)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: the SIGINT it
            server.run(sockets)  # handled, raised again once it shut down
    finally:  # uvicorn itself exits (status 3) when the app fails to start
        if not server.started and app.state.start_error:
            # the cause, last on stderr, as a bad setting's line is
            typer.echo(f"novelcrew: error: {app.state.start_error}", err=True)
    if not server.started:
        raise SystemExit(3)


def serving_on(settings: Any, how: str = "") -> str:
    """The startup line's role: the address, and where a person opens the web UI."""
    address = f"http://{settings.host}:{settings.port}"
    return f"serving on {address}{how} (web UI: {address}/ui/)"


def run_reloading(overrides: dict[str, Any]) -> None:
    """``serve --reload``: uvicorn's reloader watches the ``.py`` files of core's package and
    of the source folders of editable-installed plugins, and starts a fresh server process
    (plugins loaded anew) when one changes. Never the current folder: whatever lands there (a
    log, the data directory, a script) is not the server's source. The flags travel to that
    process as ``NOVELCREW_*`` variables."""
    import uvicorn

    import novelcrew
    from novelcrew.cli import print_startup_summary
    from novelcrew.logging import configure_logging
    from novelcrew.plugins import editable_plugin_sources
    from novelcrew.settings import Settings

    for key, value in overrides.items():  # each flag's setting is NOVELCREW_<FIELD>
        os.environ[f"NOVELCREW_{key.upper()}"] = str(value)
    settings = Settings()
    configure_logging(settings)
    core = Path(novelcrew.__file__).resolve().parent
    dirs = [str(folder) for folder in [core, *editable_plugin_sources()]]
    print_startup_summary(settings, serving_on(settings))
    typer.echo(f"novelcrew: --reload watches {', '.join(dirs)}", err=True)
    uvicorn.run("novelcrew.cli.serve:reload_app", factory=True, reload=True,
                reload_dirs=dirs, reload_includes=["*.py"], host=settings.host,
                port=settings.port, log_level=settings.log_level.lower(), log_config=None,
                access_log=False)


def reload_app() -> Any:
    """The app of one ``serve --reload`` server process (uvicorn calls it as a factory)."""
    from novelcrew.api.app import create_app
    from novelcrew.logging import configure_logging
    from novelcrew.settings import Settings

    settings = Settings()
    configure_logging(settings)
    from novelcrew.cli import pin_to_cpu

    pin_to_cpu(settings)
    return create_app(settings)


def _draining_server(config: Any, backend: Any, grace: float) -> Any:
    """A uvicorn server that drains the job backend on SIGTERM/SIGINT while it still
    answers (new jobs get 503, running ones get ``grace`` seconds, event streams end with a
    final event), then shuts down as uvicorn does. A second SIGINT skips the wait.

    sse-starlette would otherwise cut every event stream the moment the signal arrives; its
    documented switch hands that to us (the backend ends its streams when the drain ends,
    and uvicorn's own graceful timeout still bounds whatever is left)."""
    import asyncio

    import uvicorn
    from sse_starlette.sse import AppStatus

    AppStatus.disable_automatic_graceful_drain()

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            drain = asyncio.ensure_future(backend.drain(grace))
            while not drain.done() and not self.force_exit:
                await asyncio.wait((drain,), timeout=0.1)
            if drain.done() and not drain.cancelled() and drain.exception() is not None:
                logging.getLogger(__name__).warning("drain failed: %r", drain.exception())
            await super().shutdown(sockets)

    return DrainingServer(config)


def run_processes(overrides: dict[str, Any], count: int) -> int:
    """``serve --workers N``: N server processes accepting on one listening socket, each the
    same server as ``novelcrew serve`` (its own event loop, app and connections to Redis; the
    rate limit's budget is shared in Redis). Returns the exit status.

    uvicorn's own ``workers`` mode runs its stock ``Server`` in each child, without the drain
    above; this supervisor is the small part of it we need. It binds the socket, starts the
    children (``multiprocessing`` spawn, which hands them the socket), and on SIGTERM or
    SIGINT sends each child SIGTERM, so each drains as one server does (``/health`` 503, event
    streams end with ``server_stopping``, requests in flight are answered), then waits for them
    all. A second SIGINT is passed on (the children skip their waits). A child that dies is
    replaced; one that fails to start (exit status 3, e.g. Redis unreachable) stops them all.
    A slot whose processes keep dying soon after they start is refilled after a growing pause
    (``restart_delay``), so a crash loop does not spawn interpreters back to back.

    ``/metrics`` answers for all of them: the children keep their metrics in prometheus-client's
    multiprocess files, in a fresh private directory made here (``metrics_directory``) and
    removed at the end; a child that ended is marked dead there, so its live gauges go.
    """
    import socket

    import structlog

    from novelcrew.cli import print_startup_summary
    from novelcrew.logging import configure_logging
    from novelcrew.settings import Settings

    settings = Settings(**overrides)
    configure_logging(settings, cache=True)
    log = structlog.get_logger("novelcrew.serve")
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.create_server((settings.host, settings.port), family=family, backlog=2048)
    print_startup_summary(settings, serving_on(settings, f" with {count} processes"))
    with metrics_directory() as metrics_dir:
        return _supervise(overrides, settings, sock, count, metrics_dir, log)


def _supervise(overrides: dict[str, Any], settings: Any, sock: Any, count: int,
               metrics_dir: str, log: Any) -> int:
    """``run_processes``' loop: start, watch, replace and stop the children."""
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    from prometheus_client.multiprocess import mark_process_dead

    signals: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _frame: signals.append(number))
    spawn = multiprocessing.get_context("spawn")

    started: dict[int, float] = {}  # slot -> when its process started
    quick_deaths = [0] * count  # per slot: deaths in a row, each soon after a start
    due: dict[int, float] = {}  # slot -> when its replacement starts
    buried: set[int | None] = set()  # ended children marked dead in the metrics directory

    def start(index: int) -> Any:
        child = spawn.Process(target=_serve_child, args=(overrides, sock, index, metrics_dir),
                              daemon=False, name="novelcrew-serve")
        child.start()
        started[index] = time.monotonic()
        return child

    children = [start(index) for index in range(count)]
    log.info("serve_processes_started", pids=[c.pid for c in children],
             host=settings.host, port=settings.port, metrics_dir=metrics_dir)
    passed, status = 0, 0
    while any(c.exitcode is None for c in children) or (due and not signals):
        wait([c.sentinel for c in children if c.exitcode is None], timeout=0.2)
        for number in signals[passed:]:
            passed += 1
            if passed == 1:  # kept for replacements until now; no new connection waits on it
                sock.close()
            if passed == 1 or number == signal.SIGINT:
                forward = signal.SIGTERM if passed == 1 else signal.SIGINT
                log.info("serve_processes_stopping", signal=signal.Signals(number).name)
                for child in children:
                    if child.exitcode is None and child.pid is not None:
                        os.kill(child.pid, forward)
        if signals:
            continue
        now = time.monotonic()
        for index, child in enumerate(children):
            if child.exitcode is None:
                continue
            if child.pid not in buried:  # its live gauges leave the sum (its counters stay)
                buried.add(child.pid)
                mark_process_dead(child.pid, metrics_dir)
            if index in due:
                if now >= due[index]:
                    del due[index]
                    children[index] = start(index)
                continue
            if child.exitcode == 3:  # it could not start; the next one would not either
                log.error("serve_process_failed_to_start", pid=child.pid)
                status = 3
                signals.append(signal.SIGTERM)
                break
            lived = now - started[index]
            quick_deaths[index] = quick_deaths[index] + 1 if lived < STABLE_SECONDS else 0
            delay = restart_delay(quick_deaths[index])
            log.warning("serve_process_died", pid=child.pid, exitcode=child.exitcode,
                        lived_seconds=round(lived, 1), restart_in_seconds=delay)
            due[index] = now + delay
    return status


#: a process that ran this long before it died is not in a crash loop
STABLE_SECONDS = 30.0


def restart_delay(quick_deaths: int) -> float:
    """Seconds before a dead server process is replaced: at once after a process that ran
    for a while, then 1, 2, 4... up to 30 s while each replacement dies soon after it starts."""
    return 0.0 if quick_deaths == 0 else min(30.0, 2.0 ** (quick_deaths - 1))


@contextlib.contextmanager
def metrics_directory() -> Iterator[str]:
    """A fresh private directory (``mkdtemp``: mode 0700, under ``TMPDIR``) for the metrics
    files of ``serve --workers``' children, set as ``PROMETHEUS_MULTIPROC_DIR`` for the
    children to inherit (prometheus-client reads it when it is first imported, which in a
    spawned child comes after), and removed with its files at the end. Fresh at every start,
    so no counts of an earlier run are added in: an inherited ``PROMETHEUS_MULTIPROC_DIR`` is
    replaced, not reused."""
    path = tempfile.mkdtemp(prefix="novelcrew-metrics-")
    saved = {name: os.environ.pop(name, None)
             for name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")}
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})


def _serve_child(overrides: dict[str, Any], sock: Any, index: int, metrics_dir: str) -> None:
    """One ``--workers`` process: the one-process server on the shared socket, which ends
    itself (draining) if its supervisor dies, so it never holds the port as an orphan."""
    import signal
    import threading

    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_parent, daemon=True, name="watch-parent").start()
    run_server(overrides, sockets=[sock], summary=False, index=index, metrics_dir=metrics_dir)


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
