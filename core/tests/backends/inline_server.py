"""A minimal server process for the crash test: an InlineBackend on a data dir.

``python inline_server.py DATA_DIR --submit N --marker FILE`` submits N jobs, prints their ids
as one JSON line and keeps running until killed; without ``--submit`` it recovers whatever the
data dir holds, waits for every job to end, prints the final statuses as JSON and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import testcrews

from novelcrew.backends.inline import InlineBackend
from novelcrew.jobs import Job
from novelcrew.settings import Settings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--submit", type=int, default=0)
    parser.add_argument("--marker", default=None)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    settings = Settings(_env_file=None, data_dir=args.data_dir, concurrency=2)  # type: ignore[call-arg]
    backend = InlineBackend(testcrews.plugins(), settings)
    await backend.start()
    if args.submit:
        ids = []
        for i in range(args.submit):
            job = await backend.submit(Job(crews=["slow"], project_id="crash", inputs={
                "story_text": f"story number {i}", "steps": args.steps, "step_seconds": 0.05,
                "marker": args.marker,
            }))
            ids.append(job.id)
        print(json.dumps({"submitted": ids}), flush=True)
        await asyncio.Event().wait()  # run until killed
    while True:
        counts = await backend.store.counts()
        if counts["queued"] == 0 and counts["running"] == 0:
            break
        await asyncio.sleep(0.05)
    jobs, _ = await backend.store.list(limit=1000)
    print(json.dumps({j.id: j.status.value for j in jobs}), flush=True)
    await backend.stop()


if __name__ == "__main__":
    asyncio.run(main())
