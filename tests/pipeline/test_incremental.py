"""Incremental re-analysis: after one chapter of a 40-chapter story is edited, running the
architect -> director chain again asks the model only what changed (the edited chapter's
analysis, the next chapter's, whose prompt carries the end of the edited one as context, and
the director's work for the changed scene); the rest comes from the response cache. The result
equals a fresh run on the edited story (deterministic replies from the local server).

Real architect, pathrag (embedded graph) and director plugins on the inline backend's SQLite
store; ``chunk_tokens`` keeps one chapter per chunk, as a novel's chapters are about a chunk
each (packed chapters shift every later chunk when an edit moves a packing boundary).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model_replies import PLACES, story_reply

from novelcrew.backends.inline.store import SQLiteStore
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.openai_server import OpenAIServer

NAMES = ["Mara Quell", "Ivo Brand", "Tess Arlen", "Olek Dunn"]
EDITED = 17
#: what the re-run may cost, as a share of the first run's model calls (issue #21)
MAX_SHARE = 0.15
#: fields of the architect's result that describe the run, not the story: the project graph's
#: version (a re-analysis is version 2) and the work this run took (live model calls, tokens)
RUN_FIELDS = {"version", "statistics"}


def story(edit: int | None = None) -> str:
    lines = ["The Walkers", ""]
    for chapter in range(1, 41):
        lines += [f"Chapter {chapter}", ""]
        for p in range(2):
            how = "slowly" if (edit == chapter and p == 1) else "quietly"
            lines += [f"{NAMES[(chapter + p) % 4]} walked to the {PLACES[(chapter + p) % 6]} "
                      f"in chapter {chapter} and waited {how} there until the light changed "
                      "over the water, counting the boats.", ""]
    return "\n".join(lines)


async def run(data: Path, text: str, server: OpenAIServer) -> tuple[Any, int]:
    plugins = make_plugins(entry_points=["architect", "pathrag", "director"])
    settings = make_settings(data, default_model="openai/main", openai_base_url=server.url,
                             openai_api_key="sk-local")
    before = len(server.calls)
    job, _ = await run_job(plugins, ["architect", "director"], {"story_text": text},
                           settings=settings, project_id="walkers",
                           store=SQLiteStore(data / "jobs.sqlite3"),
                           config={"chunk_tokens": 120})
    assert job.status == "succeeded", job.error
    return job, len(server.calls) - before


async def test_editing_one_chapter_costs_only_what_changed(tmp_path: Path) -> None:
    with OpenAIServer(default=story_reply) as server:
        first, first_calls = await run(tmp_path / "data", story(), server)
        assert first_calls >= 40 + 1 + 2 * 40  # a chunk per chapter, synthesis, 2 per scene
        again, again_calls = await run(tmp_path / "data", story(edit=EDITED), server)
        fresh, _ = await run(tmp_path / "fresh", story(edit=EDITED), server)
    print(f"\nfirst run {first_calls} model calls; after editing chapter {EDITED}: "
          f"{again_calls} ({again_calls / first_calls:.1%})")
    assert again_calls > 0 and again_calls <= MAX_SHARE * first_calls
    assert again.usage["openai/main"].cached_calls >= first_calls - again_calls
    for crew in ("architect", "director"):
        assert story_of(again, crew) == story_of(fresh, crew), crew
    assert story_of(again, "architect") != story_of(first, "architect")  # the edit is in it


def story_of(job: Any, crew: str) -> dict[str, Any]:
    return {k: v for k, v in job.result[crew].items() if k not in RUN_FIELDS}
