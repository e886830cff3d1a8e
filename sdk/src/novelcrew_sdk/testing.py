"""Building blocks for plugin tests: settings, a registry with chosen plugins, a job runner,
and for tests that start a real server (``novelcrew serve``, a service a plugin talks to): a
free port, waiting until it answers, stopping it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from novelcrew.backends.base import JobStore
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job, JobEvent
from novelcrew.plugins import Plugins, load, register_module
from novelcrew.runner import JobRunner
from novelcrew.settings import Settings


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test: a private data dir, the offline model, nothing read from ``.env``."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "default_model": "offline",
        "model_backoff_seconds": 0.01,
        "model_max_backoff_seconds": 0.05,
        "log_format": "console",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_plugins(
    *modules: Any,
    entry_points: Iterable[str] = (),
    llm: Any = None,
) -> Plugins:
    """Plugins with the built-ins, the named installed entry points, and extra plugin objects.

    ``modules`` are plugin objects (modules or instances with ``@hookimpl`` methods); pass
    ``llm`` (e.g. a ``ScriptedLLM``) to register it as model provider ``scripted``. A name in
    ``entry_points`` that no installed package declares raises ``LookupError`` saying so (a
    plugin that is installed but fails to load is recorded in ``infos``, as in a server).
    """
    entry_points = list(entry_points)
    _check_installed(entry_points)
    plugins = load(allow=entry_points)
    for index, module in enumerate(modules):
        name = getattr(module, "__name__", None) or f"{type(module).__name__}-{index}"
        register_module(plugins, module, name)
    if llm is not None:
        from novelcrew_sdk.scripted import scripted_models_plugin

        register_module(plugins, scripted_models_plugin(llm), "scripted")
    return plugins


def _check_installed(names: list[str]) -> None:
    """Every name is an installed entry point of group ``novelcrew`` (or its distribution):
    a plugin whose ``pyproject.toml`` lost its entry point, or that is not installed in this
    environment, would otherwise just be absent and fail later as a ``KeyError``."""
    from importlib.metadata import entry_points as installed_entry_points

    from novelcrew.plugins import GROUP

    found = installed_entry_points(group=GROUP)
    known = {ep.name for ep in found} | {ep.dist.name for ep in found if ep.dist}
    missing = [name for name in names if name not in known]
    if missing:
        raise LookupError(
            f"no installed plugin is named {', '.join(map(repr, missing))}: declare it in your "
            f"pyproject.toml as [project.entry-points.{GROUP}] NAME = \"your_module.plugin\" "
            "and reinstall (novelcrew install -e .) in this environment; installed: "
            f"{', '.join(sorted(ep.name for ep in found)) or 'none'}")


async def run_job(
    plugins: Plugins,
    crews: str | list[str],
    inputs: Mapping[str, Any] | None = None,
    *,
    settings: Settings,
    project_id: str | None = None,
    user_id: str | None = None,
    config: Mapping[str, Any] | None = None,
    store: JobStore | None = None,
) -> tuple[Job, list[JobEvent]]:
    """Run one job to its end in this process; returns the final record and its events."""
    names = crews.split(",") if isinstance(crews, str) else list(crews)
    store = store or MemoryStore()
    await store.open()
    job = Job(crews=names, inputs=dict(inputs or {}), project_id=project_id, user_id=user_id,
              config=dict(config or {}))
    await store.create(job)
    runner = JobRunner(plugins, settings, store)
    await runner.record_queued(job)
    outcome = await runner.run(job.id)
    while outcome.retry_in is not None:
        outcome = await runner.run(job.id)
    events = await store.events(job.id, 0, limit=100_000)
    return outcome.job, events


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[Any] | None = None, *,
                  timeout: float = 90.0, log: Path | None = None) -> None:
    """Wait until ``url`` (e.g. ``http://127.0.0.1:5001/health``) answers below 500.

    Raises ``RuntimeError`` as soon as ``process`` (the server, when given) exits, with what
    it wrote to a piped stderr (or stdout), and ``TimeoutError`` after ``timeout`` seconds;
    both end with the tail of ``log``, the file the server writes its output to, when given.
    (A pipe is read only once the server exited: a server that logs much should log to a
    file, or its full pipe stops it.)
    """
    import httpx

    def logged() -> str:
        return f"\n{log.read_text(errors='replace')[-3000:]}" if log and log.exists() else ""

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if process is not None and process.poll() is not None:
            pipe = process.stderr or process.stdout
            said = pipe.read() if pipe else ""
            if isinstance(said, bytes):
                said = said.decode(errors="replace")
            raise RuntimeError(f"the server exited with {process.returncode} before {url} "
                               f"answered: {said[-3000:]}{logged()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:g}s{logged()}")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    """SIGTERM (a server drains and exits), then SIGKILL if it has not exited in ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
