"""A 100,000-word story: split under the prompt budget, sent to models about once, merged."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from architect_fixtures import ANALYST, ARCHITECT, SYNTHESIS_REPLY, RecordingGraph, story_text_of

from novelcrew_architect.models import StoryAnalysis
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM

_VOCABULARY = """
the sea wind lamp harbour road letter night morning salt rope boat window door stair
she he they walked looked waited listened remembered carried opened closed turned
slowly quietly again before after under over across toward against beside within
grey cold bright narrow long old small heavy empty distant familiar broken patient
"""
WORDS = _VOCABULARY.split()


def generate_story(words: int = 100_000, chapters: int = 40) -> str:
    """A long, plain story: chapters of paragraphs of sentences, with recurring names."""
    rng = random.Random(7)
    per_chapter = words // chapters
    parts = ["The Long Tide", ""]
    for number in range(1, chapters + 1):
        parts += [f"Chapter {number}", ""]
        written = 0
        while written < per_chapter:
            sentences = []
            for _ in range(rng.randint(4, 8)):
                n = rng.randint(8, 16)
                body = " ".join(rng.choice(WORDS) for _ in range(n))
                sentences.append(body.capitalize() + ".")
                written += n
            who = rng.choice(["Mara Quell", "Mara", "Captain Ives", "Ives"])
            sentences.append(f"{who} said nothing in chapter {number}.")
            written += 5
            parts += [" ".join(sentences), ""]
    return "\n".join(parts)


def analyst(prompt: str) -> str:
    """One scene per chapter heading in the chunk, with the recurring characters."""
    text = story_text_of(prompt)
    numbers = [int(n) for n in re.findall(r"^Chapter (\d+)$", text, re.M)]
    if not numbers:  # a chunk cut inside a long chapter
        numbers = [int(n) for n in re.findall(r"in chapter (\d+)\.", text)][:1]
    return json.dumps({
        "characters": [
            {"name": "Mara" if numbers and numbers[0] // 2 % 2 else "Mara Quell",
             "role": "protagonist", "description": "A harbour pilot.",
             "arc": f"In chapter {numbers[0] if numbers else 0} she holds the line."},
            {"name": "Captain Ives", "aliases": ["Ives"], "role": "antagonist"},
        ],
        "locations": [{"name": "The Harbour", "atmosphere": "grey"}],
        "scenes": [{"number": i + 1, "summary": f"Events of chapter {n}.",
                    "location": "harbour", "characters": ["Mara", "Ives"]}
                   for i, n in enumerate(numbers)],
        "themes": ["endurance"],
    })


async def test_a_100k_word_story_stays_under_the_prompt_budget(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    story = generate_story()
    assert 100_000 <= len(story.split()) <= 105_000
    llm = ScriptedLLM(replies={ANALYST: analyst, ARCHITECT: json.dumps(SYNTHESIS_REPLY)})
    plugins = make_plugins(graph.plugin(), entry_points=["architect"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "architect", {"story_text": story}, settings=settings,
                           project_id="proj-long")
    assert job.status == "succeeded", job.error
    analysis = StoryAnalysis.model_validate(job.result["architect"])

    calls = llm.calls
    budget = settings.prompt_token_budget
    assert max(c.usage["prompt_tokens"] for c in calls) <= budget
    story_tokens = len(story) // 4
    total_prompt = sum(c.usage["prompt_tokens"] for c in calls)
    # the architect's share of the whole pipeline's 3x budget (the director has the rest)
    largest = max(c.usage["prompt_tokens"] for c in calls)
    print(f"architect prompts: {total_prompt:,} tokens for a {story_tokens:,}-token story "
          f"({total_prompt / story_tokens:.2f}x), largest {largest:,}")
    assert total_prompt <= 1.5 * story_tokens, (total_prompt, story_tokens)

    analyst_calls = llm.calls_for(ANALYST)
    assert analysis.statistics.chunks == len(analyst_calls) > 10
    # every paragraph is analysed once: the chunks' story text adds up to the story
    analysed = sum(len(story_text_of(c.prompt)) for c in analyst_calls)
    assert len(story) * 0.99 <= analysed <= len(story) * 1.01

    assert [s.number for s in analysis.scenes] == list(range(1, len(analysis.scenes) + 1))
    chapters = [int(s.summary.split()[-1].rstrip(".")) for s in analysis.scenes]
    assert chapters == sorted(chapters) and chapters[0] == 1 and chapters[-1] == 40
    assert [c.name for c in analysis.characters] == ["Mara Quell", "Captain Ives"]
    # the arc keeps its beginning, middle and end across all chunks (not the first four)
    arc = analysis.characters[0].arc
    mentioned = [int(n) for n in re.findall(r"chapter (\d+)", arc)]
    assert len(mentioned) == 6 and mentioned == sorted(mentioned), arc
    assert mentioned[0] == 1 and mentioned[-1] >= 39 and any(15 <= n <= 25 for n in mentioned)
    assert analysis.statistics.words == len(story.split())
    # the statistics report what the model layer counted for the job
    assert analysis.statistics.prompt_tokens_estimate == sum(
        u.prompt_tokens for u in job.usage.values())
    assert analysis.statistics.model_calls == len(calls)
    assert len(graph.payloads) >= 2  # written in batches
    # one graph chunk per scene: its own text
    assert sum(len(p["chunks"]) for p in graph.payloads) == len(analysis.scenes)


async def test_chunks_in_flight_are_twice_the_models_call_limit(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    """A long novel's chunks are not all started at once (each would park a crew and a thread
    in the model's queue): twice as many as the model takes calls at once."""
    llm = ScriptedLLM(replies={ANALYST: analyst, ARCHITECT: json.dumps(SYNTHESIS_REPLY)},
                      latency=0.05)  # chunks overlap as with a provider
    plugins = make_plugins(graph.plugin(), entry_points=["architect"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted", model_concurrency=1)
    job, events = await run_job(plugins, "architect", {"story_text": generate_story(40_000, 16)},
                                settings=settings, project_id="proj-long")
    assert job.status == "succeeded", job.error
    assert len(llm.calls_for(ANALYST)) > 2
    in_flight = peak = 0
    for event in events:  # a chunk is in flight from its task's start to its publication
        if event.type == "task_started" and event.message.startswith("Analyse part"):
            in_flight += 1
            peak = max(peak, in_flight)
        elif event.type == "partial":
            in_flight -= 1
    assert peak == 2
