"""The three shims of ``novelcrew.crewai.compat`` still do their job on this crewAI.

Each test runs a real crew and checks what the shim is for; when one fails, its message says
which shim and what in crewAI it relies on, so a crewAI upgrade that breaks it is plain.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from novelcrew.crewai import compat
from novelcrew_sdk.openai_server import Fault, OpenAIServer
from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_sdk.testing import make_settings, run_job


class BadRequest(Exception):
    """What a provider raises for a request it will never answer (not worth a retry)."""

    status_code = 400


@pytest.fixture
def agent_runs() -> Iterator[list[str]]:
    """The role of every agent execution crewAI starts (its own re-runs included)."""
    from crewai.events import crewai_event_bus
    from crewai.events.types.agent_events import AgentExecutionStartedEvent

    seen: list[str] = []
    lock = threading.Lock()

    def handler(source: Any, event: Any) -> None:
        with lock:
            seen.append(str(getattr(event.agent, "role", "")))

    crewai_event_bus.on(AgentExecutionStartedEvent)(handler)
    try:
        yield seen
    finally:
        crewai_event_bus.flush()
        crewai_event_bus.off(AgentExecutionStartedEvent, handler)


async def test_shim_1_our_errors_pass_through_crewais_agent_unchanged(
    tmp_path: Path, reader_plugins_for: Any, agent_runs: list[str]
) -> None:
    def refuse(prompt: str) -> str:
        raise BadRequest("the model refuses this request")

    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(reader_plugins_for(ScriptedLLM(default=refuse)), "reader",
                           {"role": "Gatekeeper"}, settings=settings)
    from crewai.events import crewai_event_bus

    crewai_event_bus.flush()
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "model_error", job.error
    assert agent_runs.count("Gatekeeper") == 1, (
        "compat shim 1 (let_errors_through) no longer stops crewAI's agent from re-running a "
        "task after a ModelError: it relies on crewai.agent.core._passthrough_exceptions, "
        f"which this crewAI changed (the agent ran {agent_runs.count('Gatekeeper')} times)")


async def test_shim_2_only_our_retry_policy_runs(
    server: OpenAIServer, settings_for: Any, reader_plugins: Any
) -> None:
    for _ in range(20):
        server.queue(Fault.rate_limited(retry_after=0.01))
    job, _ = await run_job(reader_plugins, "reader", {},
                           settings=settings_for(model_max_retries=2))
    assert job.status == "failed", job.error
    assert len(server.calls) == 3, (
        "compat shim 2 (no_inner_retry) no longer keeps crewAI's own rate-limit retry out of "
        "our calls: it relies on crewai.llms.retry._active_llm_rate_limit_retry, which this "
        f"crewAI changed ({len(server.calls)} requests for 3 attempts)")


def test_shim_2_marks_our_llm_methods_as_crewai_looks_for_them() -> None:
    from novelcrew.llm.local import LocalLLM
    from novelcrew.llm.router import RoutedLLM

    for cls in (RoutedLLM, LocalLLM):
        for name in ("call", "acall"):
            assert getattr(vars(cls)[name], compat.RETRY_WRAPPED_MARK, False), (
                f"{cls.__name__}.{name} was wrapped by crewAI's rate-limit retry")


async def test_shim_3_no_replay_log_is_written(
    tmp_path: Path, reader_plugins_for: Any
) -> None:
    try:  # crewAI 1.15 moved it
        from crewai_core.paths import db_storage_path
    except ImportError:
        from crewai.utilities.paths import db_storage_path

    marker = "a story only this test tells, about the replay log"
    settings = make_settings(tmp_path / "data", default_model="scripted")
    llm = ScriptedLLM(default="Thought: done\nFinal Answer: read.")
    job, _ = await run_job(reader_plugins_for(llm), "reader", {"story": marker},
                           settings=settings)
    assert job.status == "succeeded", job.error
    db = Path(db_storage_path()) / "latest_kickoff_task_outputs.db"
    rows: list[Any] = []
    if db.exists():
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT * FROM latest_kickoff_task_outputs").fetchall()
    assert not [r for r in rows if marker in str(r)], (
        "compat shim 3 (without_replay_log) no longer keeps crewAI's replay log: it relies on "
        "Crew._task_output_handler, which this crewAI changed")
