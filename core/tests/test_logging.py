"""Logs are JSON lines with the job id on every line a job logs, and never show a secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import structlog
from nc_logs import Stream, kept_logging
from nc_subprocess import run_script
from pydantic import BaseModel, SecretStr

from novelcrew import Crew, PluginSettings, RunContext, hookimpl
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
    with kept_logging():
        yield


def settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, api_keys=API_KEY,  # type: ignore[call-arg]
                    openrouter_api_key=PROVIDER_KEY, **kw)


async def test_every_line_of_a_job_is_json_with_its_id_and_no_secret(
    tmp_path: Path, restore_logging: None
) -> None:
    out = Stream()
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
    out = Stream()
    configure_logging(settings(tmp_path, log_format="console"), stream=out)
    structlog.get_logger("x").info("hello", authorization=f"Bearer {API_KEY}")
    logging.getLogger("y").error("key was %s", API_KEY)
    text = out.getvalue()
    assert "hello" in text and "authorization" in text and "key was ***" in text
    assert API_KEY not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


class VaultSettings(PluginSettings):
    plugin: ClassVar[str] = "vault"
    model_config = PluginSettings.config_for("vault")

    api_key: SecretStr | None = None


@pytest.mark.parametrize("read_first", [False, True])
def test_a_plugins_secret_is_masked_wherever_it_appears(
        tmp_path: Path, restore_logging: None, read_first: bool) -> None:
    """A plugin's key lives in its own settings, which the core never reads; plugins load
    after logging is configured (or before it, in a script). Either way, once the plugin has
    read its settings, its key is masked in every line, as the core's keys are."""
    key = f"vault-key-{read_first}-0123456789"
    core = Settings(_env_file=None, plugin_config={"vault": {"api_key": key}})
    out = Stream()
    if read_first:
        assert VaultSettings.of(core).api_key is not None
    configure_logging(settings(tmp_path), stream=out)
    if not read_first:
        structlog.get_logger("x").info("before the plugin read it", url=f"http://h/?k={key}")
        assert VaultSettings.of(core).api_key is not None
    structlog.get_logger("x").info("request", url=f"http://h/?k={key}")
    logging.getLogger("httpx").warning("failed with key %s", key)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    after = lines[1:] if not read_first else lines
    assert [line["event"] for line in after] == ["request", "failed with key ***"]
    assert after[0]["url"] == "http://h/?k=***"
    assert all(key not in json.dumps(line) for line in after)


def test_the_log_level_filters(tmp_path: Path, restore_logging: None) -> None:
    out = Stream()
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
    out = Stream()
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


def test_without_a_stream_lines_go_to_stderr(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings(tmp_path, log_format="json"))
    structlog.get_logger("x").warning("to stderr")
    logging.getLogger("lib").warning("this one too")
    captured = capsys.readouterr()
    assert [json.loads(line)["event"] for line in captured.err.splitlines()] == [
        "to stderr", "this one too"]
    assert captured.out == ""


