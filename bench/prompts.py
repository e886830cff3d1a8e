"""Prompt size of ``architect,director`` on a 100k-word story, as a multiple of the story.

The story is the example stories repeated (with chapter headings) to about 100,000 words. The
chain runs in-process (the architect, pathrag's embedded graph and the director, as installed)
on the ``offline`` model, which counts a prompt's characters as its
usage (four characters a token), so every ``llm_call`` event says how much each call sent;
the sums per crew are printed as multiples of the story's characters. Targets: the chain
within 3x the story, the director within 1.5x (its ``prompt_budget``). The offline director
also gets the answers' JSON schemas (a real model reads the keys in the task text), so its
figure is an upper bound for a real model's.

    uv run python bench/prompts.py [--words 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

# this folder holds bench/queue.py, which would shadow the standard library's queue module
# for urllib3 (imported by crewAI) when the script runs as ``python bench/prompts.py``
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from novelcrew_sdk import make_plugins, make_settings, run_job  # noqa: E402

STORIES = sorted((Path(__file__).resolve().parents[1] / "examples" / "stories").glob("*.txt"))
CHARS_PER_TOKEN = 4  # the offline model's usage: len(prompt) // 4


def long_story(words: int) -> str:
    parts: list[str] = []
    chapter = 0
    while sum(len(p.split()) for p in parts) < words:
        for story in STORIES:
            chapter += 1
            body = story.read_text(encoding="utf-8").split("\n", 1)[1]  # without its title
            parts.append(f"Chapter {chapter}\n\n{body.strip()}")
    return "A Long Story\n\n" + "\n\n".join(parts)


async def main(words: int) -> None:
    story = long_story(words)
    with tempfile.TemporaryDirectory() as tmp:
        plugins = make_plugins(entry_points=["architect", "pathrag", "director"])
        settings = make_settings(Path(tmp) / "data", default_model="offline")
        started = time.perf_counter()
        job, events = await run_job(plugins, "architect,director",
                                    {"story_text": story, "max_parallel_scenes": 8},
                                    settings=settings, project_id="bench-prompts")
        seconds = time.perf_counter() - started
    if job.status != "succeeded":
        raise SystemExit(f"the job {job.status}: {job.error}")
    sent: dict[str, int] = defaultdict(int)
    calls: dict[str, int] = defaultdict(int)
    for event in events:
        if event.type == "llm_call" and event.data.get("ok"):
            crew = event.crew or "?"
            sent[crew] += int(event.data.get("prompt_tokens") or 0) * CHARS_PER_TOKEN
            calls[crew] += 1
    chars = len(story)
    director = job.result.get("director") or {}
    print(f"story: {len(story.split()):,} words, {chars:,} characters; "
          f"{len(director.get('scenes') or [])} scenes planned; {seconds:.0f}s")
    for crew in ("architect", "director"):
        print(f"{crew:>9}: {calls[crew]:4d} calls, {sent[crew]:>10,} prompt characters = "
              f"{sent[crew] / chars:.2f}x the story")
    total = sum(sent.values())
    print(f"{'chain':>9}: {sum(calls.values()):4d} calls, {total:>10,} prompt characters = "
          f"{total / chars:.2f}x the story (target <= 3x; director <= 1.5x)")
    for warning in director.get("warnings") or []:
        print(f"director warning: {warning}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().words))
