"""The director's share of the prompt budget on a 100k-word story: at most 1.5x the story.

The story is the example stories repeated to 100,000 words, cut into scenes of about 1,000 and
2,000 words (a novel's usual range) with the grounded fields the architect stores; the agents
answer with realistic breakdowns and shot lists. Every prompt character sent is counted
(system prompt, task, context); the ratio and the share of each scene's text the prompts kept
(the budget trims in proportion) are printed (``pytest -s``), and the ratio is asserted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from director_fixtures import (
    FixedArchitect,
    MemoryGraph,
    graph_plugin,
    grounded_breakdown,
    grounded_shots,
)

from novelcrew_director import ScenePlan
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job

STORIES = sorted((Path(__file__).resolve().parents[3] / "examples" / "stories").glob("*.txt"))
WORDS = 100_000
DIRECTOR_SHARE = 1.5


def long_story(scene_words: int) -> tuple[str, list[str]]:
    """~100k words of real prose, and its scenes (whole paragraphs, ``scene_words`` each)."""
    paragraphs: list[str] = []
    while sum(len(p.split()) for p in paragraphs) < WORDS:
        for story in STORIES:
            paragraphs += [p.strip() for p in story.read_text(encoding="utf-8").split("\n\n")
                           if p.strip()]
    scenes: list[str] = []
    current: list[str] = []
    for paragraph in paragraphs:
        current.append(paragraph)
        if sum(len(p.split()) for p in current) >= scene_words:
            scenes.append("\n\n".join(current))
            current = []
    if current:
        scenes.append("\n\n".join(current))
    return "\n\n".join(scenes), scenes


def architect_result(scenes: list[str]) -> dict[str, Any]:
    names = ["Rosa Amati", "Theo Lind", "Nell Ashby", "Sam Ashby", "Luca Moretti"]
    return {
        "title": "A Long Story", "language": "English",
        "characters": [{"id": n.split()[0].lower(), "name": n, "role": "supporting",
                        "description": f"{n}, as the story draws them over many chapters. " * 3,
                        "arc": "Beginning, middle and end of a long change. " * 3}
                       for n in names],
        "locations": [{"id": f"loc{i}", "name": f"Place {i}", "description": "A room. " * 8}
                      for i in range(12)],
        "scenes": [{"id": f"s{i:03d}", "number": i, "text": text, "int_ext": "INT",
                    "day_night": "DAY" if i % 3 else "NIGHT", "story_day": 1 + i // 4,
                    "location": f"Place {i % 12}", "characters": [
                        names[i % 5].split()[0].lower(), names[(i + 1) % 5].split()[0].lower()],
                    "summary": "What happens in this scene, in two plain sentences. " * 2,
                    "dialogue": [{"speaker": "rosa", "line": q} for q in
                                 re.findall(r'"([^"]{5,200})"', text)[:12]]}
                   for i, text in enumerate(scenes, start=1)],
    }


@pytest.mark.parametrize("scene_words", [1_000, 2_000])
async def test_director_prompts_stay_within_one_and_a_half_times_the_story(
        tmp_path: Path, scene_words: int) -> None:
    story, scenes = long_story(scene_words)
    assert len(story.split()) >= WORDS
    llm = ScriptedLLM(replies={
        "Scene Analysis Director": f"Final Answer: {json.dumps(grounded_breakdown(1))}",
        "Cinematography Specialist": "Final Answer: " + json.dumps(
            {"shots": grounded_shots(1)["shots"] * 4}),
    })
    plugins = make_plugins(graph_plugin(MemoryGraph()), FixedArchitect(architect_result(scenes)),
                           entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "architect,director",
                           {"max_parallel_scenes": 16, "write_back": False},
                           settings=settings, project_id="long")
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert len(plan.scenes) == len(scenes)
    sent = sum(len(call.prompt) for call in llm.calls)
    ratio = sent / len(story)
    print(f"\ndirector prompts on a {len(story.split())}-word story ({len(scenes)} scenes, "
          f"{len(llm.calls)} calls): {sent:,} characters = {ratio:.2f}x the story "
          f"({len(story):,} characters); target <= {DIRECTOR_SHARE}x")
    kept = re.search(r"(\d+)% of their text", " ".join(plan.warnings))
    print(f"scene texts in the prompts: {kept.group(1) if kept else 100}% of their characters "
          "(the opening and ending of each, in proportion)")
    assert ratio <= DIRECTOR_SHARE
