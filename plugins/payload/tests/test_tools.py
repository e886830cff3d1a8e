"""The three tools, built as a job would build them, and the health check."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from novelcrew import ToolContext
from novelcrew.errors import InvalidInput
from novelcrew.plugins import load
from novelcrew.settings import Settings
from novelcrew_payload import (
    PayloadClient,
    PayloadConfig,
    PayloadError,
    PayloadNotFound,
    PayloadUnavailable,
)
from novelcrew_payload.api import read_project_with_names
from novelcrew_payload.outage import known_outage
from novelcrew_payload.testing import PayloadServer


def build(name: str, settings: Settings, project_id: Any = None) -> Any:
    registry = load(allow=["payload"]).registry
    ctx = ToolContext(settings=settings, project_id=project_id, job_id="job-1", crew="architect")
    return registry.tools[name].spec.factory(ctx)


async def test_read_project_defaults_to_the_jobs_project(
        payload_server: PayloadServer, settings_for: Callable[..., Settings]) -> None:
    ids = payload_server.seeded
    tool = build("payload_read_project", settings_for(payload_server), str(ids["projectId"]))
    project = await tool.acall()
    assert project["id"] == ids["projectId"] and project["tone"] == ["Melancholic", "Wry"]
    other = await tool.acall(project_id=ids["bareProjectId"])
    assert other["name"] == "No Story Yet"


async def test_read_project_gives_linked_notes_as_their_records_names(
        payload_server: PayloadServer, settings_for: Callable[..., Settings],
        payload: PayloadClient) -> None:
    """Novel Movie links tone, mood and audience to records (ids at ``depth=0``): crew code and
    agents get the records' names, and nothing else of them; the rest is the ``depth=0`` doc."""
    ids = payload_server.seeded
    raw = await payload.get("projects", ids["projectId"])
    assert raw["tone"] == ids["notes"]["tone"]  # ids, as Payload stores them
    tool = build("payload_read_project", settings_for(payload_server), str(ids["projectId"]))
    notes = {"tone": ["Melancholic", "Wry"], "mood": ["Brooding"],
             "targetAudience": ["Adults", "Fans of Maritime Folklore"]}
    assert await tool.acall() == {**raw, **notes, **LOOKS}  # the story stays an id: not read
    seen = json.loads(tool.run())
    assert {key: seen[key] for key in notes} == notes
    assert "a long description" not in tool.run()


#: the seeded project's look, format and genres as words (see the test server's seed.mjs)
LOOKS = {
    "movieStyle": {"name": "Painterly Noir", "description": (
        "Hand-painted film noir: deep ink shadows, rain-slick surfaces lit by a single "
        "practical, muted teal and amber, visible brush texture.")},
    "movieFormat": {"name": "Short Film", "suggestedDuration": 15},
    "primaryGenres": ["Drama", "Mystery"],
}


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real transport that keeps the path and query of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url)
        return await super().handle_async_request(request)


async def test_the_projects_style_format_and_genres_come_as_words_in_one_more_read(
        payload_server: PayloadServer, client_config: Callable[..., PayloadConfig]) -> None:
    """Novel Movie links a project's movie style, format and genres to records (ids at
    ``depth=0``), as it does tone, mood and audience: all six resolve in one more request, of
    only those fields and of their records only what the crews use. Title, descriptions and
    runtime are the project's own fields, read as stored."""
    ids = payload_server.seeded
    transport = CountingTransport()
    async with PayloadClient(client_config(payload_server), transport=transport) as client:
        raw = await client.get("projects", ids["projectId"])
        transport.sent.clear()
        read = await read_project_with_names(client, ids["projectId"])
    assert raw["movieStyle"] == ids["looks"]["movieStyle"]  # ids, as Payload stores them
    assert raw["primaryGenres"] == ids["looks"]["primaryGenres"]
    assert {key: read[key] for key in LOOKS} == LOOKS  # genres in the project's order
    assert (read["projectTitle"], read["durationUnit"]) == ("The Keeper of Gull Rock", 12)
    assert read["shortDescription"].startswith("A lighthouse keeper hides")
    assert len(transport.sent) == 2  # the project, then one read for all linked fields
    query = transport.sent[1].params
    assert sorted(k for k in query if k.startswith("select")) == sorted(
        f"select[{field}]" for field in ("tone", "mood", "targetAudience", "primaryGenres",
                                         "movieStyle", "movieFormat"))
    assert "populate[movie-styles][description]" in query
    assert "populate[genres][description]" not in query  # a genre's name is all a crew uses


