"""The logline crew, tested through novelcrew's public API with the SDK's scripted LLM."""

from __future__ import annotations

import json

from novelcrew_sdk import ScriptedLLM, check_plugin

STORY = "Mara Vell keeps the Gannet Point light. When a storm wrecks a boat, she must choose."
REPLY = json.dumps(
    {
        "logline": "A lighthouse keeper facing automation must save a wrecked crew to prove "
        "the light still needs her.",
        "tagline": "Some lights need a keeper.",
    }
)


def test_plugin_is_listed(novelcrew_plugins):
    plugins = novelcrew_plugins(entry_points=["logline"])
    assert plugins.infos["logline"].crews == ["logline"]
    assert plugins.infos["logline"].error is None


async def test_writes_logline_and_tagline(novelcrew_plugins, novelcrew_run):
    llm = ScriptedLLM(replies={"Logline Writer": REPLY})
    plugins = novelcrew_plugins(entry_points=["logline"], llm=llm)
    job, events = await novelcrew_run(plugins, "logline", {"story_text": STORY, "title": "Keeper"})
    assert job.status == "succeeded", job.error
    assert job.result["logline"]["tagline"] == "Some lights need a keeper."
    assert any(STORY in call.prompt for call in llm.calls)
    assert {"task_started", "task_finished", "succeeded"} <= {e.type for e in events}


async def test_empty_story_is_rejected(novelcrew_plugins, novelcrew_run):
    plugins = novelcrew_plugins(entry_points=["logline"], llm=ScriptedLLM(default=REPLY))
    job, _ = await novelcrew_run(plugins, "logline", {"story_text": ""})
    assert job.status == "failed"
    assert job.error.type == "invalid_input"


def test_contract():
    report = check_plugin("logline", llm=ScriptedLLM(default=REPLY), entry_points_for_tools=())
    assert report.crews == {"logline": "succeeded"}
