"""Logs are JSON lines with the job id on every line a job logs, and never show a secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import BaseModel

from novelcrew import Crew, RunContext, hookimpl
from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job
from novelcrew.logging import configure_logging
from novelcrew.plugins import load, register_module
from novelcrew.runner import JobRunner
from novelcrew.settings import Settings

API_KEY = "nc-live-key-0123456789"
PROVIDER_KEY = "sk-or-v1-abcdef0123456789"


class In(BaseModel):
    story_text: str


class Out(BaseModel):
    ok: bool


async def chatty(ctx: RunContext, inputs: In) -> Out:
    structlog.get_logger("crew").info("crew_step", step=1, api_key=API_KEY,
                                      usage={"prompt_tokens": 12})
    logging.getLogger("some.library").warning("calling provider with %s", PROVIDER_KEY)

    def in_thread() -> None:
        # not a "crewai.*" name: importing crewAI elsewhere in the process tunes those loggers
        logging.getLogger("worker.library").info("from a worker thread")

    await asyncio.to_thread(in_thread)
    return Out(ok=True)


class Crews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="chatty", description="logs", input_model=In, output_model=Out,
                      run=chatty))


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, api_keys=API_KEY,  # type: ignore[call-arg]
                    openrouter_api_key=PROVIDER_KEY, **kw)


async def test_every_line_of_a_job_is_json_with_its_id_and_no_secret(
    tmp_path: Path, restore_logging: None
) -> None:
    out = io.StringIO()
    s = settings(tmp_path)
    configure_logging(s, stream=out)
    plugins = load(allow=[], include_entry_points=False)
    register_module(plugins, Crews(), "crews")
    store = MemoryStore()
    job = Job(crews=["chatty"], inputs={"story_text": "x"})
    await store.create(job)
    structlog.get_logger("server").info("before_job")
    await JobRunner(plugins, s, store).run(job.id)
    structlog.get_logger("server").info("after_job")

    text = out.getvalue()
    assert API_KEY not in text and PROVIDER_KEY not in text
    lines = [json.loads(line) for line in text.splitlines()]
    by_event = {line["event"]: line for line in lines}
    assert "job_id" not in by_event["before_job"] and "job_id" not in by_event["after_job"]
    step = by_event["crew_step"]
    assert step["job_id"] == job.id and step["api_key"] == "***" and step["level"] == "info"
    assert step["usage"] == {"prompt_tokens": 12}
    assert step["logger"] == "crew" and "timestamp" in step
    provider = by_event["calling provider with ***"]
    assert provider["job_id"] == job.id and provider["level"] == "warning"
    assert by_event["from a worker thread"]["job_id"] == job.id


def test_console_format_is_readable_and_masks_too(tmp_path: Path, restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging(settings(tmp_path, log_format="console"), stream=out)
    structlog.get_logger("x").info("hello", authorization=f"Bearer {API_KEY}")
    logging.getLogger("y").error("key was %s", API_KEY)
    text = out.getvalue()
    assert "hello" in text and "authorization" in text and "key was ***" in text
    assert API_KEY not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_the_log_level_filters(tmp_path: Path, restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging(settings(tmp_path, log_level="WARNING"), stream=out)
    structlog.get_logger("x").info("quiet")
    logging.getLogger("y").info("quiet too")
    structlog.get_logger("x").warning("loud")
    assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["loud"]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminals_get_the_console_format_unless_json_is_asked_for(
    tmp_path: Path, restore_logging: None
) -> None:
    term = FakeTerminal()
    configure_logging(Settings(_env_file=None, data_dir=tmp_path), stream=term)  # type: ignore[call-arg]
    structlog.get_logger("x").info("on a terminal")
    assert not term.getvalue().lstrip().startswith("{")
    term = FakeTerminal()
    configure_logging(Settings(_env_file=None, data_dir=tmp_path, log_format="json"),  # type: ignore[call-arg]
                      stream=term)
    structlog.get_logger("x").info("asked for json")
    assert json.loads(term.getvalue())["event"] == "asked for json"


async def test_a_broken_log_stream_never_fails_a_job(
    tmp_path: Path, restore_logging: None
) -> None:
    """The stream logs go to may close or fill up; the job that logs must not notice."""
    out = io.StringIO()
    s = settings(tmp_path)
    configure_logging(s, stream=out)
    out.close()
    plugins = load(allow=[], include_entry_points=False)
    register_module(plugins, Crews(), "crews")
    store = MemoryStore()
    job = Job(crews=["chatty"], inputs={"story_text": "x"})
    await store.create(job)
    outcome = await JobRunner(plugins, s, store).run(job.id)
    assert outcome.job.status == "succeeded"
    structlog.get_logger("server").error("still fine")


def test_without_a_stream_lines_go_to_stderr_as_it_is_when_written(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings(tmp_path, log_format="json"))
    structlog.get_logger("x").warning("to the current stderr")
    assert json.loads(capsys.readouterr().err.splitlines()[-1])["event"] == "to the current stderr"


def test_timestamps_are_utc_iso_with_microseconds(tmp_path: Path, restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging(settings(tmp_path, log_format="json"), stream=out)
    before = datetime.now(UTC)
    for _ in range(3):
        structlog.get_logger("t").info("tick")
    after = datetime.now(UTC)
    for line in out.getvalue().splitlines():
        stamp = json.loads(line)["timestamp"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp), stamp
        assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_buffered_lines_are_written_in_order_soon_and_at_once_from_a_warning(
    tmp_path: Path, restore_logging: None
) -> None:
    """What ``novelcrew serve`` does: lines in groups, never out of order, never held back
    for long, and a warning (structlog's or a library's) written at once with all before it."""
    out = io.StringIO()
    configure_logging(settings(tmp_path, log_format="json"), stream=out, buffered=True)
    log = structlog.get_logger("srv")
    log.info("first")
    logging.getLogger("lib").info("second")
    assert out.getvalue() == ""  # held
    logging.getLogger("lib").warning("third")
    events = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert events == ["first", "second", "third"]
    log.info("fourth")
    deadline = time.monotonic() + 5
    while "fourth" not in out.getvalue():  # the flusher thread writes it within 0.2 s
        assert time.monotonic() < deadline, "a buffered line was never written"
        time.sleep(0.02)
    log.info("fifth")
    configure_logging(settings(tmp_path, log_format="json"), stream=out)  # replaced: flushed
    assert json.loads(out.getvalue().splitlines()[-1])["event"] == "fifth"


def test_buffered_lines_are_written_when_the_process_exits(tmp_path: Path) -> None:
    code = (
        "import structlog\n"
        "from novelcrew.logging import configure_logging\n"
        "from novelcrew.settings import Settings\n"
        "configure_logging(Settings(_env_file=None, log_format='json'), buffered=True)\n"
        "for i in range(3):\n"
        "    structlog.get_logger('x').info('line', i=i)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["i"] for line in done.stderr.splitlines()] == [0, 1, 2]


def test_buffered_lines_from_many_threads_are_all_written(
    tmp_path: Path, restore_logging: None
) -> None:
    out = io.StringIO()
    configure_logging(settings(tmp_path, log_format="json"), stream=out, buffered=True)

    def chatter(n: int) -> None:
        log = structlog.get_logger(f"t{n}")
        for i in range(1500):
            log.info("line", n=n, i=i)

    threads = [threading.Thread(target=chatter, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    configure_logging(settings(tmp_path, log_format="json"), stream=out)  # flushes the rest
    seen = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(seen) == 6 * 1500
    for n in range(6):  # each thread's lines in its own order
        assert [e["i"] for e in seen if e.get("n") == n] == list(range(1500))
