"""A budget reached inside the director (which turns a failed call into a failed scene and
plans the rest) still stops the job with ``budget_exceeded``: the architect's finished result
is kept, the director's is not half-stored, and no call past the cap reaches the model."""

from __future__ import annotations

from pathlib import Path

from model_replies import director_reply

from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.openai_server import OpenAIServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stories"


async def test_a_budget_reached_in_the_director_stops_the_job_and_keeps_the_architect(
    tmp_path: Path,
) -> None:
    story = (EXAMPLES / "the-orchard-at-kestrel-hill.txt").read_text(encoding="utf-8")
    with OpenAIServer(default=director_reply, cost=0.001) as server:
        settings = make_settings(tmp_path / "data", default_model="openai/main",
                                 crew_models={"architect": "offline"},
                                 openai_base_url=server.url, openai_api_key="sk-local")
        job, events = await run_job(
            make_plugins(entry_points=["architect", "pathrag", "director"]),
            ["architect", "director"], {"story_text": story, "max_parallel_scenes": 1},
            settings=settings, project_id="orchard", config={"max_cost_usd": 0.003})
        calls = len(server.calls)
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "budget_exceeded", job.error
    assert job.error.crew == "director"
    assert job.error.details["spent"]["cost_usd"] >= 0.003
    assert "architect" in job.result and "director" not in job.result
    assert calls == 3  # one scene at a time: the fourth call was refused
    assert job.usage["openai/main"].calls == 3
    assert [e.type for e in events][-1] == "failed"
