"""``novelcrew jobs list|show|cancel|retry`` against a real server process."""

from __future__ import annotations

import json
import time

import httpx
from typer.testing import CliRunner

from novelcrew.cli import app


def submit(server: dict[str, str], **inputs: object) -> str:
    body = {"crews": ["count"], "project_id": "jobs-cli",
            "inputs": {"story_text": "a b c d", **inputs}}
    response = httpx.post(f"{server['url']}/jobs", json=body,
                          headers={"X-API-Key": server["api_key"]}, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def cli(server: dict[str, str], *args: str) -> object:
    return CliRunner().invoke(app, ["jobs", *args, "--url", server["url"]],
                              env={"NOVELCREW_API_KEY": server["api_key"], "COLUMNS": "200"})


def test_show_follow_streams_progress_then_prints_the_result(server: dict[str, str]) -> None:
    job_id = submit(server, delay=1.5)  # still running when --follow starts
    result = cli(server, "show", job_id, "--follow")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "job succeeded" in result.stderr  # type: ignore[attr-defined]
    assert "count" in result.stdout and "succeeded" in result.stdout  # type: ignore[attr-defined]
    assert '"words": 4' in result.stdout  # type: ignore[attr-defined]


def test_list_shows_jobs_newest_first(server: dict[str, str]) -> None:
    first, second = submit(server), submit(server)
    result = cli(server, "list", "--project-id", "jobs-cli", "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    ids = [job["id"] for job in json.loads(result.stdout)["data"]]  # type: ignore[attr-defined]
    assert ids.index(second) < ids.index(first)
    table = cli(server, "list", "--project-id", "jobs-cli")
    assert table.exit_code == 0 and second in table.stdout  # type: ignore[attr-defined]


def test_cancel_a_running_job(server: dict[str, str]) -> None:
    job_id = submit(server, delay=5)
    deadline = time.monotonic() + 30
    while True:
        shown = json.loads(cli(server, "show", job_id, "--json").stdout)  # type: ignore[attr-defined]
        if shown["status"] == "running":
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    result = cli(server, "cancel", job_id)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert job_id in result.stdout  # type: ignore[attr-defined]
    followed = cli(server, "show", job_id, "--follow", "--json")
    assert followed.exit_code == 130  # type: ignore[attr-defined]
    assert json.loads(followed.stdout)["status"] == "cancelled"  # type: ignore[attr-defined]
    again = cli(server, "cancel", job_id)
    assert again.exit_code == 1 and "already ended" in again.stderr  # type: ignore[attr-defined]
    retried = cli(server, "retry", job_id)
    assert retried.exit_code == 0, retried.output  # type: ignore[attr-defined]
    new_id = retried.stdout.split(" retried as ")[1].split()[0]  # type: ignore[attr-defined]
    assert new_id != job_id
    done = cli(server, "show", new_id, "--follow", "--json")
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    assert json.loads(done.stdout)["result"]["count"]["words"] == 4  # type: ignore[attr-defined]
    twice = cli(server, "retry", new_id)  # it succeeded: nothing to retry
    assert twice.exit_code == 1 and "succeeded" in twice.stderr  # type: ignore[attr-defined]


def test_errors_are_plain(server: dict[str, str]) -> None:
    missing = cli(server, "show", "no-such-job")
    assert missing.exit_code == 1 and "no-such-job" in missing.stderr  # type: ignore[attr-defined]
    wrong_key = CliRunner().invoke(app, ["jobs", "list", "--url", server["url"],
                                         "--api-key", "wrong"])
    assert wrong_key.exit_code == 1 and "--api-key" in wrong_key.stderr
    down = CliRunner().invoke(app, ["jobs", "list", "--url", "http://127.0.0.1:9"])
    assert down.exit_code == 1 and "cannot reach the server" in down.stderr


def test_sse_parsing_skips_comments_and_joins_data_lines() -> None:
    from novelcrew.cli.jobs import sse_events

    stream = [
        ": keep-alive", "",
        "id: 1", "event: queued", 'data: {"seq": 1, "type": "queued"}', "",
        "id: 2", "event: progress", 'data: {"seq": 2,', 'data:  "type": "progress"}', "",
        "data: not json", "",
        'data: {"seq": 3, "type": "succeeded"}',
    ]
    assert [e["seq"] for e in sse_events(iter(stream))] == [1, 2, 3]
