"""Running the story crews on a gold story, in this process, as ``novelcrew run`` does.

The job goes through the core's ``JobRunner`` on a ``MemoryStore``, so what is scored is what a
server would have produced; the director and the storyboard join the chain when plugins
register them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from novelcrew.jobs import Job

__all__ = ["PipelineError", "crews_for", "run_job", "run_story"]


class PipelineError(RuntimeError):
    """The crews did not produce a result to score (the job failed or was cancelled)."""


def crews_for(plugins: Any) -> list[str]:
    """``architect``, then ``director`` and ``storyboard`` as far as they are installed."""
    names = set(plugins.registry.crews)
    if "architect" not in names:
        raise PipelineError("the architect crew is not installed (pip install novelcrew-architect)")
    chain = ["architect"]
    for crew in ("director", "storyboard"):
        if crew not in names:
            break
        chain.append(crew)
    return chain


async def _run(job: Job, plugins: Any, settings: Any) -> Job:
    from novelcrew.backends.memory import MemoryStore
    from novelcrew.runner import JobRunner

    store = MemoryStore()
    await store.open()
    await store.create(job)
    runner = JobRunner(plugins, settings, store)
    await runner.emit(job, "queued", message="job queued", data={"crews": job.crews})
    outcome = await runner.run(job.id, threading.Event())
    while outcome.retry_in is not None:
        await asyncio.sleep(outcome.retry_in)
        outcome = await runner.run(job.id, threading.Event())
    return outcome.job


def run_story(text: str, *, title: str | None, model: str | None, settings: Any,
              plugins: Any, project_id: str | None = None) -> dict[str, Any]:
    """The finished job record (as JSON data) of the scored chain run on one story."""
    inputs: dict[str, Any] = {"story_text": text}
    if title:
        inputs["title"] = title
    return run_job(crews_for(plugins), inputs, model=model, settings=settings,
                   plugins=plugins, project_id=project_id)


def run_job(crews: list[str], inputs: dict[str, Any], *, model: str | None, settings: Any,
            plugins: Any, project_id: str | None = None) -> dict[str, Any]:
    """Run one job to its end here; its record as JSON data, or ``PipelineError``.

    The runner sets crewAI's environment before any crew code runs."""
    job = Job(crews=crews, inputs=inputs, project_id=project_id,
              config={"model": model} if model else {})
    final = asyncio.run(_run(job, plugins, settings))
    if final.status.value != "succeeded":
        error = final.error
        reason = f"{error.type}: {error.message}" if error else final.status.value
        raise PipelineError(f"the job {final.status.value}: {reason}")
    return final.model_dump(mode="json")
