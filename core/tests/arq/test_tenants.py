"""Tenants on the arq backend: two API instances over one real redis-server and a real
``novelcrew worker``; each tenant's key lists, reads, follows and cancels only its own jobs in
either instance, and an admin key sees all (the inline backend: ``api/test_tenants.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from nc_arq_helpers import CREWS, StartWorker, until
from pydantic import SecretStr

from novelcrew.api.app import create_app
from novelcrew.backends.arq import ArqBackend
from novelcrew.plugins import load
from novelcrew.settings import Settings

KEYS = ["admin-key", "red-key:red", "blue-key:blue"]
ADMIN, RED, BLUE = ({"X-API-Key": k.split(":")[0]} for k in KEYS)


async def api_instance(stack: AsyncExitStack, base: Settings) -> httpx.AsyncClient:
    settings = base.model_copy(
        update={"api_keys": [SecretStr(k) for k in KEYS], "rate_limit_per_minute": 0})
    plugins = load(allow=[], include_entry_points=False, modules=[CREWS])
    app = create_app(settings, plugins, ArqBackend(plugins, settings))
    await stack.enter_async_context(app.router.lifespan_context(app))
    return await stack.enter_async_context(httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"))


@asynccontextmanager
async def instances(base: Settings,
                    ) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with AsyncExitStack() as stack:
        yield await api_instance(stack, base), await api_instance(stack, base)


async def until_status(client: httpx.AsyncClient, job_id: str, wanted: str) -> None:
    async def reached() -> bool:
        r = await client.get(f"/jobs/{job_id}", headers=ADMIN)
        return bool(r.json()["status"] == wanted)

    await until(reached, timeout=60)


async def test_tenants_see_only_their_jobs_in_every_api_instance(
        backend: ArqBackend, start_worker: StartWorker) -> None:
    """``backend`` (the fixture) only lends the test cluster's settings."""
    start_worker()
    async with instances(backend.settings) as (a, b):
        async def submit(client: httpx.AsyncClient, headers: dict[str, str],
                         **inputs: object) -> str:
            r = await client.post("/jobs", json={"crews": ["sleepy"], "project_id": "p",
                                                 "inputs": inputs}, headers=headers)
            assert r.status_code == 202, r.text
            return str(r.json()["id"])

        red = [await submit(a, RED, steps=1), await submit(b, RED, steps=1)]
        blue = [await submit(b, BLUE, steps=1)]
        admin = [await submit(a, ADMIN, steps=1)]
        for job_id in red + blue + admin:
            await until_status(a, job_id, "succeeded")

        for client in (a, b):  # either instance answers the same, from Redis
            listed = (await client.get("/jobs", headers=RED)).json()
            assert listed["count"] == 2 and {j["id"] for j in listed["data"]} == set(red)
            listed = (await client.get("/jobs?status=succeeded&project_id=p",
                                       headers=BLUE)).json()
            assert listed["count"] == 1 and listed["data"][0]["id"] == blue[0]
            assert (await client.get("/jobs", headers=ADMIN)).json()["count"] == 4
            assert (await client.get(f"/jobs/{red[0]}", headers=BLUE)).status_code == 404
            assert (await client.get(f"/jobs/{admin[0]}", headers=RED)).status_code == 404
            assert (await client.get(f"/jobs/{red[1]}", headers=RED)).json()["tenant"] \
                == "red"
            assert (await client.get(f"/jobs/{blue[0]}/events", headers=RED)).status_code \
                == 404
            stream = await client.get(f"/jobs/{blue[0]}/events", headers=BLUE)
            assert stream.status_code == 200 and "event: succeeded" in stream.text
            assert (await client.get(f"/crews/status/{red[0]}", headers=BLUE)).status_code \
                == 404

        # cancelling: a long job of red's, refused to blue, done by red in the other instance
        long = await submit(a, RED, steps=200, step_seconds=0.05)

        await until_status(a, long, "running")
        assert (await b.post(f"/jobs/{long}/cancel", headers=BLUE)).status_code == 404
        assert (await a.get(f"/jobs/{long}", headers=RED)).json()["cancel_requested"] is False
        assert (await b.post(f"/jobs/{long}/cancel", headers=RED)).status_code == 202

        await until_status(a, long, "cancelled")
        listed = (await a.get("/jobs?status=cancelled", headers=RED)).json()
        assert [j["id"] for j in listed["data"]] == [long]
        assert (await a.get("/jobs?status=cancelled", headers=BLUE)).json()["count"] == 0
