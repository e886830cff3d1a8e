"""How concurrent is a long story's pipeline? architect + director + storyboard on 100k words.

A generated story (``--chapters`` chapters of ``--scenes-per-chapter`` scenes, about
``--words`` words in all; each chapter fits one analysis chunk) runs through the chain
``architect,director,storyboard`` in this process against a local OpenAI-compatible server in a
child process that answers every call after ``--latency`` seconds with a valid structured reply
for its task (it reads the prompt as a model would: the chunk's scenes, the scene's cast, the
ids and shot numbers asked for). The server measures what reached it: calls, the sum of their
durations (the sequential model time) and the most at once.

The critical path is the number of dependent model rounds: the chunk analyses (1, all
independent), the synthesis (1), each scene's breakdown then shot list (2), the storyboard's
calls (1, all independent); a retried answer would add rounds, so retries are printed. Targets
with default settings: wall <= 3x the critical path; prompt tokens <= 3x the story's.

    uv run python bench/pipeline.py [--words 100000] [--chapters 20] [--scenes-per-chapter 3]
        [--latency 1.0] [--model-concurrency N]
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like stdlib modules (queue.py): keep it off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import tempfile
import time
from typing import Any

CAST = ["Mara Vell", "Tomas Reyes", "Ilse Brandt", "Jonah Pike", "Nadia Osei", "Felix Hart",
        "Ruth Okafor", "Elias Moreno", "Greta Lind", "Samir Haddad", "Lena Orr", "Victor Crane"]
PLACES = ["Harbour Cafe", "Lighthouse Gallery", "Salt Market", "Old Customs House",
          "North Pier", "Chapel Ruins", "Rope Works", "Station Hotel", "Tide Flats",
          "Signal Tower", "Fish Hall", "Ferry Office"]
TIMES = ["morning", "noon", "evening", "night"]
PROSE = ("the wind moved along the water while gulls argued over the nets and somebody "
         "carried crates of salt past the long windows where the light turned grey then "
         "gold over the roofs of the town that had waited all winter for news from the "
         "boats and the old clocks kept their own slow time above the doors")
WORDS = PROSE.split(" ")
SCENE_START = re.compile(r"^On day (\d+), in the (\w+), at the ([A-Z][\w ]+?), ", re.M)
ROLE_ANALYST, ROLE_SYNTH = "Story Structure Analyst", "Knowledge Graph Architect"
ROLE_BREAKDOWN, ROLE_SHOTS = "Scene Analysis Director", "Cinematography Specialist"
ROLE_ARTIST, ROLE_BOARDER = "Visual Development Artist", "Storyboard Artist"


# the story ----------------------------------------------------------------------------------
def make_story(words: int, chapters: int, per_chapter: int, seed: int = 7) -> str:
    """Chapters of scenes; each scene opens with its day, time and place, names two or three
    of the cast and has two lines of dialogue."""
    rng = random.Random(seed)
    scene_words = max(80, words // (chapters * per_chapter))
    parts = ["The Salt Town Chronicle"]
    number = 0
    for chapter in range(1, chapters + 1):
        parts.append(f"Chapter {chapter}")
        for _ in range(per_chapter):
            number += 1
            cast = rng.sample(CAST, 3)
            place = PLACES[number % len(PLACES)]
            time_of_day = TIMES[number % len(TIMES)]
            paragraphs = [f"On day {number}, in the {time_of_day}, at the {place}, "
                          f"{cast[0]} waited for {cast[1]} and watched the door."]
            said = 0
            total = len(paragraphs[0].split())
            while total < scene_words:
                body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(50, 90)))
                if said < 2:
                    speaker = cast[said]
                    line = f"We meet again in scene {number}, {cast[1 - said].split()[0]}"
                    paragraph = (f"{cast[said].split()[0]} looked up. \"{line},\" said "
                                 f"{speaker}. {body.capitalize()}.")
                    said += 1
                else:
                    paragraph = f"{cast[2].split()[0]} listened while {body}."
                paragraphs.append(paragraph)
                total += len(paragraph.split())
            parts.append("\n\n".join(paragraphs))
    return "\n\n".join(parts) + "\n"


# the model's replies --------------------------------------------------------------------------
def _final(obj: Any) -> str:
    return f"Thought: I can answer.\nFinal Answer: {json.dumps(obj)}"


def _between(text: str, start: str, end: str = "\n>>>") -> str:
    at = text.rfind(start)
    if at < 0:
        return ""
    at += len(start)
    stop = text.find(end, at)
    return text[at:stop if stop >= 0 else len(text)]


def analyse(prompt: str) -> dict[str, Any]:
    """A chunk's analysis: its scenes as the generator wrote them, located by their words."""
    text = _between(prompt, "STORY TEXT:\n<<<\n")
    starts = list(SCENE_START.finditer(text))
    scenes, names, places = [], set(), set()
    for i, match in enumerate(starts):
        body = text[match.start(): starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        body = re.sub(r"\n+Chapter \d+\s*$", "", body.strip())
        words = body.split()
        cast = [name for name in CAST if name in body]
        names.update(cast)
        place = match.group(3)
        places.add(place)
        dialogue = [{"speaker": who, "line": line}
                    for line, who in re.findall(r"\"([^\"]+),\" said ([A-Z]\w+ [A-Z]\w+)", body)]
        scenes.append({
            "number": i + 1, "opening": " ".join(words[:8]), "closing": " ".join(words[-8:]),
            "summary": f"{cast[0] if cast else 'Someone'} waits at the {place}.",
            "location": place, "int_ext": "INT", "new_day": True,
            "day_night": "NIGHT" if match.group(2) == "night" else "DAY",
            "characters": cast, "emotional_beat": "uneasy patience", "purpose": "complication",
            "dialogue": dialogue, "objects": [],
        })
    return {
        "characters": [{"name": n, "aliases": [n.split()[0]], "role": "supporting",
                        "description": f"{n}, a resident of the salt town.", "arc": "",
                        "relationships": []} for n in sorted(names)],
        "locations": [{"name": p, "aliases": [], "description": f"The {p} by the harbour.",
                       "atmosphere": "grey light, gulls"} for p in sorted(places)],
        "objects": [], "scenes": scenes, "themes": ["waiting", "the sea"],
        "story_language": "English",
    }


SYNTHESIS = {"title": "The Salt Town Chronicle", "genre": "literary drama",
             "logline": "Mara Vell waits for news from the boats while the town keeps its "
                        "secrets.", "tone": "quiet, tense", "themes": ["waiting", "the sea"],
             "protagonist": "Mara Vell", "ensemble": False, "same_as": []}


def breakdown(prompt: str) -> dict[str, Any]:
    number = re.search(r"^SCENE (\d+)", prompt, re.M)
    cast = re.findall(r"^- (\S+) = ", prompt, re.M)  # the cast's ids, as the task asks
    return {"summary": f"Scene {number.group(1) if number else '?'}: a meeting at the harbour.",
            "characters": cast, "blocking": ["they face each other across the table"],
            "emotional_beats": ["patience gives way"], "mood": "tense", "lighting": "low key",
            "palette": ["slate", "amber"], "props": ["salt crates"], "pacing": "slow",
            "transition": "cut"}


def shots(prompt: str) -> dict[str, Any]:
    line = re.search(r"^Characters: (.*)$", prompt, re.M)  # "id = Name, id = Name"
    cast = re.findall(r"(\S+) = ", line.group(1))[:2] if line else []
    return {"shots": [
        {"size": "WS", "angle": "eye", "movement": "static", "lens_mm": 24, "subjects": cast,
         "estimated_duration_seconds": 6, "notes": "geography"},
        {"size": "MS", "angle": "eye", "movement": "static", "lens_mm": 50, "subjects": cast,
         "estimated_duration_seconds": 5, "notes": "the exchange"},
        {"size": "CU", "angle": "eye", "movement": "static", "lens_mm": 85,
         "subjects": cast[:1], "estimated_duration_seconds": 4, "notes": "the reaction"},
    ]}


def _ids(prompt: str, what: str) -> list[Any]:
    match = re.search(rf"one entry per {what} in (\[[^\]]*\])", prompt)
    return json.loads(match.group(1)) if match else []


def artist(prompt: str) -> dict[str, Any]:
    trait = {"value": "weathered", "stated": False, "evidence": ""}
    if '{"characters"' in prompt:
        return {"characters": [{"id": i, "age_range": trait, "build": trait, "skin": trait,
                                "hair": trait, "eyes": trait, "voice": trait,
                                "wardrobe": {"default": "oilskin coat"}}
                               for i in _ids(prompt, "id")]}
    if '{"locations"' in prompt:
        return {"locations": [{"id": i, "look": "salt-stained timber and glass",
                               "time_of_day": {"DAY": "flat grey light"},
                               "set_pieces": ["long table"]} for i in _ids(prompt, "id")]}
    return {"era": "present-day northern harbour town", "palette": ["slate", "amber", "white"],
            "lighting_style": "soft overcast", "film_look": "35mm, muted",
            "fragments": ["salt air", "grey water"]}


def board(prompt: str) -> dict[str, Any]:
    return {"shots": [{"number": n, "action": f"shot {n}: they talk",
                       "composition": "two figures, window behind"}
                      for n in _ids(prompt, "shot number")]}


def reply(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    system = " ".join(str(m.get("content")) for m in messages if m.get("role") == "system")
    prompt = "\n\n".join(str(m.get("content")) for m in messages)
    for role, answer in ((ROLE_ANALYST, analyse), (ROLE_BREAKDOWN, breakdown),
                         (ROLE_SHOTS, shots), (ROLE_ARTIST, artist), (ROLE_BOARDER, board)):
        if role in system:
            return _final(answer(prompt))
    return _final(SYNTHESIS)


# the server (child process) ------------------------------------------------------------------
def serve(latency: float) -> None:
    """Answer until stdin closes; ``stats`` on stdin prints what reached the server."""
    from novelcrew_sdk.openai_server import OpenAIServer

    spans: list[tuple[float, float]] = []
    server: OpenAIServer

    def handler(body: dict[str, Any]) -> str:
        answer = reply(body)
        for record in reversed(server.requests):
            if record.body is body:
                spans.append((record.at, time.monotonic()))
                break
        return answer

    server = OpenAIServer(default=handler, latency=latency).start()
    print(f"PORT {server.port}", flush=True)
    for line in sys.stdin:
        if line.strip() == "reset":
            spans.clear()
        if line.strip() == "stats":
            edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
            now = most = 0
            for _, step in edges:
                now += step
                most = max(most, now)
            print(json.dumps({"calls": len(spans), "busy": sum(b - a for a, b in spans),
                              "most": most}), flush=True)
    server.stop()


# the run --------------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> int:
    from novelcrew_sdk import make_plugins, make_settings, run_job

    story = make_story(args.words, args.chapters, args.scenes_per_chapter)
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--latency",
                               str(args.latency)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdin is not None and server.stdout is not None
    port = int(server.stdout.readline().split()[1])
    if args.cpu is not None:  # as NOVELCREW_CPU_AFFINITY pins a server or worker
        from novelcrew.affinity import pin

        pin([args.cpu])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            extra = {"model_concurrency": args.model_concurrency} \
                if args.model_concurrency else {}
            settings = make_settings(
                Path(tmp) / "data", default_model="openai/bench",
                openai_base_url=f"http://127.0.0.1:{port}/v1", openai_api_key="bench",
                model_timeout_seconds=120, **extra)
            plugins = make_plugins(entry_points=["architect", "pathrag", "director",
                                                 "storyboard"])
            # crewAI's import and first kickoff, the graph store: not part of the figure
            warm, _ = await run_job(plugins, "architect,director,storyboard",
                                    {"story_text": make_story(3000, 1, 2)}, settings=settings,
                                    project_id="bench-warm-up")
            if warm.status != "succeeded":
                print(f"the warm-up job {warm.status}: {warm.error}")
                return 1
            server.stdin.write("reset\n")
            server.stdin.flush()
            print("warmed up; the timed job starts", flush=True)  # a profiler may attach now
            started = time.perf_counter()
            cpu = time.process_time()
            inputs: dict[str, Any] = {"story_text": story}
            if args.max_parallel:  # the crews' own bounds, on top of the model's limit
                inputs.update(max_parallel_scenes=args.max_parallel,
                              max_parallel=args.max_parallel)
            job, events = await run_job(plugins, "architect,director,storyboard",
                                        inputs, settings=settings,
                                        project_id="bench-pipeline")
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
        server.stdin.write("stats\n")
        server.stdin.flush()
        stats = json.loads(server.stdout.readline())
    finally:
        server.stdin.close()
        server.wait(10)
    if job.status != "succeeded":
        print(f"the job {job.status}: {job.error}")
        return 1
    analysis = job.result["architect"]
    plan, boards = job.result["director"], job.result["storyboard"]
    scenes = len(plan["scenes"])
    retries = sum(1 for e in events if e.type == "warning" and "again" in e.message)
    rounds = 2 + 2 + 1  # chunks, synthesis; breakdown, shots; storyboard calls
    critical = rounds * args.latency
    prompt_tokens = sum(u.prompt_tokens for u in job.usage.values())
    story_tokens = len(story) // 4  # the server counts usage as four characters a token
    pieces = [e for e in events if e.type == "partial"]
    first_scene = next((e for e in pieces if e.crew == "director"), None)
    load = os.getloadavg()
    print(f"story: {len(story.split()):,} words in {args.chapters} chapters; "
          f"{analysis['statistics']['chunks']} chunks, {len(analysis['scenes'])} scenes, "
          f"{scenes} planned, {len(boards['scenes'])} boarded; model latency "
          f"{args.latency:g} s; model concurrency "
          f"{args.model_concurrency or getattr(settings, 'model_concurrency', 'n/a')}")
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / "
          f"{load[2]:.1f}; this process used {cpu:.1f} s of CPU"
          + (f" on CPU {args.cpu} only" if args.cpu is not None else ""))
    print(f"calls: {stats['calls']} (usage: {sum(u.calls for u in job.usage.values())}); "
          f"retried answers: {retries}")
    print(f"wall: {wall:.1f} s; sequential model time: {stats['busy']:.1f} s; overlap: "
          f"{stats['busy'] / wall:.1f}x; most calls at once: {stats['most']}")
    per_crew = ", ".join(f"{c} {s:.1f} s" for c, s in job.timings.items())
    print(f"crews: {per_crew}")
    if first_scene is not None:
        first_at = (first_scene.at - job.started_at).total_seconds() if job.started_at else 0
        print(f"partial results: {len(pieces)} published; the first scene plan readable "
              f"{first_at:.1f} s after the start")
    ratio = wall / critical if critical else float("inf")
    print(f"critical path: {rounds} dependent rounds x {args.latency:g} s = {critical:.1f} s; "
          f"wall / critical path: {ratio:.2f} (target <= 3): "
          f"{'PASS' if ratio <= 3 and not retries else 'MISS'}")
    # what the model limit alone allows: no crew's calls finish in fewer rounds than its
    # calls over the limit (the chunks, then the synthesis, run one after the other)
    limit = args.model_concurrency or getattr(settings, "model_concurrency", 0) or 1
    calls_by = {c: sum(1 for e in events if e.type == "llm_call" and e.crew == c
                       and e.data.get("ok")) for c in ("architect", "director", "storyboard")}
    bound = (-(-int(analysis["statistics"]["chunks"]) // limit) + 1
             + max(2, -(-calls_by["director"] // limit))
             + max(1, -(-calls_by["storyboard"] // limit))) * args.latency
    if bound:
        print(f"  with at most {limit} calls at once the rounds alone take >= {bound:.0f} s "
              f"(wall / critical path >= {bound / critical:.2f}); wall / that bound: "
              f"{wall / bound:.2f}")
    tokens = prompt_tokens / story_tokens
    print(f"prompt tokens: {prompt_tokens:,} vs story {story_tokens:,}: {tokens:.2f}x "
          f"(target <= 3): {'PASS' if tokens <= 3 else 'MISS'}")
    sent: dict[str, int] = {}
    for event in events:
        if event.type == "llm_call" and event.data.get("ok"):
            sent[event.crew or "?"] = sent.get(event.crew or "?", 0) + int(
                event.data.get("prompt_tokens") or 0)
    print("  by crew: " + ", ".join(f"{crew} {n / story_tokens:.2f}x"
                                    for crew, n in sent.items()))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--chapters", type=int, default=20)
    parser.add_argument("--scenes-per-chapter", type=int, default=3)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--model-concurrency", type=int, default=0,
                        help="NOVELCREW_MODEL_CONCURRENCY for the run (default: the setting's)")
    parser.add_argument("--max-parallel", type=int, default=0,
                        help="the director's max_parallel_scenes and the storyboard's "
                        "max_parallel (default: theirs, twice the model's call limit)")
    parser.add_argument("--cpu", type=int, default=None,
                        help="run the job on this CPU only, as NOVELCREW_CPU_AFFINITY does "
                        "(the model server keeps every CPU)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency)
        return 0
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
