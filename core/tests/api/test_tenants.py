"""Tenants (``NOVELCREW_API_KEYS=key:tenant``) on the inline backend: a tenant's key lists,
reads, follows, exports and cancels only its own jobs (another's is a 404, as an unknown id
is), on the native and Novel Movie routes; an admin key (a plain ``key``) sees every job.

The same rules on the arq backend, with jobs in Redis: ``core/tests/arq/test_tenants.py``.
"""

from __future__ import annotations

import apicrews
import pytest
from apihelpers import parse_sse, wait_job
from nc_api import make_settings

from novelcrew.api.app import create_app
from novelcrew.settings import SettingsError

KEYS = ["admin-key", "red-key:red", "red-key-2:red", "blue-key:blue"]
ADMIN, RED, RED2, BLUE = ({"X-API-Key": k.split(":")[0]} for k in KEYS)
STORY = {"story_text": "the long road"}


async def keyed_client(make_client):
    """A client whose requests carry the admin key unless they name another (``wait_job``)."""
    client = await make_client(api_keys=KEYS)
    client.headers.update(ADMIN)
    return client


async def submit(client, headers, **extra) -> str:
    r = await client.post("/jobs", json={"crews": ["echo"], "project_id": "p1",
                                         "inputs": STORY, **extra}, headers=headers)
    assert r.status_code == 202, r.text
    return r.json()["id"]


async def test_each_tenant_sees_only_its_own_jobs_and_an_admin_sees_all(make_client) -> None:
    client = await keyed_client(make_client)
    red = [await submit(client, RED), await submit(client, RED2)]
    r = await client.post("/crews/execute", json={"crew_type": "echo", "project_id": "p1",
                                                  "input_data": STORY}, headers=RED)
    red.append(r.json()["job_id"])
    blue = [await submit(client, BLUE)]
    admin = [await submit(client, ADMIN)]
    for job_id in red + blue + admin:
        await wait_job(client, job_id, "succeeded")  # as the admin

    listed = (await client.get("/jobs", headers=RED)).json()
    assert listed["count"] == 3 and {j["id"] for j in listed["data"]} == set(red)
    assert {j["tenant"] for j in listed["data"]} == {"red"}
    listed = (await client.get("/jobs?status=succeeded&project_id=p1&limit=1",
                               headers=RED2)).json()
    assert listed["count"] == 3 and listed["data"][0]["id"] == red[-1]
    listed = (await client.get("/jobs", headers=BLUE)).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == blue[0]
    listed = (await client.get("/jobs", headers=ADMIN)).json()
    assert listed["count"] == 5
    assert {j["id"]: j["tenant"] for j in listed["data"]}[admin[0]] is None

    # another tenant's job answers exactly as an unknown one
    unknown = await client.get("/jobs/0123456789abcdef0123456789abcdef", headers=BLUE)
    other = await client.get(f"/jobs/{red[0]}", headers=BLUE)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error"]["type"] == unknown.json()["error"]["type"] == "job_not_found"
    assert red[0] in other.json()["error"]["message"]
    assert (await client.get(f"/jobs/{red[0]}", headers=RED2)).status_code == 200
    assert (await client.get(f"/jobs/{red[0]}", headers=ADMIN)).status_code == 200
    assert (await client.get(f"/jobs/{admin[0]}", headers=RED)).status_code == 404

    # events (SSE), exports and Novel Movie's status route
    assert (await client.get(f"/jobs/{red[0]}/events", headers=BLUE)).status_code == 404
    stream = await client.get(f"/jobs/{red[0]}/events", headers=RED)
    assert stream.status_code == 200
    assert parse_sse(stream.text)[-1]["event"] == "succeeded"
    assert (await client.get(f"/jobs/{red[0]}/export/json", headers=BLUE)).status_code \
        == 404
    status = await client.get(f"/crews/status/{red[2]}", headers=BLUE)
    assert status.status_code == 404
    assert status.json()["success"] is False and status.json()["job_id"] == ""
    assert (await client.get(f"/crews/status/{red[2]}", headers=RED)).json()["status"] \
        == "completed"


async def test_a_tenant_cancels_only_its_own_jobs(make_client) -> None:
    client = await keyed_client(make_client)
    red = await submit(client, RED, crews=["gated"], inputs={"gate": "tenants", "steps": 2})
    await wait_job(client, red, "running")
    r = await client.post(f"/jobs/{red}/cancel", headers=BLUE)
    assert r.status_code == 404
    assert (await client.get(f"/jobs/{red}", headers=RED)).json()["cancel_requested"] is False
    r = await client.post(f"/jobs/{red}/cancel", headers=RED2)
    assert r.status_code == 202 and r.json()["cancel_requested"] is True
    apicrews.open_gate("tenants")
    assert (await wait_job(client, red, "cancelled"))["tenant"] == "red"
    blue = await submit(client, BLUE, crews=["gated"], inputs={"gate": "tenants2"})
    r = await client.post(f"/jobs/{blue}/cancel", headers=ADMIN)  # an admin cancels any
    assert r.status_code == 202
    apicrews.open_gate("tenants2")
    await wait_job(client, blue, "cancelled")


async def test_a_tenant_cannot_choose_its_tenant_in_the_body(make_client) -> None:
    client = await keyed_client(make_client)
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": STORY, "tenant": "blue"},
                          headers=RED)
    assert r.status_code == 422, r.text  # not a field of a job: refused, never honoured
    assert r.json()["error"]["details"]["errors"][0]["loc"] == ["body", "tenant"]
    r = await client.post("/crews/execute", json={"crew_type": "echo", "input_data": STORY,
                                                  "tenant": "blue"}, headers=RED)
    assert r.status_code == 200, r.text  # Novel Movie's call ignores fields it does not know
    job_id = r.json()["job_id"]
    assert (await client.get(f"/jobs/{job_id}", headers=RED)).json()["tenant"] == "red"
    assert (await client.get("/jobs", headers=BLUE)).json()["count"] == 0


async def test_without_keys_every_job_is_visible(client) -> None:
    job_id = await submit(client, {})
    assert (await client.get(f"/jobs/{job_id}")).json()["tenant"] is None
    assert (await client.get("/jobs")).json()["count"] == 1


@pytest.mark.parametrize("tenant", ["", "has space", "a/b", "-x", "x" * 65])
def test_a_malformed_tenant_stops_the_server_without_echoing_the_key(
        tmp_path, plugins, tenant: str) -> None:
    settings = make_settings(tmp_path, api_keys=f"admin-key,s3cr3t-value:{tenant}")
    with pytest.raises(SettingsError) as caught:
        create_app(settings, plugins)
    assert "NOVELCREW_API_KEYS: entry 2 is not 'key' or 'key:tenant'" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