def test_timestamps_are_utc_iso_with_microseconds(tmp_path: Path, restore_logging: None) -> None:
    out = Stream()
    configure_logging(settings(tmp_path, log_format="json"), stream=out)
    before = datetime.now(UTC)
    for _ in range(3):
        structlog.get_logger("t").info("tick")
    logging.getLogger("lib").info("tock")
    after = datetime.now(UTC)
    for line in out.getvalue().splitlines():
        stamp = json.loads(line)["timestamp"]
        # (``datetime.isoformat`` leaves out a fraction of exactly 0 µs)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", stamp), stamp
        assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_a_line_logged_before_a_sigkill_is_in_the_file(tmp_path: Path) -> None:
    """Lines are written as they are logged: nothing waits in a buffer for a process that is
    killed outright (the OOM killer, ``kill -9``, a container stop past its grace time)."""
    code = (
        "import logging, sys, time, structlog\n"
        "from novelcrew.logging import configure_logging\n"
        "from novelcrew.settings import Settings\n"
        "configure_logging(Settings(_env_file=None, log_format='json'), cache=True)\n"
        "structlog.get_logger('x').info('structlog line')\n"
        "logging.getLogger('lib').info('stdlib line')\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    log_file = tmp_path / "log.jsonl"
    with log_file.open("w") as err:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                 stderr=err, text=True, cwd=tmp_path)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            child.send_signal(signal.SIGKILL)
            assert child.wait(30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    events = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert events == ["structlog line", "stdlib line"]


def test_lines_from_many_threads_are_whole_and_in_each_threads_order(
    tmp_path: Path, restore_logging: None
) -> None:
    out = Stream()
    configure_logging(settings(tmp_path, log_format="json"), stream=out)

    def chatter(n: int) -> None:
        log = structlog.get_logger(f"t{n}")
        stdlib = logging.getLogger(f"s{n}")
        for i in range(300):
            log.info("line", n=n, i=i)
            stdlib.info("stdlib", extra={"n": n, "i": i})

    threads = [threading.Thread(target=chatter, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(seen) == 6 * 300 * 2
    for n in range(6):
        for event in ("line", "stdlib"):
            assert [e["i"] for e in seen if e["n"] == n and e["event"] == event] == list(
                range(300))


def _fail_with_a_story(story: str) -> None:
    secret_plot = story.upper()  # a local a rendered frame would show  # noqa: F841
    raise ValueError("the crew failed")


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_never_show_local_variables(
    tmp_path: Path, restore_logging: None, fmt: str
) -> None:
    """A frame's locals may hold a whole story (#24): tracebacks are logged without them."""
    out = Stream()
    configure_logging(settings(tmp_path, log_format=fmt), stream=out)
    story = "Maya climbed the lighthouse stairs at dusk"
    try:
        _fail_with_a_story(story)
    except ValueError:
        structlog.get_logger("x").exception("job_failed")
        logging.getLogger("lib").exception("library failed")
    text = out.getvalue()
    assert "the crew failed" in text and "_fail_with_a_story" in text
    assert story not in text and story.upper() not in text
    if fmt == "json":
        lines = [json.loads(line) for line in text.splitlines()]
        assert [line["event"] for line in lines] == ["job_failed", "library failed"]
        frames = lines[0]["exception"][0]["frames"]
        assert frames[-1]["name"] == "_fail_with_a_story"
        assert all("locals" not in frame for frame in frames)


CREWAI_SCRIPT = r"""
import logging, os
os.environ.update(CREWAI_DISABLE_TELEMETRY="true",
                  CREWAI_TRACING_ENABLED="false", CREWAI_DISABLE_VERSION_CHECK="true",
                  CREWAI_STORAGE_DIR=os.path.abspath("crewai"))
import structlog
from novelcrew.logging import configure_logging
from novelcrew.settings import Settings

configure_logging(Settings(_env_file=None, log_format="json"), cache=True)

from nc_crewai_child import FixedAnswer, kickoff


class Logging(FixedAnswer):
    def on_call(self) -> None:
        structlog.get_logger("novelcrew.test").info("model_called")
        logging.getLogger("some.library").warning("a library line")


result = kickoff(Logging(model="scripted"), verbose=True)
structlog.get_logger("novelcrew.test").info("crew_done", result=str(result))
"""


def test_crewai_console_output_never_lands_in_the_json_log(tmp_path: Path) -> None:
    """A real crewAI crew with ``verbose=True`` prints its panels while our lines are logged
    from inside its model calls: the log stream holds JSON lines only, the panels went to
    stdout, and crewAI's own stdlib loggers came out as JSON lines too."""
    done = run_script(CREWAI_SCRIPT, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Crew Execution Started" in done.stdout  # crewAI did print
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # each line is JSON
    events = [line["event"] for line in lines]
    assert "model_called" in events and "a library line" in events
    assert events[-1] == "crew_done" and lines[-1]["result"] == "the lighthouse"
    assert not any("Crew Execution" in line for line in done.stderr.splitlines())


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_validation_errors_are_logged_without_the_data_they_quote(
    tmp_path: Path, restore_logging: None, fmt: str
) -> None:
    """pydantic prints each rejected ``input_value`` (a story, a result): every line and
    traceback, from any logger, keeps the problem and loses the data (#24)."""
    from pydantic import BaseModel, ValidationError

    class Out(BaseModel):
        words: int

    out = Stream()
    configure_logging(settings(tmp_path, log_format=fmt), stream=out)
    story = "Maya climbed the lighthouse"
    try:
        Out.model_validate({"words": story})
    except ValidationError as exc:
        structlog.get_logger("x").exception("crew_failed", error=str(exc))
        logging.getLogger("lib").error("library failed: %s", exc, exc_info=exc)
    text = out.getvalue()
    assert "Maya" not in text
    assert "words" in text and "valid integer" in text and "input_type=str" in text


PROVIDER_FAILURE_SCRIPT = """
import sys
from novelcrew.logging import configure_logging
from novelcrew.settings import Settings

configure_logging(Settings(_env_file=None, log_format="json", log_level="DEBUG"), cache=True)

from crewai.llms.providers.openai.completion import OpenAICompletion
from nc_crewai_child import kickoff

marker, url = sys.argv[1], sys.argv[2]
# crewAI's native OpenAI client, as novelcrew builds it (crewAI 1.12's ``LLM`` factory sends a
# model name it does not know to LiteLLM)
llm = OpenAICompletion(model="story", provider="openai", base_url=url, api_key="sk-test",
                       max_retries=0)
try:
    kickoff(llm, description=f"Read the story: {marker}", max_retry_limit=0)
except Exception as exc:
    print("kickoff failed:", type(exc).__name__)
"""


def test_a_failing_provider_never_puts_the_prompt_in_the_log(tmp_path: Path) -> None:
    """crewAI's own OpenAI client logs ``OpenAI API call failed: <the provider's error>`` on
    the root logger, and a provider's error body may quote the prompt (as a context-length
    error does): the log keeps that line's head and withholds the rest, at any log level."""
    from novelcrew_sdk.openai_server import Fault, OpenAIServer

    marker = f"MK{os.urandom(6).hex()}"
    body = json.dumps({"error": {"message": f"Bad request, your prompt: Read the story: {marker}",
                                 "type": "invalid_request_error"}})
    with OpenAIServer() as provider:
        provider.queue(*[Fault.status_code(400, body) for _ in range(10)])
        done = run_script(PROVIDER_FAILURE_SCRIPT, marker, f"{provider.url}/v1", cwd=tmp_path)
        called = len(provider.calls)
    assert called >= 1 and "kickoff failed" in done.stdout, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    failed = [line for line in lines if "API call failed" in str(line.get("event"))]
    assert failed, "crewAI's failure line is gone: this test no longer provokes it"
    assert failed[0]["event"].endswith("[withheld: it may quote prompts]")
    assert marker not in done.stderr
