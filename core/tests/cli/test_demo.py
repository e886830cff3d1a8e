"""The demo client end to end: it starts a real server, submits through ``/crews/execute``,
follows the event stream and prints the result (here with the small test crews)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[3] / "examples" / "client" / "demo.py"


def test_demo_runs_a_chain_through_a_server_it_starts(plugin_dir: Path, tmp_path: Path) -> None:
    story = tmp_path / "lighthouse.md"
    story.write_text("Maya climbed the lighthouse stairs. The storm came.")
    env = {**os.environ, "PYTHONPATH": str(plugin_dir), "NOVELCREW_PLUGINS": "clitest",
           "COLUMNS": "150"}
    for key in ("OPENROUTER_API_KEY", "NOVELCREW_OPENROUTER_API_KEY", "NOVELCREW_MODEL"):
        env.pop(key, None)
    proc = subprocess.run([sys.executable, str(DEMO), "--story", str(story),
                           "--crews", "analyse,plan"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "submitted lighthouse.md" in proc.stderr and "job succeeded" in proc.stderr
    assert "offline" in proc.stderr and "OPENROUTER_API_KEY" in proc.stderr
    # each result through the renderer the test plugin registers, loaded where the demo runs
    for text in ("The Lighthouse: A keeper keeps a light.", "Plan: 1 shot(s)",
                 "INT. LIGHTHOUSE - NIGHT"):
        assert text in proc.stdout, proc.stdout


def test_an_error_from_novel_movies_routes_is_read_as_a_message() -> None:
    """``POST /crews/execute`` errors carry ``error`` as a string (the original's shape), not
    the native envelope: the client reports the message, not an ``AttributeError``."""
    import httpx

    from novelcrew.cli.jobs import _server_error

    compat = httpx.Response(422, json={"success": False, "job_id": "", "error": "crew_type "
                                       "must name 1 to 10 crews", "error_type": "invalid_input"})
    error = _server_error(compat)
    assert str(error) == "crew_type must name 1 to 10 crews"
    assert error.status == 422
    native = httpx.Response(404, json={"error": {"type": "job_not_found", "message": "no job"}})
    assert (str(_server_error(native)), _server_error(native).status) == ("no job", 404)


def test_the_demo_retries_a_lost_submission_with_the_same_idempotency_key() -> None:
    import importlib.util

    from novelcrew.cli.jobs import ServerError

    spec = importlib.util.spec_from_file_location("nc_demo", DEMO)
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)

    class Flaky:
        def __init__(self, failures: list[ServerError]) -> None:
            self.failures, self.keys = failures, []

        def request(self, method: str, path: str, **kwargs: object) -> dict[str, str]:
            self.keys.append(kwargs["headers"]["Idempotency-Key"])  # type: ignore[index]
            if self.failures:
                raise self.failures.pop(0)
            return {"job_id": "j1"}

    client = Flaky([ServerError("read timed out"), ServerError("in use", 409)])
    assert demo.submit(client, {"crew_type": "x"}, pause=0) == {"job_id": "j1"}
    assert len(client.keys) == 3 and len(set(client.keys)) == 1
    refused = Flaky([ServerError("bad input", 422)])
    try:
        demo.submit(refused, {}, pause=0)
    except ServerError as exc:
        assert exc.status == 422 and len(refused.keys) == 1
    else:
        raise AssertionError("a 422 is not retried")
