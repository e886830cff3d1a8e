"""A crew whose required tool nobody registers, in a module of its own: loaded, it makes
``/health`` degraded (503), so only the test about that failure loads it."""

from __future__ import annotations

from typing import Any

from nc_arq_crews import Done, NoopIn, noop

from novelcrew import Crew, hookimpl


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(name="needs-tool", description="Needs a tool nobody registers.",
                  input_model=NoopIn, output_model=Done, run=noop, tools=("no_such_tool",)))
