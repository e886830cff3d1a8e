"""The REST client against a real Payload 3 server: reads, partial updates, typed errors."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from novelcrew_payload import (
    PayloadAuthError,
    PayloadClient,
    PayloadCollectionNotFound,
    PayloadConfig,
    PayloadNotFound,
    PayloadUnavailable,
    PayloadValidationError,
)
from novelcrew_payload.testing import PayloadServer


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
        await payload.create("projects", {"tone": "no name"})
    assert [e["path"] for e in missing.value.errors] == ["name"]


async def test_patch_changes_only_the_fields_sent(payload: PayloadClient,
                                                  new_project: Callable[..., Any]) -> None:
    project = await new_project(name="Partial", tone="wry", corePremise="A premise.")
    updated = await payload.patch("projects", project["id"], {"tone": "bleak"})
    assert updated["tone"] == "bleak"
    assert updated["name"] == "Partial" and updated["corePremise"] == "A premise."
    await payload.patch("projects", project["id"], {
        "workflowStatus": {"lastActivity": "2026-01-02T03:04:05.000Z"}})
    again = await payload.patch("projects", project["id"], {
        "workflowStatus": {"currentStep": "scene-planning"}})
    assert again["workflowStatus"]["currentStep"] == "scene-planning"
    assert again["workflowStatus"]["lastActivity"] == "2026-01-02T03:04:05.000Z"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_server_is_retried_then_reported() -> None:
    config = PayloadConfig(url=f"http://127.0.0.1:{_closed_port()}", api_key="k", retries=3,
                           backoff_seconds=0.05, max_backoff_seconds=0.1)
    transport = CountingTransport()
    async with PayloadClient(config, transport=transport) as client:
        with pytest.raises(PayloadUnavailable) as caught:
            await client.get("projects", 1)
    assert "unreachable" in caught.value.message
    assert "after 4 attempts" in caught.value.message
    assert transport.requests == 4


async def test_a_budget_bounds_the_retries() -> None:
    config = PayloadConfig(url=f"http://127.0.0.1:{_closed_port()}", api_key="k", retries=100,
                           backoff_seconds=0.05, max_backoff_seconds=0.1)
    async with PayloadClient(config) as client:
        started = time.monotonic()
        with pytest.raises(PayloadUnavailable):
            await client.get("projects", 1, budget=0.5)
    assert time.monotonic() - started < 2


async def test_a_5xx_is_retried_then_reported(payload_server: PayloadServer,
                                              client_config: Callable[..., PayloadConfig]
                                              ) -> None:
    # Payload on SQLite answers 500 to a non-numeric id: a real server-side failure
    transport = CountingTransport()
    async with PayloadClient(client_config(payload_server, retries=2),
                             transport=transport) as client:
        with pytest.raises(PayloadUnavailable) as caught:
            await client.get("projects", "not-a-number")
    assert caught.value.status == 500
    assert transport.requests == 3
