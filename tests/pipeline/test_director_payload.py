"""The chain against a real Payload 3 server: the director takes the project's notes.

Novel Movie links a project's tone, mood and target audience to records of other collections
(lists of ids at ``depth=0``); other setups keep them as text. Either way the director's
prompt carries the words, never a record's id.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pipeline_fixtures import STORY, replies

from novelcrew_director import ScenePlan
from novelcrew_payload.testing import PayloadServer
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job

#: the seeded project's notes (see the payload test server's seed.mjs), as each shape gives them
LINKED = {"Tone": "Melancholic, Wry", "Mood": "Brooding",
          "Target audience": "Adults, Fans of Maritime Folklore"}
TEXT = {"Tone": "melancholic", "Mood": "quiet", "Target audience": "adults"}


def note_lines(prompt: str) -> dict[str, str]:
    """The prompt's ``Tone:``, ``Mood:`` and ``Target audience:`` lines, by label."""
    return {label: value.strip() for label, value in
            re.findall(r"^(Tone|Mood|Target audience): (.*)$", prompt, flags=re.M)}


@pytest.mark.parametrize(("env", "notes"), [({}, LINKED), ({"PAYLOAD_TEXT_NOTES": "1"}, TEXT)],
                         ids=["relationships", "text"])
async def test_the_director_reads_the_project_from_payload(
        tmp_path: Path, env: dict[str, str], notes: dict[str, str]) -> None:
    server = PayloadServer(data_dir=tmp_path / "payload-db", env=env).start()
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
    for prompt in prompts:
        assert note_lines(prompt) == notes  # the words, not the linked records' ids
        assert "Core premise: A keeper who has not left her lighthouse" in prompt
    assert not [e for e in events if e.type == "warning" and e.crew == "director"]
