"""Entry point of the payload plugin: its hook implementations.

Kept light on purpose: importing it imports neither crewAI nor any HTTP call; tools are built
per job and the observer reads the process settings (``get_settings()``) when an event comes.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from novelcrew import hookimpl
from novelcrew.settings import get_settings
from novelcrew_payload.observer import observe
from novelcrew_payload.tools import tool_specs


@hookimpl
def register_tools(register: Any) -> None:
    """``payload_read_project``, ``payload_read_story``, ``payload_update_project``."""
    for tool in tool_specs():
        register(tool)


@hookimpl
def job_event(event: Any, job: Any) -> Coroutine[Any, Any, None] | None:
    """Move the job's project through Novel Movie's workflow steps (see ``workflow.py``)."""
    return observe(event, job, get_settings)
