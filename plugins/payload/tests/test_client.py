"""The REST client against a real Payload 3 server: reads, partial updates, typed errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from novelcrew_payload import (
    PayloadAuthError,
    PayloadBadId,
    PayloadClient,
    PayloadCollectionNotFound,
    PayloadConfig,
    PayloadNotFound,
    PayloadUnavailable,
    PayloadValidationError,
)
from novelcrew_payload.testing import PayloadServer
from novelcrew_sdk.testing import free_port


class CountingTransport(httpx.AsyncHTTPTransport):
    """The real transport, counting the requests it sends."""

    requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await super().handle_async_request(request)


async def test_reads_a_project_and_finds_its_story(payload: PayloadClient,
                                                   payload_server: PayloadServer) -> None:
    ids = payload_server.seeded
    project = await payload.get("projects", ids["projectId"])
    assert project["name"] == "The Lighthouse Keeper"
    assert project["story"] == ids["storyId"]  # depth 0: ids, not embedded documents
    page = await payload.find("stories", where={"project": {"equals": ids["projectId"]}})
    assert page["totalDocs"] == 1
    assert page["docs"][0]["currentContent"].startswith("Maya tends the lamp")


async def test_the_url_may_be_the_apps_root_or_its_rest_root(
        payload_server: PayloadServer) -> None:
    for url in (payload_server.url, f"{payload_server.url}/", f"{payload_server.url}/api/"):
        config = PayloadConfig(url=url, api_key=payload_server.api_key)
        assert config.api_url == f"{payload_server.url}/api"
        async with PayloadClient(config) as client:
            assert (await client.find("projects", limit=1))["totalDocs"] >= 2


async def test_a_missing_document_is_not_found(payload: PayloadClient) -> None:
    with pytest.raises(PayloadNotFound) as caught:
        await payload.get("projects", 987654)
    assert caught.value.status == 404
    assert not isinstance(caught.value, PayloadCollectionNotFound)


async def test_an_unknown_collection_is_named_as_such(payload: PayloadClient) -> None:
    with pytest.raises(PayloadCollectionNotFound) as caught:
        await payload.get("scenes", 1)
    assert "no such route or collection" in caught.value.message


async def test_a_wrong_key_is_reported_as_a_rejected_key(
        payload_server: PayloadServer, client_config: Callable[..., PayloadConfig]) -> None:
    config = client_config(payload_server, api_key="not-the-key", retries=3)
    transport = CountingTransport()
    async with PayloadClient(config, transport=transport) as client:
        with pytest.raises(PayloadAuthError) as caught:
            await client.get("projects", payload_server.seeded["projectId"])
    assert caught.value.status == 403
    assert "rejected the API key (403)" in caught.value.message
    # names the variable Novel Movie's own .env sets as well as novelcrew's
    assert "NOVELCREW_PAYLOAD_API_KEY (or NOVEL_MOVIE_API_KEY)" in caught.value.message
    assert "not-the-key" not in caught.value.message  # the key is never echoed
    assert transport.requests == 1  # a 4xx is not retried


async def test_the_header_names_the_auth_collection_and_bearer_fails(
        payload_server: PayloadServer) -> None:
    url = f"{payload_server.url}/api/projects/{payload_server.seeded['projectId']}"
    async with httpx.AsyncClient() as http:
        good = await http.get(url, headers={
            "Authorization": f"users API-Key {payload_server.api_key}"})
        bearer = await http.get(url, headers={
            "Authorization": f"Bearer {payload_server.api_key}"})
    assert good.status_code == 200
    assert bearer.status_code == 403


async def test_no_key_at_all_says_none_is_configured(payload_server: PayloadServer) -> None:
    async with PayloadClient(PayloadConfig(url=payload_server.url)) as client:
        with pytest.raises(PayloadAuthError) as caught:
            await client.find("projects")
    assert "no API key is configured" in caught.value.message


async def test_validation_errors_report_each_field_path(
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    project = await new_project()
    with pytest.raises(PayloadValidationError) as caught:
        await payload.patch("projects", project["id"], {
            "status": "shooting", "workflowStatus": {"currentStep": "rendering"}})
    paths = {error["path"] for error in caught.value.errors}
    assert paths == {"status", "workflowStatus.currentStep"}
    assert "workflowStatus.currentStep: This field has an invalid selection" in str(caught.value)
    with pytest.raises(PayloadValidationError) as missing:
        await payload.create("projects", {"corePremise": "no name"})
    assert [e["path"] for e in missing.value.errors] == ["name"]


async def test_patch_changes_only_the_fields_sent(payload: PayloadClient,
                                                  new_project: Callable[..., Any]) -> None:
    project = await new_project(name="Partial", corePremise="A premise.")
    updated = await payload.patch("projects", project["id"], {"name": "Partial, renamed"})
    assert updated["name"] == "Partial, renamed" and updated["corePremise"] == "A premise."
    await payload.patch("projects", project["id"], {
        "workflowStatus": {"lastActivity": "2026-01-02T03:04:05.000Z"}})
    again = await payload.patch("projects", project["id"], {
        "workflowStatus": {"currentStep": "scene-planning"}})
    assert again["workflowStatus"]["currentStep"] == "scene-planning"
    assert again["workflowStatus"]["lastActivity"] == "2026-01-02T03:04:05.000Z"


async def test_an_unreachable_server_is_retried_then_reported() -> None:
    config = PayloadConfig(url=f"http://127.0.0.1:{free_port()}", api_key="k", retries=3,
                           backoff_seconds=0.05, max_backoff_seconds=0.1)
    transport = CountingTransport()
    async with PayloadClient(config, transport=transport) as client:
        with pytest.raises(PayloadUnavailable) as caught:
            await client.get("projects", 1)
    assert "unreachable" in caught.value.message
    assert "after 4 attempts" in caught.value.message
    assert transport.requests == 4


async def test_a_budget_bounds_the_retries() -> None:
    config = PayloadConfig(url=f"http://127.0.0.1:{free_port()}", api_key="k", retries=100,
                           backoff_seconds=0.05, max_backoff_seconds=0.1)
    async with PayloadClient(config) as client:
        started = time.monotonic()
        with pytest.raises(PayloadUnavailable):
            await client.get("projects", 1, budget=0.5)
    assert time.monotonic() - started < 2


async def test_a_5xx_is_retried_then_reported() -> None:
    # a real HTTP server that fails the way an overloaded Payload does (Payload itself answers
    # 404 to every well-formed id it lacks, and ids that are not well-formed are never sent)
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Failing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"errors": [{"message": "Something went wrong."}]}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = PayloadConfig(url=f"http://127.0.0.1:{server.server_address[1]}", api_key="k",
                           retries=2, backoff_seconds=0.01, max_backoff_seconds=0.02)
    transport = CountingTransport()
    try:
        async with PayloadClient(config, transport=transport) as client:
            with pytest.raises(PayloadUnavailable) as caught:
                await client.get("projects", 7)
    finally:
        server.shutdown()
        server.server_close()
    assert caught.value.status == 500
    assert transport.requests == 3


@pytest.mark.parametrize("bad", ["../users/1", "../../admin/secret", "1/../../users/1", "..",
                                 "1?depth=9", "1#x", "%2e%2e", "", "1 OR 1=1", True])
async def test_an_id_never_becomes_a_path(payload_server: PayloadServer,
                                          client_config: Callable[..., PayloadConfig],
                                          bad: Any) -> None:
    transport = CountingTransport()
    async with PayloadClient(client_config(payload_server), transport=transport) as client:
        for call in (lambda: client.get("projects", bad),
                     lambda: client.patch("projects", bad, {"name": "x"})):
            with pytest.raises(PayloadBadId):
                await call()
        with pytest.raises(PayloadBadId):
            await client.find("../users")
    assert transport.requests == 0  # nothing reached Payload, least of all /api/users/1


@pytest.mark.parametrize("good", [7, "7", "0123456789abcdef01234567",
                                  "123e4567-e89b-12d3-a456-426614174000"])
def test_payload_id_formats_are_accepted_as_one_segment(good: Any) -> None:
    from novelcrew_payload.client import doc_path

    assert doc_path("projects", good) == f"/projects/{good}"
