"""novelcrew demo: what the Novel Movie app does, from a terminal.

Starts ``novelcrew serve`` on a free port with a temporary data directory (or talks to the
server given with ``--url``), submits a sample story through ``POST /crews/execute`` with
``crew_type="architect,director"``, follows ``GET /jobs/{id}/events`` (Server-Sent Events) as a
progress bar, then prints the story analysis and the scene plan.

    uv run python examples/client/demo.py                 # offline model, no keys needed
    OPENROUTER_API_KEY=... uv run python examples/client/demo.py
    uv run python examples/client/demo.py --url http://127.0.0.1:5001 --story my-story.md
    uv run python examples/client/demo.py --crews architect,director,storyboard   # + prompts

Without a provider key it uses the ``offline`` model: a deterministic stand-in that extracts
names, places and lines from the text without understanding it, so the pipeline can be tried
anywhere. Its output says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from novelcrew.cli.jobs import ServerClient, ServerError
from novelcrew.cli.render import JobProgress, render_job

ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "examples" / "stories"
err = Console(stderr=True)
out = Console()


def pick_story(name: str | None) -> Path:
    if name:
        path = Path(name)
        if not path.exists() and (STORIES / name).exists():
            path = STORIES / name
        if not path.exists():
            sys.exit(f"demo: story not found: {name}")
        return path
    stories = sorted(p for p in STORIES.glob("*.txt") if p.is_file())
    if not stories:
        sys.exit(f"demo: no sample story in {STORIES}; pass --story FILE")
    return min(stories, key=lambda p: p.stat().st_size)  # the quickest to run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_choice() -> str:
    """The model the server will use, by the same rule as its settings."""
    if os.environ.get("NOVELCREW_MODEL"):
        return os.environ["NOVELCREW_MODEL"]
    if os.environ.get("OPENROUTER_API_KEY") or os.environ.get("NOVELCREW_OPENROUTER_API_KEY"):
        return "openrouter/anthropic/claude-sonnet-4"
    return "offline"


@contextlib.contextmanager
def local_server(keep: bool) -> Iterator[str]:
    """``novelcrew serve`` on a free port with a temporary data dir; stopped on exit."""
    data_dir = Path(tempfile.mkdtemp(prefix="novelcrew-demo-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NOVELCREW_DATA_DIR": str(data_dir), "NOVELCREW_LOG_FORMAT": "json",
           "NOVELCREW_LOG_LEVEL": os.environ.get("NOVELCREW_LOG_LEVEL", "WARNING")}
    env.pop("NOVELCREW_API_KEYS", None)  # a private server on loopback
    env.setdefault("NOVELCREW_MODEL", model_choice())
    log_path = data_dir / "server.log"
    log = log_path.open("w")
    command = [sys.executable, "-c", "from novelcrew.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    err.print(f"[dim]starting novelcrew serve on {url} (data in {data_dir})[/]")
    proc = subprocess.Popen(command, env=env, cwd=data_dir, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        with err.status("waiting for the server to answer /health"):
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    sys.exit(f"demo: the server exited early; its log:\n{log_path.read_text()}")
                if time.monotonic() > deadline:
                    sys.exit(f"demo: the server did not start; its log is {log_path}")
                time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if keep:
            err.print(f"[dim]kept the data directory {data_dir}[/]")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


#: answers worth sending the submission again for, with the same ``Idempotency-Key``: no
#: answer at all (a timeout, a dropped connection), the first attempt still being accepted,
#: or the job store briefly away
RETRY_ON = (None, 409, 503)


def submit(client: ServerClient, body: dict[str, Any], attempts: int = 3,
           pause: float = 1.0) -> dict[str, Any]:
    """``POST /crews/execute`` with an ``Idempotency-Key``, retried as a client behind a
    flaky network must: a retry whose first attempt did create the job gets that job back
    instead of running (and paying for) the crews twice."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    for attempt in range(1, attempts + 1):
        try:
            return client.request(  # type: ignore[no-any-return]
                "POST", "/crews/execute", json=body, headers=headers)
        except ServerError as exc:
            if attempt == attempts or exc.status not in RETRY_ON:
                raise
            err.print(f"[yellow]submission failed ({exc}); sending it again with the same "
                      "Idempotency-Key[/]")
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")


def run_demo(url: str, story: Path, crews: str, api_key: str | None) -> int:
    text = story.read_text(encoding="utf-8")
    project_id = f"demo-{uuid.uuid4().hex[:8]}"
    with ServerClient(url, api_key, timeout=60) as client:
        health = client.request("GET", "/health")
        err.print(f"server {url}: {health.get('status')}, "
                  f"crews: {', '.join(c['name'] for c in client.request('GET', '/crews'))}")
        body = {
            "crew_type": crews,
            "project_id": project_id,
            "user_id": "demo",
            "input_data": {"story_text": text, "preferences": {}},
            "config": {},
        }
        answer = submit(client, body)
        job_id = answer["job_id"]
        err.print(f"submitted [bold]{story.name}[/] ({len(text.split())} words) as job "
                  f"{job_id}: {answer.get('message')} "
                  f"(expected: {answer.get('estimated_time')})")
        with JobProgress(err) as view:
            for event in client.events(job_id):
                view.feed(event)
        job = client.get_job(job_id)
    out.print()
    render_job(job, out)
    return 0 if job.get("status") == "succeeded" else 1


def hint(model: str) -> None:
    if model == "offline":
        err.print(
            "\n[yellow]This ran on the [bold]offline[/bold] model[/yellow]: a deterministic "
            "stand-in that extracts from the text and does not understand the story.\n"
            "For a real analysis set a provider key and run again:\n"
            "  [bold]OPENROUTER_API_KEY=sk-or-... make demo[/]   "
            "(model: openrouter/anthropic/claude-sonnet-4)\n"
            "  or choose a model: [bold]NOVELCREW_MODEL=openrouter/google/gemini-2.5-pro[/]\n"
            "  or a local OpenAI-compatible server (Ollama, vLLM, LM Studio): "
            "[bold]NOVELCREW_MODEL=openai/llama3.1 OPENAI_BASE_URL=http://localhost:11434/v1[/]"
        )
    else:
        err.print(f"\n[dim]model: {model}[/]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="Use this running server instead of starting one.")
    parser.add_argument("--story", help=f"Story file (default: a sample from {STORIES}).")
    parser.add_argument("--crews", default="architect,director",
                        help="crew_type to send (default: architect,director).")
    parser.add_argument("--api-key", default=os.environ.get("NOVELCREW_API_KEY"),
                        help="API key for --url (or NOVELCREW_API_KEY).")
    parser.add_argument("--keep-data", action="store_true",
                        help="Keep the temporary data directory of the started server.")
    args = parser.parse_args()
    story = pick_story(args.story)
    try:
        if args.url:
            code = run_demo(args.url, story, args.crews, args.api_key)
            hint(model_choice())
            return code
        with local_server(args.keep_data) as url:
            code = run_demo(url, story, args.crews, None)
        hint(model_choice())
        return code
    except ServerError as exc:
        err.print(f"[bold red]demo: {exc}[/]")
        return 1
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
