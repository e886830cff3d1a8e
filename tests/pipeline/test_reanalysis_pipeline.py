"""Re-analysis replaces, never mixes, end to end: after a 12-scene analysis and a 3-scene
re-analysis of one project, the director (reading the project's graph) plans exactly 3 scenes.

Real architect, pathrag (embedded graph) and director plugins; the architect's model is
scripted (one scene per paragraph, its opening and closing words copied from the text), the
director runs on the ``offline`` model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from novelcrew_director import ScenePlan
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job

PLACES = ["Harbour", "Lighthouse", "Chapel", "Boatyard"]


def draft(scenes: int, who: str) -> str:
    lines = [f"Drafts of {who}", ""]
    for n in range(1, scenes + 1):
        lines += [f"{who} walked to the {PLACES[n % 4]} in part {n} of the draft and "
                  f"waited there until the light changed over the water.", ""]
    return "\n".join(lines)


def analyst(prompt: str) -> str:
    text = re.search(r"STORY TEXT:\s*<<<\n(.*?)\n>>>", prompt, re.S)
    paragraphs = [p for p in (text.group(1) if text else "").split("\n\n") if " walked " in p]
    who = paragraphs[0].split(" walked")[0] if paragraphs else "Nobody"
    return json.dumps({
        "characters": [{"name": who, "role": "protagonist"}],
        "locations": [{"name": p} for p in PLACES],
        "scenes": [{"number": n, "opening": " ".join(p.split()[:8]),
                    "closing": " ".join(p.split()[-6:]), "summary": f"{who}, part {n}.",
                    "location": p.split()[4], "int_ext": "EXT", "day_night": "DAY",
                    "characters": [who]} for n, p in enumerate(paragraphs, start=1)],
        "themes": ["waiting"]})


async def test_the_director_plans_exactly_the_latest_analysis(tmp_path: Path) -> None:
    overview = {"title": "Drafts", "logline": "Someone waits.", "genre": "drama",
                "tone": "quiet", "themes": ["waiting"]}
    llm = ScriptedLLM(replies={"Story Structure Analyst": analyst,
                               "Knowledge Graph Architect": json.dumps(overview)})
    plugins = make_plugins(entry_points=["architect", "pathrag", "director"], llm=llm)
    scripted = make_settings(tmp_path / "data", default_model="scripted")
    for scenes, who in ((12, "Mara Quell"), (3, "Ivo Brand")):
        job, _ = await run_job(plugins, "architect", {"story_text": draft(scenes, who)},
                               settings=scripted, project_id="redrafted")
        assert job.status == "succeeded", job.error
        assert len(job.result["architect"]["scenes"]) == scenes

    offline = make_settings(tmp_path / "data", default_model="offline")
    job, _ = await run_job(plugins, "director", {}, settings=offline, project_id="redrafted")
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert [s.number for s in plan.scenes] == [1, 2, 3]
    names = {name for s in plan.scenes for name in getattr(s, "characters", [])}
    assert "Mara Quell" not in json.dumps(job.result["director"])
    assert names <= {"Ivo Brand"}
