"""A crew that declares crewAI agents (it calls no model): a worker that loads it imports
crewAI before it takes a job. Kept apart from ``nc_arq_crews`` so other tests' workers start
without that import."""

from __future__ import annotations

from typing import Any

from nc_arq_crews import Done, NoopIn, noop

from novelcrew import Crew, hookimpl


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="agentic", description="Declares agents; does nothing.",
                  input_model=NoopIn, output_model=Done, run=noop, agents=("writer",)))
