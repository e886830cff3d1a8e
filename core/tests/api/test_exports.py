"""Export formats come from plugins (``register_exports``): ``GET /exports`` and ``/plugins``
list them with their plugin, ``GET /jobs/{id}/export/{format}`` serves them, an unknown format
is a 404 naming the known ones, and with no exports plugin the list is empty and says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from novelcrew import Export, ExportUnavailable, Job, hookimpl
from novelcrew.backends.inline import InlineBackend
from novelcrew.backends.memory import MemoryStore
from novelcrew.errors import RegistrationError
from novelcrew.plugins import load, register_module
from novelcrew_sdk import make_plugins, make_settings
from novelcrew_sdk.pytest_plugin import app_client


def outline(job: dict[str, Any]) -> str:
    scenes = (job.get("result") or {}).get("outline", {}).get("scenes")
    if not scenes:
        raise ExportUnavailable("the job has no scenes: run the outline crew")
    return "".join(f"{n}. {s}\n" for n, s in enumerate(scenes, start=1))


class EdlPlugin:
    """A third party's format: an edit decision list, here a numbered scene outline."""

    @hookimpl
    def register_exports(self, register: Any) -> None:
        register(Export(name="outline.edl", media_type="text/plain; charset=utf-8",
                        suffix=".edl", description="Scene outline as an EDL.",
                        render=outline, label="EDL"))


async def served(plugins: Any, tmp_path: Path, *jobs: Job) -> Any:
    settings = make_settings(tmp_path)
    store = MemoryStore()
    for job in jobs:
        await store.create(job)
    return app_client(plugins, settings, InlineBackend(plugins, settings, store=store))


async def test_a_plugins_format_is_listed_and_served(tmp_path: Path) -> None:
    done = Job(id="0a1b2c3d", crews=["outline"], status="succeeded",
               result={"outline": {"scenes": ["Dawn", "Dusk"]}})
    empty = Job(id="4e5f6a7b", crews=["outline"], status="succeeded")
    async with await served(make_plugins(EdlPlugin()), tmp_path, done, empty) as client:
        assert (await client.get("/exports")).json() == [{
            "name": "outline.edl", "label": "EDL", "description": "Scene outline as an EDL.",
            "media_type": "text/plain; charset=utf-8", "suffix": ".edl",
            "plugin": "EdlPlugin-0"}]
        rows = {row["name"]: row for row in (await client.get("/plugins")).json()}
        assert rows["EdlPlugin-0"]["exports"] == ["outline.edl"]
        assert rows["EdlPlugin-0"]["hooks"] == ["register_exports"]
        file = await client.get("/jobs/0a1b2c3d/export/outline.edl")
        assert file.status_code == 200 and file.text == "1. Dawn\n2. Dusk\n"
        assert file.headers["content-type"] == "text/plain; charset=utf-8"
        assert file.headers["content-disposition"] == 'attachment; filename="0a1b2c3d.edl"'
        early = await client.get("/jobs/4e5f6a7b/export/outline.edl")
        assert early.status_code == 409
        assert early.json() == {"error": {
            "type": "conflict", "message": "the job has no scenes: run the outline crew",
            "details": {"job_id": "4e5f6a7b", "format": "outline.edl",
                        "status": "succeeded"}}}


async def test_an_unknown_format_is_a_404_naming_the_known_ones(tmp_path: Path) -> None:
    done = Job(id="0a1b2c3d", crews=["outline"], status="succeeded")
    async with await served(make_plugins(EdlPlugin()), tmp_path, done) as client:
        bad = await client.get("/jobs/0a1b2c3d/export/pdf")
        assert bad.status_code == 404
        assert bad.json() == {"error": {
            "type": "not_found", "message": "unknown export format 'pdf'; known: outline.edl",
            "details": {"formats": ["outline.edl"]}}}
        # the format is checked first: an unknown job in an unknown format names the format
        other = await client.get("/jobs/ffffffff/export/pdf")
        assert other.status_code == 404 and "'pdf'" in other.json()["error"]["message"]


