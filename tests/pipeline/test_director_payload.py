"""The chain against a real Payload 3 server: the director takes the project's notes."""

from __future__ import annotations

from pathlib import Path

from pipeline_fixtures import STORY, replies

from novelcrew_director import ScenePlan
from novelcrew_payload.testing import PayloadServer
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job


async def test_the_director_reads_the_project_from_payload(tmp_path: Path) -> None:
    server = PayloadServer(data_dir=tmp_path / "payload-db").start()
    try:
        llm = ScriptedLLM(replies=replies())
        plugins = make_plugins(entry_points=["architect", "director", "pathrag", "payload"],
                               llm=llm)
        settings = make_settings(tmp_path / "data", default_model="scripted",
                                 plugin_config={"payload": {"url": server.url,
                                                           "api_key": server.api_key}})
        project_id = str(server.seeded["projectId"])
        job, events = await run_job(plugins, ["architect", "director"], {"story_text": STORY},
                                    settings=settings, project_id=project_id)
    finally:
        server.stop()
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert plan.scenes and not plan.failed_scenes
    prompts = [c.prompt for c in llm.calls if c.role == "Scene Analysis Director"]
    assert prompts
    for prompt in prompts:  # the seeded project's notes (see the payload test server's seed)
        assert "Tone: melancholic" in prompt and "Mood: quiet" in prompt
        assert "Core premise: A keeper who has not left her lighthouse" in prompt
    assert not [e for e in events if e.type == "warning" and e.crew == "director"]
