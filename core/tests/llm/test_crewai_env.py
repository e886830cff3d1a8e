"""crewAI's environment (``novelcrew.crewai.env``): a fresh machine runs crews without asking
about traces, on every crewAI in the supported range."""

from __future__ import annotations

import json
import os
from pathlib import Path

from nc_subprocess import run_script

SCRIPT = r"""
import sys
from novelcrew.crewai.env import prepare

prepare(sys.argv[1])  # what the runner does before any crew code

from nc_crewai_child import kickoff, FixedAnswer

for _ in range(2):
    print("RESULT", kickoff(FixedAnswer(model="answer")))
"""


def test_a_fresh_machine_is_never_asked_about_traces(tmp_path: Path) -> None:
    """crewAI 1.12 ignores ``CREWAI_TRACING_ENABLED=false`` until someone has answered its
    first-run question; then it collects traces, prints a panel and waits for an answer. The
    environment records the answer ``crewai traces disable`` gives, in crewAI's storage
    directory under the data directory. If this fails, crewAI no longer reads that answer
    from ``<storage>/.crewai_user.json``: see ``novelcrew.crewai.env.decline_tracing``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWAI_")}
    done = run_script(SCRIPT, str(tmp_path / "data"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("RESULT the lighthouse") == 2
    output = (done.stdout + done.stderr).lower()
    assert "trace" not in output, done.stdout[-3000:]
    answer = json.loads((tmp_path / "data" / "crewai" / ".crewai_user.json").read_text())
    assert answer["first_execution_done"] is True and answer["trace_consent"] is False
