"""Events sent from crew threads reach the job's loop complete and in each thread's order.

crewAI runs a crew in a worker thread; its task and model-call events reach the event loop
through ``RunContext.emit_threadsafe`` (and ``novelcrew.context.post``), coalesced into one
wake-up per burst. Nothing may be lost, reordered within a thread, or stopped by a failure.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from novelcrew.context import RunContext, post
from novelcrew_sdk.testing import make_plugins, make_settings


def _context(tmp_path: Path, seen: list[tuple[str, dict[str, Any]]]) -> RunContext:
    async def emit_fn(type: str, *, crew: str | None, message: str,
                      data: dict[str, Any]) -> None:
        seen.append((message, data))

    return RunContext(job_id="j", crew="c", settings=make_settings(tmp_path),
                      registry=make_plugins().registry, emit_fn=emit_fn,
                      loop=asyncio.get_running_loop())


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_events_from_many_threads_all_arrive_in_each_threads_order(
        tmp_path: Path) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    ctx = _context(tmp_path, seen)
    threads, per_thread = 8, 200

    def send(t: int) -> None:
        for i in range(per_thread):
            ctx.emit_threadsafe("llm_call", f"t{t}", i=i)

    workers = [threading.Thread(target=send, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    await asyncio.to_thread(lambda: [w.join() for w in workers])
    await _until(lambda: len(seen) == threads * per_thread)
    for t in range(threads):
        assert [d["i"] for m, d in seen if m == f"t{t}"] == list(range(per_thread))


async def test_a_failing_event_does_not_stop_the_next_and_is_not_reported(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    done: list[str] = []

    async def fails() -> None:
        raise RuntimeError("observer broke")

    async def works() -> None:
        done.append("ran")

    def send() -> None:
        post(loop, fails())
        post(loop, works())

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        await asyncio.to_thread(send)
        await _until(lambda: done == ["ran"])
        await asyncio.sleep(0.01)
    assert "never retrieved" not in caplog.text


async def test_events_after_the_loop_closed_are_dropped_quietly(tmp_path: Path) -> None:
    other = asyncio.new_event_loop()
    other.close()
    ran: list[str] = []

    async def late() -> None:
        ran.append("ran")

    await asyncio.to_thread(post, other, late())  # no exception, no "never awaited" leak
    assert ran == []
