"""A 100,000-word story: every prompt stays within the prompt budget, and every shot is boarded."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest
from storyboard_fixtures import ARTIST, BOARDER, artist_reply, final, replies

from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_storyboard import Storyboard

WORDS = ("salt", "lamp", "harbour", "rope", "tide", "letter", "gull", "stone", "window",
         "boat", "storm", "kettle", "ledger", "net", "shadow", "door", "bell", "fog")


def long_story(words: int = 100_000, scenes: int = 80, people: int = 30,
               places: int = 12) -> dict[str, Any]:
    rnd = random.Random(7)
    names = [f"Person{i:02d} Surname{i:02d}" for i in range(people)]
    characters = [{"id": f"person{i:02d}", "name": n, "aliases": [n.split()[0]],
                   "role": "supporting", "description": f"{n.split()[0]} is tall, with "
                   f"{rnd.choice(['red', 'black', 'fair'])} hair and a slow way of speaking."}
                  for i, n in enumerate(names)]
    locations = [{"id": f"place-{i}", "name": f"Place {i}", "description":
                  f"A {rnd.choice(WORDS)} yard by the water.", "atmosphere": "cold"}
                 for i in range(places)]
    per_scene = words // scenes
    analysis_scenes, plan_scenes = [], []
    for n in range(1, scenes + 1):
        cast = rnd.sample(range(people), 3)
        sentences, count = [], 0
        while count < per_scene:
            who = names[rnd.choice(cast)].split()[0]
            sentence = f"{who} " + " ".join(rnd.choice(WORDS) for _ in range(11)) + "."
            sentences.append(sentence)
            count += 12
        analysis_scenes.append({
            "id": f"s{n:03d}", "number": n, "int_ext": "EXT", "day_night": "NIGHT",
            "story_day": (n - 1) // 10 + 1, "location": f"place-{n % places}",
            "characters": [f"person{i:02d}" for i in cast], "summary": f"Scene {n} happens.",
            "text": " ".join(sentences)})
        plan_scenes.append({
            "number": n, "heading": f"EXT. PLACE {n % places} - NIGHT",
            "location": f"place-{n % places}", "characters": [f"person{i:02d}" for i in cast],
            "shots": [{"number": k, "size": rnd.choice(["WS", "MS", "CU"]), "angle": "eye level",
                       "movement": "static", "support": "sticks", "lens_mm": 35,
                       "subjects": [f"person{cast[k % 3]:02d}"], "coverage": "single",
                       "estimated_duration_seconds": rnd.choice([3, 6, 11]),
                       "notes": "the beat lands"} for k in range(1, 7)]})
    return {"architect": {"title": "A Long Tide", "characters": characters,
                          "locations": locations, "scenes": analysis_scenes},
            "director": {"scenes": plan_scenes}}


def looks_for_asked_ids(prompt: str) -> str:
    """Characters answered for exactly the ids the prompt asks about."""
    if '{"characters"' not in prompt:
        return artist_reply(prompt)
    asked = re.search(r"one entry per id in (\[[^\]]*\])", prompt)
    assert asked, prompt[-2000:]
    ids = json.loads(asked.group(1))
    return final({"characters": [{"id": i, "hair": f"hair of {i}"} for i in ids]})


@pytest.mark.parametrize("budget", [12_000, 3_000])
async def test_a_100k_word_story_stays_within_the_prompt_budget(tmp_path: Path,
                                                                budget: int) -> None:
    previous = long_story()
    words = sum(len(s["text"].split()) for s in previous["architect"]["scenes"])
    assert words >= 100_000
    script = replies()
    script[ARTIST] = looks_for_asked_ids
    llm = ScriptedLLM(replies=script)
    plugins = make_plugins(entry_points=["storyboard"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted",
                             prompt_token_budget=budget)
    started = time.perf_counter()
    job, _ = await run_job(plugins, "storyboard", {"previous": previous, "write_back": False},
                           settings=settings, project_id="long")
    elapsed = time.perf_counter() - started
    assert job.status == "succeeded", job.error
    board = Storyboard.model_validate(job.result["storyboard"])
    assert board.totals.shots == 480 and not board.warnings
    sizes = [len(call.prompt) // 4 for call in llm.calls]
    print(f"\n{words} words: {len(sizes)} model calls, largest prompt {max(sizes)} tokens "
          f"(budget {budget}), total {sum(sizes)} tokens, {elapsed:.1f}s")
    assert max(sizes) <= budget
    # every shot was boarded by the model (not the fallback) and every scene in one call
    assert len(llm.calls_for(BOARDER)) == 80
    assert all(s.action.startswith(f"scene {sc.number} shot ") for sc in board.scenes
               for s in sc.shots)
    assert len(board.bible.characters) == 30
    assert all(c.hair.value == f"hair of {c.id}" for c in board.bible.characters)
    assert all(c.phrase in s.image_prompt for sc in board.scenes for s in sc.shots
               for c in board.bible.characters if c.id in s.subjects)