async def test_an_older_project_without_style_format_or_genres_is_read_once(
        payload_server: PayloadServer, client_config: Callable[..., PayloadConfig]) -> None:
    transport = CountingTransport()
    async with PayloadClient(client_config(payload_server), transport=transport) as client:
        read = await read_project_with_names(client, payload_server.seeded["bareProjectId"])
    assert len(transport.sent) == 1
    assert read["movieStyle"] is None and read["primaryGenres"] == []
    assert read["durationUnit"] is None


async def test_a_style_format_or_genre_that_does_not_populate_is_left_out(
        payload_server: PayloadServer, settings_for: Callable[..., Settings],
        payload: PayloadClient) -> None:
    """A retired format or genre (hidden from readers) or a deleted style: never an id."""
    style = await payload.create("movie-styles", {"name": "Soon Gone"})
    retired = await payload.create("movie-formats", {"name": "Retired Format",
                                                     "suggestedDuration": 3, "isActive": False})
    kept = await payload.create("genres", {"name": "Western"})
    hidden = await payload.create("genres", {"name": "Retired Genre", "isActive": False})
    project = await payload.create("projects", {
        "name": "Half looked", "movieStyle": style["id"], "movieFormat": retired["id"],
        "primaryGenres": [hidden["id"], kept["id"]]})
    await payload.request("DELETE", f"/movie-styles/{style['id']}")
    tool = build("payload_read_project", settings_for(payload_server), str(project["id"]))
    read = await tool.acall()
    assert (read["movieStyle"], read["movieFormat"], read["primaryGenres"]) == (
        None, None, ["Western"])
    seen = json.loads(tool.run())  # what agents get
    assert (seen["movieStyle"], seen["movieFormat"], seen["primaryGenres"]) == (
        None, None, ["Western"])


async def test_a_linked_record_that_does_not_populate_is_left_out(
        payload_server: PayloadServer, settings_for: Callable[..., Settings],
        payload: PayloadClient) -> None:
    """A record Payload does not populate (here retired, so hidden from readers; or deleted,
    or beyond a depth limit) stays an id: it is left out, never shown to a prompt as one."""
    kept = await payload.create("tone-options", {"name": "Tender"})
    retired = await payload.create("tone-options", {"name": "Retired", "isActive": False})
    gone = await payload.create("mood-descriptors", {"name": "Gone", "isActive": False})
    project = await payload.create("projects", {
        "name": "Half linked", "tone": [retired["id"], kept["id"]], "mood": [gone["id"]]})
    tool = build("payload_read_project", settings_for(payload_server), str(project["id"]))
    read = await tool.acall()
    assert (read["tone"], read["mood"], read["targetAudience"]) == (["Tender"], [], [])
    assert '"tone": ["Tender"]' in tool.run()


async def test_notes_kept_as_text_are_read_as_they_are(
        tmp_path: Path, settings_for: Callable[..., Settings]) -> None:
    """Other setups keep tone, mood and audience as text: they are read as they are."""
    server = PayloadServer(data_dir=tmp_path / "payload-db",
                           env={"PAYLOAD_TEXT_NOTES": "1"}).start()
    try:
        project_id = server.seeded["projectId"]
        async with PayloadClient(PayloadConfig(url=server.url, api_key=server.api_key)) as raw:
            stored = await raw.get("projects", project_id)
        read = await build("payload_read_project", settings_for(server),
                           str(project_id)).acall()
    finally:
        server.stop()
    # the notes as stored; the style, format and genres (links in either setup) as words
    assert read == {**stored, **LOOKS}
    assert read["tone"] == "melancholic" and read["mood"] == "quiet"


async def test_read_story_returns_the_story_or_none(
        payload_server: PayloadServer, settings_for: Callable[..., Settings]) -> None:
    ids = payload_server.seeded
    tool = build("payload_read_story", settings_for(payload_server), str(ids["projectId"]))
    story = await tool.acall()
    assert story["id"] == ids["storyId"]
    assert story["project"] == ids["projectId"]  # depth 0
    assert "Gull Rock" in story["currentContent"]
    assert await tool.acall(project_id=ids["bareProjectId"]) is None


async def test_update_project_is_partial(
        payload_server: PayloadServer, settings_for: Callable[..., Settings],
        new_project: Callable[..., Any]) -> None:
    project = await new_project(name="Tool update", corePremise="calm")
    tool = build("payload_update_project", settings_for(payload_server), str(project["id"]))
    updated = await tool.acall(data={"name": "Tool update, renamed"})
    assert updated["name"] == "Tool update, renamed" and updated["corePremise"] == "calm"


