"""Estimates: what a job would cost (model calls, tokens, money per model) before it runs.

``estimate_job`` runs the job's chain as a dry run (see ``engine``) and answers an
``Estimate``; ``POST /jobs`` with ``dry_run: true`` and ``novelcrew estimate`` both use it.
The engine imports crewAI, so it is imported here only when an estimate is made.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from novelcrew.estimate.models import CrewEstimate, Estimate, ModelEstimate, Totals

if TYPE_CHECKING:
    from collections.abc import Mapping

    from novelcrew.jobs import Job
    from novelcrew.llm.prices import Price
    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings

__all__ = ["CrewEstimate", "Estimate", "ModelEstimate", "Totals", "estimate_job"]


async def estimate_job(job: Job, plugins: Plugins, settings: Settings,
                       prices: Mapping[str, Price] | None = None) -> Estimate:
    """The expected calls, tokens and money of ``job``; nothing is called, stored or
    written.

    crewAI is imported first, in a thread (not on the event loop) and under its import lock:
    a dry run that comes while the job backend's warm-up imports crewAI waits for it, where
    two imports at once would fail in crewAI's import cycles."""
    from novelcrew.crewai.env import import_crewai

    await asyncio.to_thread(import_crewai, settings.data_dir)
    from novelcrew.estimate.engine import estimate_job as run

    result: Any = await run(job, plugins, settings, prices)
    return result
