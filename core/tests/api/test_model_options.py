"""A job's model options (``temperature``, ``max_tokens``, ``webhook_partial``, ``cache``,
``max_cost_usd``, ``max_tokens_total``): stored when valid, refused with 422 naming the key when
not, on the native and Novel Movie routes."""

from __future__ import annotations

import httpx


async def test_the_native_route_takes_valid_options_and_refuses_bad_ones(
    client: httpx.AsyncClient,
) -> None:
    config = {"cache": False, "max_cost_usd": 0.5, "max_tokens_total": 20_000,
              "temperature": 0.3, "max_tokens": 4000, "webhook_partial": False}
    ok = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "a b"},
                                          "config": config})
    assert ok.status_code == 202, ok.text
    assert ok.json()["config"] == config
    for bad, key in [({"cache": "no"}, "config.cache"), ({"max_cost_usd": -1}, "max_cost_usd"),
                     ({"max_tokens_total": 0}, "max_tokens_total"),
                     ({"max_tokens_total": 1.5}, "max_tokens_total"),
                     # refused at submission, not 202 and then a job failing when it runs
                     ({"temperature": 5}, "config.temperature"),
                     ({"temperature": "hot"}, "config.temperature"),
                     ({"temperature": True}, "config.temperature"),
                     ({"max_tokens": 0}, "config.max_tokens"),
                     ({"max_tokens": 10.5}, "config.max_tokens"),
                     ({"max_tokens": 2_000_000}, "config.max_tokens"),
                     ({"webhook_partial": "yes"}, "config.webhook_partial")]:
        r = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "a"},
                                             "config": bad})
        assert r.status_code == 422, (bad, r.text)
        error = r.json()["error"]
        assert error["type"] == "invalid_input"
        assert key in error["message"]
        # the shape of a crew's config errors: the field's path in details.errors[].loc
        [problem] = error["details"]["errors"]
        assert problem["loc"] == ["config", *bad]
        assert problem["msg"] and problem["type"] and "input" not in problem
        assert error["details"]["config"] == next(iter(bad))  # as before
    jobs = (await client.get("/jobs")).json()
    assert jobs["count"] == 1  # nothing refused was queued


async def test_a_number_option_takes_an_integer_and_refuses_text_and_booleans(
    client: httpx.AsyncClient,
) -> None:
    """``temperature`` and ``max_cost_usd`` are numbers: ``1`` is ``1.0`` (a strict pydantic
    float takes an int, as PEP 484's numeric tower has it); ``"1"`` and ``true`` stay refused."""
    config = {"temperature": 1, "max_cost_usd": 2}
    ok = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "a b"},
                                          "config": config})
    assert ok.status_code == 202, ok.text
    assert ok.json()["config"] == config
    for bad in ({"max_cost_usd": True}, {"max_cost_usd": "1"}, {"temperature": "1"},
                {"tasks": {"t": {"temperature": False}}}):
        r = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "a"},
                                             "config": bad})
        assert r.status_code == 422, (bad, r.text)


async def test_crews_execute_takes_them_too(client: httpx.AsyncClient) -> None:
    config = {"cache": False, "max_cost_usd": 1.25, "max_tokens_total": 5000}
    ok = await client.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {"story_text": "x y"}, "config": config})
    assert ok.status_code == 200, ok.text
    job = (await client.get(f"/jobs/{ok.json()['job_id']}")).json()
    assert job["config"] == config
    r = await client.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {"story_text": "x"},
        "config": {"max_cost_usd": -2}})
    assert r.status_code == 422 and "max_cost_usd" in r.json()["error"]


async def test_every_bad_option_is_named_at_once_in_the_crews_shape(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/jobs", json={
        "crews": ["echo"], "inputs": {"story_text": "a"},
        "config": {"temperature": 5, "max_tokens": "900", "model": "",
                   "tasks": {"read": {"max_tokens": 0}}}})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    locs = [e["loc"] for e in error["details"]["errors"]]
    assert sorted(locs) == [["config", "max_tokens"], ["config", "model"],
                            ["config", "tasks", "read", "max_tokens"],
                            ["config", "temperature"]]
    for loc in locs:
        assert ".".join(loc) in error["message"]
    # an unknown model provider is listed with the other problems
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "a"},
                                         "config": {"temperature": 5, "model": "nosuch/m"}})
    locs = [e["loc"] for e in r.json()["error"]["details"]["errors"]]
    assert locs == [["config", "temperature"], ["config", "model"]]
    # a per-task setting is core's too (it applies it): checked for any crew
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "a"},
                                         "config": {"tasks": {"read": "hot"}}})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["errors"][0]["loc"] == ["config", "tasks", "read"]
    # a model no provider serves: the same shape
    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "a"},
                                         "config": {"model": "nosuch/model"}})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["details"]["errors"][0]["loc"] == ["config", "model"]
    assert "nosuch" in error["message"] and error["details"]["model"] == "nosuch/model"
    assert (await client.get("/jobs")).json()["count"] == 0  # nothing refused was queued


async def test_crews_execute_keeps_the_original_shape_for_them(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/crews/execute", json={
        "crew_type": "echo", "input_data": {"story_text": "x"},
        "config": {"model": "nosuch/model"}})
    assert r.status_code == 422
    body = r.json()
    assert body["success"] is False and body["job_id"] == ""
    assert isinstance(body["error"], str) and "nosuch" in body["error"]
    assert body["details"]["errors"][0]["loc"] == ["config", "model"]