async def test_with_no_exports_plugin_the_list_is_empty_and_says_so(tmp_path: Path) -> None:
    done = Job(id="0a1b2c3d", crews=["outline"], status="succeeded")
    async with await served(make_plugins(), tmp_path, done) as client:
        assert (await client.get("/exports")).json() == []
        bad = await client.get("/jobs/0a1b2c3d/export/fountain")
        assert bad.status_code == 404
        assert bad.json()["error"]["details"] == {"formats": []}
        assert "no export formats are installed (novelcrew-exports adds the story formats)" \
            in bad.json()["error"]["message"]
        doc = (await client.get("/openapi.json")).json()
        assert "novelcrew-exports" in doc["paths"]["/exports"]["get"]["description"]


def test_a_bad_or_clashing_registration_is_refused_naming_the_plugins() -> None:
    def fmt(name: str, suffix: str = ".txt") -> Export:
        return Export(name=name, media_type="text/plain", suffix=suffix, description="x",
                      render=lambda job: "")

    class Bad:
        @hookimpl
        def register_exports(self, register: Any) -> None:
            register(fmt("Bad Name"))

    class NoDot:
        @hookimpl
        def register_exports(self, register: Any) -> None:
            register(fmt("notes", suffix="txt"))

    class Second:
        @hookimpl
        def register_exports(self, register: Any) -> None:
            register(fmt("outline.edl"))

    plugins = load(allow=[])
    with pytest.raises(RegistrationError, match=r"registered an export format with an "
                       r"invalid name 'Bad Name' \(lowercase letters, digits, '-', '_' and "):
        register_module(plugins, Bad(), "bad")
    with pytest.raises(RegistrationError, match=r"suffix 'txt' must start with '\.'"):
        register_module(plugins, NoDot(), "nodot")
    register_module(plugins, EdlPlugin(), "edl")
    with pytest.raises(RegistrationError) as clash:
        register_module(plugins, Second(), "second")
    assert clash.value.message == (
        "export format 'outline.edl' is registered by both 'edl' and 'second'")
    assert plugins.registry.exports["outline.edl"].plugin == "edl"
    assert set(plugins.registry.exports) == {"outline.edl"}
    assert "registered by both" in (plugins.infos["second"].error or "")


class BuggyExports:
    """A third party's formats with bugs: one whose render raises, one that returns a dict."""

    @hookimpl
    def register_exports(self, register: Any) -> None:
        register(Export(name="crash.txt", media_type="text/plain", suffix=".txt",
                        description="raises", render=lambda job: job["result"]["nope"]["x"]))
        register(Export(name="dict.json", media_type="application/json", suffix=".json",
                        description="returns a dict", render=lambda job: {"a": 1}))


async def test_a_bug_in_a_plugins_render_is_a_500_naming_the_plugin(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Not the anonymous 'the server failed': the author (and the app showing the error) reads
    which plugin's format broke and how; the traceback, with the plugin's line, is logged."""
    done = Job(id="0a1b2c3d", crews=["outline"], status="succeeded", result={"outline": {}})
    async with await served(make_plugins(BuggyExports()), tmp_path, done) as client:
        crash = await client.get("/jobs/0a1b2c3d/export/crash.txt")
        wrong = await client.get("/jobs/0a1b2c3d/export/dict.json")
    assert crash.status_code == 500
    assert crash.json()["error"] == {
        "type": "plugin_error",
        "message": "export 'crash.txt' of plugin 'BuggyExports-0' failed: KeyError: 'nope'",
        "details": {"job_id": "0a1b2c3d", "format": "crash.txt", "plugin": "BuggyExports-0"}}
    assert "test_exports.py" in caplog.text and "KeyError" in caplog.text
    assert wrong.status_code == 500
    assert wrong.json()["error"]["message"] == (
        "export 'dict.json' of plugin 'BuggyExports-0' failed: its render returned dict, not "
        "str or bytes")


async def test_a_job_still_running_says_so_beside_what_the_format_lacks(tmp_path: Path) -> None:
    """Exported before its crews finished, the plugin's 'run the outline crew' would send the
    user to run a crew that is already on its way."""
    queued = Job(id="0a1b2c3d", crews=["outline"], status="queued")
    async with await served(make_plugins(EdlPlugin()), tmp_path, queued) as client:
        early = await client.get("/jobs/0a1b2c3d/export/outline.edl")
    assert early.status_code == 409
    assert early.json()["error"]["message"] == (
        "the job has no scenes: run the outline crew (the job is queued: try again when it has "
        "finished)")
