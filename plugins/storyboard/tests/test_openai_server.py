"""Over real HTTP to a local OpenAI-compatible server (as to OpenRouter, vLLM or Ollama): each
agent role routed to its own model, a 429 retried, the storyboard ready for generation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from storyboard_fixtures import ARTIST, BOARDER, artist_reply, final, previous, shots_reply

from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.openai_server import Fault, OpenAIServer
from novelcrew_storyboard import Storyboard


def answer(body: dict[str, Any]) -> str:
    """Reply as whichever agent the system prompt names, to the prompt's own content."""
    messages = body.get("messages") or []
    system = " ".join(str(m.get("content")) for m in messages if m.get("role") == "system")
    prompt = "\n\n".join(str(m.get("content")) for m in messages)
    if BOARDER in system:
        return final(shots_reply(prompt))
    assert ARTIST in system, system[:300]
    return artist_reply(prompt)


async def test_routed_per_agent_over_http_with_a_retried_429(tmp_path: Path) -> None:
    with OpenAIServer(default=answer) as server:
        server.queue(Fault.rate_limited(retry_after=0.05), model="small")
        settings = make_settings(
            tmp_path / "data", default_model="openai/big", openai_base_url=server.url,
            openai_api_key="sk-test", model_timeout_seconds=5.0, model_max_retries=2,
            agent_models={BOARDER: "openai/small"})
        plugins = make_plugins(entry_points=["storyboard"])
        job, _ = await run_job(plugins, "storyboard", {"previous": previous()},
                               settings=settings, project_id="p-http")
        assert job.status == "succeeded", job.error
        board = Storyboard.model_validate(job.result["storyboard"])
        assert board.ready_for_media_generation and not board.offline
        assert board.model.models == {ARTIST: "openai/big", BOARDER: "openai/small"}
        big, small = server.requests_for("big"), server.requests_for("small")
        assert len(big) == 3  # characters, locations, style
        assert sorted(r.outcome for r in small) == ["429", "ok", "ok"]  # a 429 retried
        assert board.scenes[1].shots[0].action == "scene 2 shot 1 action"
        mara = board.bible.character("mara-vell")
        assert mara is not None and mara.hair.stated
        assert set(job.usage) == {"openai/big", "openai/small"}
        # what was sent: the scene's own material, and none of crewAI's structured-output
        # scaffolding that tells a model to "preserve the original content"
        sent = ["\n".join(str(m.get("content")) for m in r.messages) for r in server.calls]
        assert not any("Preserve the original content" in text for text in sent)
        boards = [re.findall(r"^SCENE (\d+)", t, re.M) for t in sent
                  if "Board the planned shots" in t]
        assert all(len(found) == 1 for found in boards)  # one scene per prompt
        assert {found[0] for found in boards} == {"1", "2"}
