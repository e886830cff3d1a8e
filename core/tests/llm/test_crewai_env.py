"""crewAI's environment (``novelcrew.crewai.env``): a fresh machine runs crews without asking
about traces, on every crewAI in the supported range."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import sys
from novelcrew.crewai.env import prepare

prepare(sys.argv[1])  # what the runner does before any crew code

from typing import Any
from crewai import Agent, Crew, Task
from crewai.llms.base_llm import BaseLLM


class Answer(BaseLLM):
    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        return "Thought: done\nFinal Answer: the lighthouse"

    async def acall(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        return self.call(messages)

    def supports_function_calling(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return 8000


for _ in range(2):
    agent = Agent(role="Reader", goal="read", backstory="reads", llm=Answer(model="answer"))
    task = Task(description="Read the story", expected_output="a word", agent=agent)
    print("RESULT", Crew(agents=[agent], tasks=[task], tracing=False).kickoff())
"""


def test_a_fresh_machine_is_never_asked_about_traces(tmp_path: Path) -> None:
    """crewAI 1.12 ignores ``CREWAI_TRACING_ENABLED=false`` until someone has answered its
    first-run question; then it collects traces, prints a panel and waits for an answer. The
    environment records the answer ``crewai traces disable`` gives, in crewAI's storage
    directory under the data directory. If this fails, crewAI no longer reads that answer
    from ``<storage>/.crewai_user.json``: see ``novelcrew.crewai.env.decline_tracing``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWAI_")}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          stdin=subprocess.DEVNULL, env={**env, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("RESULT the lighthouse") == 2
    output = (done.stdout + done.stderr).lower()
    assert "trace" not in output, done.stdout[-3000:]
    answer = json.loads((tmp_path / "data" / "crewai" / ".crewai_user.json").read_text())
    assert answer["first_execution_done"] is True and answer["trace_consent"] is False
