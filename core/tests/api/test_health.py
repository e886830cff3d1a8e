"""``/health`` tells an operator the truth: healthy (200) only when every required part is up;
degraded (503, with reasons) when a built-in plugin failed to load or a crew lacks a required
tool; unhealthy (503) when a required dependency is down. ``/plugins`` says why too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apicrews
import httpx
from nc_api import make_settings

from novelcrew.api.app import create_app
from novelcrew.plugins import DEFAULT_PLUGINS, load, register_module


async def test_healthy_lists_each_dependency(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy" and body["reasons"] == []
    backend = body["dependencies"]["backend"]
    assert (backend["status"], backend["required"], backend["detail"]) == ("ok", True, "inline")
    assert backend["data"]["writable"] is True and backend["data"]["waiting_jobs"] == 0
    assert body["dependencies"]["tool:probe"]["status"] == "ok"
    assert body["uptime_seconds"] >= 0


async def test_an_optional_part_down_is_shown_a_required_one_is_unhealthy(
        client: httpx.AsyncClient) -> None:
    apicrews.PROBE_HEALTH.update(status="down", required=False)
    r = await client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "healthy"
    assert r.json()["dependencies"]["tool:probe"]["status"] == "down"
    apicrews.PROBE_HEALTH.update(status="down", required=True)
    r = await client.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "unhealthy"
    assert r.json()["reasons"] == ["tool:probe is down: probe"]


async def test_a_failing_health_check_reports_down_not_500(client: httpx.AsyncClient) -> None:
    apicrews.PROBE_HEALTH.update(status="raise")
    r = await client.get("/health")
    assert r.status_code == 200
    probe = r.json()["dependencies"]["tool:probe"]
    assert probe["status"] == "down"
    assert probe["detail"] == "ConnectionError: probe unreachable"


async def test_a_crew_missing_a_required_tool_is_degraded(client: httpx.AsyncClient) -> None:
    apicrews.add_grapher(client.app.state.plugins)  # type: ignore[attr-defined]
    r = await client.get("/health")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "degraded"
    assert body["reasons"] == ["crew 'grapher' needs tool(s) kg_query, which no loaded plugin "
                               "registers (plugin needsgraph)"]
    rows = {row["name"]: row for row in (await client.get("/plugins")).json()}
    assert rows["needsgraph"]["warnings"] == [
        "crew 'grapher' needs tool(s) kg_query, which no loaded plugin registers"]
    assert rows["apicrews"]["warnings"] == []


async def _health_of(tmp_path: Path, plugins: Any) -> httpx.Response:
    app = create_app(make_settings(tmp_path), plugins)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            return await client.get("/health")
    finally:
        await lifespan.__aexit__(None, None, None)


async def test_a_built_in_plugin_that_failed_to_load_is_degraded(tmp_path: Path) -> None:
    plugins = load(allow=[], include_entry_points=False,
                   builtins=(*DEFAULT_PLUGINS, "novelcrew.default_plugins.no_such_builtin"))
    assert "inline" in plugins.registry.backends  # the others loaded
    register_module(plugins, apicrews.ApiCrews(), "apicrews")
    r = await _health_of(tmp_path, plugins)
    assert r.status_code == 503
    assert r.json()["status"] == "degraded"
    [reason] = r.json()["reasons"]
    assert reason.startswith("built-in plugin novelcrew.default_plugins.no_such_builtin failed "
                             "to load: ModuleNotFoundError")
    assert "novelcrew.default_plugins.no_such_builtin" in r.json()["plugin_errors"]


async def test_a_third_party_plugin_failure_is_shown_without_degrading(tmp_path: Path) -> None:
    plugins = load(allow=[], include_entry_points=False, modules=["no_such_plugin_xyz"])
    register_module(plugins, apicrews.ApiCrews(), "apicrews")
    r = await _health_of(tmp_path, plugins)
    assert r.status_code == 200 and r.json()["status"] == "healthy"
    assert r.json()["plugin_errors"] == {
        "no_such_plugin_xyz": "ModuleNotFoundError: No module named 'no_such_plugin_xyz'"}


async def test_a_blocking_synchronous_check_does_not_hold_other_requests(
        tmp_path: Path) -> None:
    """A plugin whose health check is a plain function that blocks on the network (a
    ``requests`` call, say) must not stall the server while it waits."""
    import asyncio
    import threading

    from novelcrew import Tool, hookimpl
    from novelcrew.specs import Health

    started, release = threading.Event(), threading.Event()

    def blocking_health(settings: Any) -> Health:
        started.set()
        if release.wait(20):  # set by the test once another request was answered meanwhile
            return Health(status="ok", detail="answered after another request")
        return Health(status="down", detail="nothing else ran while this check blocked")

    class Blocking:
        @hookimpl
        def register_tools(self, register: Any) -> None:
            register(Tool(name="slowprobe", description="A blocking health check.",
                          factory=lambda ctx: None, health=blocking_health))

    plugins = apicrews.load_plugins()
    register_module(plugins, Blocking(), "blocking")
    app = create_app(make_settings(tmp_path), plugins)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        health = asyncio.create_task(client.get("/health"))
        while not started.is_set():
            await asyncio.sleep(0.01)
        crews = await client.get("/crews")
        if crews.status_code == 200:
            release.set()
        r = await health
    assert crews.status_code == 200
    probe = r.json()["dependencies"]["tool:slowprobe"]
    assert (probe["status"], probe["detail"]) == ("ok", "answered after another request")


async def test_model_providers_show_in_health_without_failing_it(
        make_client: Any, tmp_path: Path) -> None:
    """An operator reads each provider's state in ``/health``: the routed OpenAI-compatible
    endpoint probed (``ok``, then ``down`` once nothing listens there), an unrouted provider
    ``disabled``; a provider is not a required part, so an outage stays a detail, not a 503."""
    from novelcrew_sdk.openai_server import OpenAIServer
    from novelcrew_sdk.testing import free_port

    with OpenAIServer() as server:
        client = await make_client(default_model="openai/m", openai_base_url=server.url)
        r = await client.get("/health")
        assert r.status_code == 200 and r.json()["status"] == "healthy"
        deps = r.json()["dependencies"]
        assert {k: (v["status"], v["required"]) for k, v in deps.items()
                if k.startswith("model:")} == {"model:openai": ("ok", False),
                                               "model:openrouter": ("disabled", False),
                                               "model:offline": ("ok", False)}
        assert deps["model:openai"]["detail"] == server.url
        assert [request.path for request in server.requests] == ["/v1/models"]
    gone = f"http://127.0.0.1:{free_port()}/v1"
    client = await make_client(default_model="openai/m", openai_base_url=gone,
                               data_dir=tmp_path / "second")
    r = await client.get("/health")
    assert r.status_code == 200 and r.json()["reasons"] == []
    down = r.json()["dependencies"]["model:openai"]
    assert down["status"] == "down" and down["detail"].startswith(f"{gone}: ConnectError")
