"""A dry run's estimate against a real run of the same job, on every example story.

The real run: architect -> director -> storyboard (real plugins, embedded graph) against the
local OpenAI-compatible server, each crew routed to its own model so the job's usage per model
is the usage per crew. The server answers like a model that follows the prompts: the analyst
and the overview with the offline extractor filling the answer their prompts describe, the
director's agents and the storyboard's agents with JSON of the shape their prompts describe,
sized by what the prompt holds. The estimate must come within 25% of that run's calls and
prompt tokens, per crew and in total, without the server seeing a single request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from estimate_fixtures import reply

from novelcrew.estimate import estimate_job
from novelcrew.jobs import Job
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.openai_server import OpenAIServer

STORIES = sorted((Path(__file__).parents[2] / "examples" / "stories").glob("*.txt"))
CREWS = ["architect", "director", "storyboard"]
ROUTES = {"architect": "openai/analyst", "director": "openai/director",
          "storyboard": "openai/boarder"}
TOLERANCE = 0.25


def _near(estimate: int, actual: int) -> bool:
    return abs(estimate - actual) <= TOLERANCE * actual


@pytest.mark.parametrize("story", STORIES, ids=[s.stem for s in STORIES])
async def test_the_estimate_is_within_a_quarter_of_the_real_run(tmp_path: Path,
                                                                story: Path) -> None:
    text = story.read_text(encoding="utf-8")
    plugins = make_plugins(entry_points=["architect", "pathrag", "director", "storyboard"])
    with OpenAIServer(default=reply) as server:
        settings = make_settings(tmp_path / "data", default_model="openai/analyst",
                                 openai_base_url=server.url, openai_api_key="sk-test",
                                 crew_models=ROUTES, model_timeout_seconds=30.0)
        estimate = await estimate_job(Job(crews=CREWS, inputs={"story_text": text},
                                          project_id="estimated"), plugins, settings)
        assert server.calls == []  # the dry run called no model
        job, _ = await run_job(plugins, CREWS, {"story_text": text}, settings=settings,
                               project_id="real")
    assert job.status == "succeeded", job.error
    figures = []
    for crew, model in ROUTES.items():
        real, guess = job.usage[model], estimate.by_crew[crew]
        assert guess.models == [model]
        figures.append(f"{crew}: calls {guess.calls}/{real.calls}, prompt tokens "
                       f"{guess.prompt_tokens}/{real.prompt_tokens}, completion tokens "
                       f"{guess.completion_tokens}/{real.completion_tokens}")
    print(f"\n{story.stem} (estimate/real): " + "; ".join(figures))
    for crew, model in ROUTES.items():
        real, guess = job.usage[model], estimate.by_crew[crew]
        assert _near(guess.calls, real.calls), figures
        assert _near(guess.prompt_tokens, real.prompt_tokens), figures
    real_calls = sum(u.calls for u in job.usage.values())
    real_prompt = sum(u.prompt_tokens for u in job.usage.values())
    assert _near(estimate.total.calls, real_calls)
    assert _near(estimate.total.prompt_tokens, real_prompt)