def test_agents_get_text_from_run(
        payload_server: PayloadServer, settings_for: Callable[..., Settings]) -> None:
    ids = payload_server.seeded
    settings = settings_for(payload_server)
    story = build("payload_read_story", settings, str(ids["projectId"]))
    assert json.loads(story.run())["currentContent"].startswith("Maya")
    assert json.loads(story.run(project_id=ids["projectId"]))["id"] == ids["storyId"]
    assert story.run(project_id=str(ids["bareProjectId"])) == (
        f"Payload error: this job works on project {ids['projectId']}; payload_read_story "
        f"refuses project {ids['bareProjectId']}")  # agents stay within the job's project
    unscoped = build("payload_read_story", settings, None)
    assert unscoped.run(project_id=str(ids["bareProjectId"])).startswith("No story exists")
    missing = build("payload_read_project", settings, "424242")
    assert missing.run().startswith("Payload error: Payload found nothing")
    assert missing.args_schema.model_json_schema()["properties"]["project_id"]


async def test_errors_reach_crew_code_typed(
        payload_server: PayloadServer, settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(payload_server)
    with pytest.raises(PayloadNotFound):
        await build("payload_read_project", settings, "424242").acall()
    with pytest.raises(InvalidInput):
        await build("payload_read_project", settings, None).acall()
    with pytest.raises(PayloadError, match="not configured"):
        await build("payload_read_story", settings_for(None), "1").acall()


UNKNOWN_KEY = ("Payload rejected the API key: it does not know it, and answers as to an "
               "anonymous visitor")


def tool_health(name: str) -> Any:
    health = load(allow=["payload"]).registry.tools[name].spec.health
    assert health is not None
    return health


async def test_health_says_what_the_keys_user_may_do_and_writes_nothing(
        payload_server: PayloadServer, settings_for: Callable[..., Settings],
        payload: Any) -> None:
    """A key that may read but not update projects passed a read; it is ``down`` for the
    update tool (and the observer) before any job's update is refused."""
    before = await payload.find("projects", limit=100)
    key = payload_server.api_key
    seen = {}
    for role, api_key in {"crew": key, "reader": f"{key}-reader",
                          "editor": f"{key}-editor"}.items():
        settings = settings_for(payload_server, api_key=api_key)
        seen[role] = {name: await tool_health(name)(settings)
                      for name in ("payload_read_project", "payload_read_story",
                                   "payload_update_project")}
    for name, answer in seen["crew"].items():
        assert answer.status == "ok" and answer.data["checked"] == "GET /api/access", name
        assert "latency_ms" in answer.data
    assert seen["crew"]["payload_update_project"].detail == (
        "Payload lets the API key update projects and the fields novelcrew writes (checked "
        "with GET /api/access)")
    # a reader reads, and may not update: only the update tool is down, saying why
    assert seen["reader"]["payload_read_project"].status == "ok"
    assert seen["reader"]["payload_read_story"].status == "ok"
    down = seen["reader"]["payload_update_project"]
    assert down.status == "down"
    assert down.detail == ("Payload accepts the API key, but its user may not update "
                           "projects (checked with GET /api/access)")
    # a field-level rule: Payload would take the PATCH and drop workflowStatus silently
    down = seen["editor"]["payload_update_project"]
    assert down.status == "down" and down.data["denied"] == [
        "update projects.workflowStatus.currentStep",
        "update projects.workflowStatus.completedSteps",
        "update projects.workflowStatus.lastActivity"]
    # what was checked wrote nothing
    after = await payload.find("projects", limit=100)
    assert [d["updatedAt"] for d in after["docs"]] == [d["updatedAt"] for d in before["docs"]]


async def test_health_finds_a_wrong_key_where_anyone_may_read_projects(
        tmp_path: Path, settings_for: Callable[..., Settings]) -> None:
    """Novel Movie's projects are readable by anyone (``read: () => true``): a read passes
    with any key, so only asking what the key may do finds a wrong one."""
    server = PayloadServer(data_dir=tmp_path / "payload-db",
                           env={"PAYLOAD_PUBLIC_READ": "1"}).start()
    try:
        wrong = settings_for(server, api_key="wrong-key")
        tool = build("payload_read_project", wrong, str(server.seeded["projectId"]))
        assert (await tool.acall())["name"] == "The Lighthouse Keeper"  # it reads ...
        for name in ("payload_read_project", "payload_update_project"):
            answer = await tool_health(name)(wrong)
            assert answer.status == "down" and answer.detail == UNKNOWN_KEY, name
        nokey = await tool_health("payload_read_project")(settings_for(None, url=server.url))
        assert nokey.status == "down" and nokey.detail.startswith("no API key is configured")
        assert (await tool_health("payload_update_project")(settings_for(server))).status \
            == "ok"
    finally:
        server.stop()


async def test_health_ok_disabled_down_and_wrong_key(
        payload_server: PayloadServer, settings_for: Callable[..., Settings]) -> None:
    health = load(allow=["payload"]).registry.tools["payload_read_project"].spec.health
    assert health is not None
    ok = await health(settings_for(payload_server))
    assert ok.status == "ok" and ok.data["url"] == f"{payload_server.url}/api"
    disabled = await health(settings_for(None))
    # the operator learns the variable Novel Movie's docs use, not only the plugin's own name
    assert disabled.status == "disabled" and "NOVEL_MOVIE_API_URL" in disabled.detail
    wrong = await health(settings_for(payload_server, api_key="wrong-key"))
    assert wrong.status == "down"
    assert wrong.detail == UNKNOWN_KEY
    down = await health(settings_for(None, url="http://127.0.0.1:9", api_key="k"))
    assert down.status == "down" and "unreachable" in down.detail


async def test_the_servers_health_names_a_rejected_key(
        payload_server: PayloadServer, settings_for: Callable[..., Settings]) -> None:
    from novelcrew_sdk.pytest_plugin import app_client

    plugins = load(allow=["payload"])
    async with app_client(plugins, settings_for(payload_server, api_key="wrong")) as client:
        r = await client.get("/health")
    body = r.json()
    # Payload is optional: the server still serves, and says which part is down
    assert r.status_code == 200 and body["status"] == "healthy"
    for tool in ("payload_read_project", "payload_read_story", "payload_update_project"):
        entry = body["dependencies"][f"tool:{tool}"]
        assert entry["status"] == "down"
        assert entry["detail"] == UNKNOWN_KEY


async def test_a_hanging_payload_does_not_hold_up_health_after_the_first_answer(
        settings_for: Callable[..., Settings]) -> None:
    """A Payload that accepts connections and never answers: the first check waits for its
    probe to give up (bounded) and says so; later checks answer at once from that answer
    while a new probe waits, instead of each holding ``/health`` for the probe's timeout."""
    import asyncio

    from novelcrew_payload.health import SHARE_SECONDS

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    health = load(allow=["payload"]).registry.tools["payload_read_project"].spec.health
    assert health is not None
    settings = settings_for(None, url=f"http://127.0.0.1:{port}", api_key="k")
    async with server:
        first = await health(settings)
        assert first.status == "down" and "last probe" not in first.detail
        await asyncio.sleep(SHARE_SECONDS + 0.1)  # past the window in which checks share a probe
        later = await health(settings)
        assert later.status == "down"
        assert later.detail.startswith(first.detail)
        assert "the last probe's answer; a new one has waited" in later.detail


async def test_agents_get_a_stored_storyboard_cut_to_its_flags_and_warnings(
        payload_server: PayloadServer, settings_for: Callable[..., Settings],
        new_project: Callable[..., Any]) -> None:
    # a stored storyboard is ~2 KB a shot: an agent reading (or updating) the project got all
    # of it as text, 150 KB for a 70-shot film, filling its context window
    shots = [{"id": f"s001-sh{n:02d}", "image_prompt": "x" * 1500, "motion_prompt": "y" * 300}
             for n in range(1, 41)]
    board = {"title": "Gull Rock", "offline": False, "ready_for_media_generation": True,
             "bible": {"characters": [{"id": "maya", "phrase": "Maya, wet black hair"}]},
             "scenes": [{"id": "s001", "number": 1, "shots": shots}],
             "totals": {"scenes": 1, "shots": 40}, "warnings": ["scene 1: check before it"]}
    project = await new_project(name="Stored board", generatedContent={"storyboard": board})
    settings = settings_for(payload_server)
    read = build("payload_read_project", settings, str(project["id"]))
    assert (await read.acall())["generatedContent"]["storyboard"] == board  # crew code: whole

    text = read.run()
    seen = json.loads(text)["generatedContent"]["storyboard"]
    assert len(text) < 2000
    assert {key: seen[key] for key in ("title", "ready_for_media_generation", "totals",
                                       "warnings")} == {
        "title": "Gull Rock", "ready_for_media_generation": True,
        "totals": {"scenes": 1, "shots": 40}, "warnings": ["scene 1: check before it"]}
    assert "acall" in seen["left_out"] and "scenes" not in seen
    update = build("payload_update_project", settings, str(project["id"]))
    answer = json.loads(update.run(data={"corePremise": "tense"}))
    assert answer["corePremise"] == "tense"
    assert "scenes" not in answer["generatedContent"]["storyboard"]


async def test_tools_fail_fast_while_payload_is_known_to_be_out_and_recover(
        tmp_path: Path, settings_for: Callable[..., Settings]) -> None:
    same = {"PAYLOAD_SECRET": "the-same-secret"}  # API keys are stored under the secret
    server = PayloadServer(data_dir=tmp_path / "payload-db", env=same).start()
    try:
        settings = settings_for(server, retries=3, backoff_seconds=0.4, max_backoff_seconds=2,
                                timeout_seconds=2)
        project_id = str(server.seeded["projectId"])
        tool = build("payload_read_project", settings, project_id)
        assert (await tool.acall())["id"] == server.seeded["projectId"]
        server.kill()

        # the first call to find Payload out retries with backoff (0.4 + 0.8 + 1.6 s) ...
        started = time.monotonic()
        with pytest.raises(PayloadUnavailable, match=r"unreachable.*\(after 4 attempts\)"):
            await tool.acall()
        assert time.monotonic() - started >= 2.8
        # ... every later call, of any Payload tool, knows: one attempt, at once, and says why
        story = build("payload_read_story", settings, project_id)
        for call in (tool.acall, story.acall):
            started = time.monotonic()
            with pytest.raises(PayloadUnavailable) as caught:
                await call()
            assert time.monotonic() - started < 0.5
            assert "(after" not in caught.value.message
            assert "(Payload has been unavailable for " in caught.value.message
            assert "one attempt, no retries, until it answers)" in caught.value.message
        assert "Payload has been unavailable for" in await asyncio.to_thread(tool.run)

        # Payload back at the same address: the first answer ends the outage
        back = PayloadServer(data_dir=server.data_dir, api_key=server.api_key,
                             port=server.port, env=same).start()
        try:
            assert (await tool.acall())["id"] == server.seeded["projectId"]
            assert known_outage(back.url + "/api") is None
        finally:
            back.stop()
    finally:
        server.stop()


def test_an_outage_lasts_while_calls_keep_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    """It is dated from its first failure and ends a while after its last one: a long outage
    does not earn every call its full retries again once the first failure is old."""
    from types import SimpleNamespace

    from novelcrew_payload import outage

    # the module's clock, moved by the test: sleeps measured against a short window failed
    # on a loaded machine (a 0.2 s sleep that took 0.3 s ended the outage early)
    now = [1000.0]
    monkeypatch.setattr(outage, "time", SimpleNamespace(monotonic=lambda: now[0]))
    window = outage.OUTAGE_SECONDS
    url = "http://payload.invalid/api"
    outage.note_unavailable(url)
    for _ in range(3):
        now[0] += window * 2 / 3
        assert outage.known_outage(url) is not None
        outage.note_unavailable(url)
    assert (outage.known_outage(url) or 0) >= 2 * window
    now[0] += window * 7 / 6
    assert outage.known_outage(url) is None
    outage.note_unavailable(url)
    now[0] += 1
    assert outage.known_outage(url) == 1  # a new outage, dated anew
    outage.note_available(url)
    assert outage.known_outage(url) is None


async def test_a_tools_health_from_the_last_probe_says_so(
        own_payload_server: PayloadServer, settings_for: Callable[..., Settings]) -> None:
    from novelcrew_payload.health import SHARE_SECONDS

    settings = settings_for(own_payload_server)
    check = tool_health("payload_update_project")
    assert (await check(settings)).status == "ok"
    own_payload_server.pause()  # the next probe hangs: the check answers from the last one
    try:
        await asyncio.sleep(SHARE_SECONDS + 0.1)
        later = await check(settings)
    finally:
        own_payload_server.resume()
    assert later.status == "ok" and "stale" not in later.data
    assert later.detail.startswith("Payload lets the API key update projects and the fields "
                                   "novelcrew writes (checked with GET /api/access) (the last "
                                   "probe's answer; a new one has waited ")
