"""Running crewAI inside novelcrew: a hardened environment, and kickoffs routed to their job.

crewAI is imported only here and in the model layer, and only when a crew runs: importing it
costs seconds, and its defaults (telemetry, tracing prompts, storage in the home folder) are
wrong for a server. ``prepare()`` fixes the environment before the first import.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from novelcrew.context import RunContext, current_context

_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "CREWAI_DISABLE_TRACKING": "true",
}
_prepared = threading.Lock()
_listeners_installed = False


def prepare(data_dir: Path | None = None) -> None:
    """Set crewAI's environment; call before crewAI is first imported (idempotent)."""
    for key, value in _ENV.items():
        os.environ[key] = value
    if data_dir is None:
        from novelcrew.settings import get_settings

        data_dir = get_settings().resolved_data_dir
    storage = Path(data_dir).expanduser().resolve() / "crewai"
    storage.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CREWAI_STORAGE_DIR", str(storage))


def install_listeners() -> None:
    """Route crewAI's process-global events to the job whose context emitted them."""
    global _listeners_installed
    with _prepared:
        if _listeners_installed:
            return
        prepare()
        from crewai.events import crewai_event_bus
        from crewai.events.types.task_events import TaskStartedEvent

        @crewai_event_bus.on(TaskStartedEvent)
        def _task_started(source: Any, event: Any) -> None:
            ctx = current_context.get()
            if ctx is None:
                return
            name = _task_label(event)
            ctx.current_task = name
            ctx.emit_threadsafe("task_started", name, task=name, agent=event.agent_role)

        _listeners_installed = True


def _task_label(event: Any) -> str:
    task = getattr(event, "task", None)
    name = getattr(task, "name", None) or getattr(event, "task_name", None)
    if name:
        return str(name)
    desc = getattr(task, "description", "") or ""
    return desc.strip().splitlines()[0][:80] if desc else "task"


async def kickoff(ctx: RunContext, crew: Any, inputs: dict[str, Any]) -> Any:
    """Kick off a fresh crewAI ``Crew`` for ``ctx``'s job and return its ``CrewOutput``.

    Progress counts the crew's tasks; cancellation is checked after every agent step and task,
    and cancelling the awaiting asyncio task stops the kickoff too.
    """
    install_listeners()
    ctx.check_cancelled()
    tasks = list(getattr(crew, "tasks", []) or [])
    await ctx.add_tasks(len(tasks))
    loop = asyncio.get_running_loop()

    def step_callback(_step: Any) -> None:
        ctx.check_cancelled()

    def task_callback(output: Any) -> None:
        name = getattr(output, "name", None) or (getattr(output, "description", "") or "")[:80]
        future = asyncio.run_coroutine_threadsafe(ctx.task_finished(str(name)), loop)
        try:
            future.result(timeout=30)
        except Exception:
            pass
        ctx.check_cancelled()

    crew.step_callback = step_callback
    crew.task_callback = task_callback
    token = current_context.set(ctx)
    try:
        return await asyncio.to_thread(crew.kickoff, inputs=inputs)
    finally:
        current_context.reset(token)
