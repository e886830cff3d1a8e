"""Every client mistake is a 4xx in the one error shape; none is a 5xx."""

from __future__ import annotations

import apicrews
import pytest


def assert_error(r, status: int, type_: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    if r.request.url.path.startswith(("/crews/execute", "/crews/status/", "/crews/list")):
        assert body["success"] is False and body["job_id"] == ""
        assert isinstance(body["error"], str) and body["error_type"] == type_
        return {"type": body["error_type"], "message": body["error"],
                "details": body["details"]}
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "message", "details"}
    assert body["error"]["type"] == type_
    assert body["error"]["message"]
    return body["error"]


async def test_unknown_route_and_wrong_method(client):
    assert_error(await client.get("/nowhere"), 404, "not_found")
    err = assert_error(await client.delete("/jobs"), 405, "method_not_allowed")
    assert err["message"] == "Method Not Allowed"
    r = await client.put("/crews/execute", json={})
    assert r.status_code == 405 and "POST" in r.headers["allow"]


async def test_unknown_crew_and_job(client):
    err = assert_error(await client.get("/crews/nosuch"), 404, "crew_not_found")
    assert err["details"]["known"] == ["boom", "echo", "gated", "shout", "strict"]
    assert_error(await client.post("/jobs", json={"crews": ["nosuch"]}), 404, "crew_not_found")
    assert_error(await client.get("/jobs/nosuch"), 404, "job_not_found")


async def test_malformed_json_is_400_and_non_json_is_415(client):
    err = assert_error(await client.post("/jobs", content=b'{"crews": [',
                                         headers={"content-type": "application/json"}),
                       400, "malformed_json")
    assert err["details"]["errors"][0]["type"] == "json_invalid"
    assert err["message"] == "the request body is not valid JSON (at character 11)"
    r = await client.post("/crews/execute", content=b'{"crew_type": "echo",}',
                          headers={"content-type": "application/json"})
    assert r.status_code == 400  # the original's shape says where too, once
    assert r.json()["error"] == "the request body is not valid JSON (at character 21)"
    # no Content-Type at all is read as JSON too
    assert_error(await client.post("/crews/execute", content=b"{oops"), 400, "malformed_json")
    assert_error(await client.post("/jobs", content=b"crews=echo",
                                   headers={"content-type": "application/x-www-form-urlencoded"}),
                 415, "unsupported_media_type")


async def test_invalid_input_carries_pydantic_details_without_the_input(client):
    story = "s" * 50
    err = assert_error(await client.post("/jobs", json={"crews": "echo", "inputs": story}),
                       422, "invalid_input")
    locs = sorted(tuple(e["loc"]) for e in err["details"]["errors"])
    assert locs == [("body", "crews"), ("body", "inputs")]
    # the message names the fields, for a client that shows only the message
    assert err["message"].startswith("invalid request: 2 error(s): crews: ")
    assert "; inputs: " in err["message"]
    assert story not in str(err)
    err = assert_error(await client.post("/jobs", json={"crews": ["echo"],
                                                        "inputs": {"story_text": ""}}),
                       422, "invalid_input")
    assert err["details"]["errors"][0]["type"] == "string_too_short"


async def test_a_query_parameter_given_twice_is_422_not_settled_silently(client):
    """Every query parameter takes one value; ``?status=queued&status=failed`` must not list
    the failed jobs only (the last value would win)."""
    err = assert_error(await client.get("/jobs?status=queued&limit=5&status=failed"), 422,
                       "invalid_input")
    assert err["details"]["errors"] == [{"loc": ["query", "status"], "msg": "given more than once",
                                         "type": "repeated_parameter"}]
    assert "status" in err["message"]
    r = await client.get("/jobs?status=queued&limit=5")
    assert r.status_code == 200, r.text


async def test_missing_tool_is_503_naming_the_tool(client):
    apicrews.add_grapher(client.app.state.plugins)
    err = assert_error(await client.post("/jobs", json={"crews": ["grapher"],
                                                        "inputs": {"story_text": "x"}}),
                       503, "tool_missing")
    assert err["details"]["tool"] == "kg_query"
    assert err["details"]["crew"] == "grapher"
    assert "kg_query" in err["message"]
    crew = (await client.get("/crews/grapher")).json()
    assert crew["missing_tools"] == ["kg_query"]


async def test_story_over_the_limit_is_413(make_client):
    client = await make_client(max_story_chars=10)
    err = assert_error(await client.post("/jobs", json={"crews": ["echo"],
                                                        "inputs": {"story_text": "x" * 11}}),
                       413, "story_too_large")
    assert err["details"]["limit"] == 10


async def test_body_over_the_limit_is_413_by_length_and_by_stream(make_client):
    client = await make_client(max_body_bytes=1000)
    big = {"crews": ["echo"], "inputs": {"story_text": "x" * 2000}}
    err = assert_error(await client.post("/jobs", json=big), 413, "payload_too_large")
    assert err["details"] == {"limit_bytes": 1000}

    async def chunks():
        for _ in range(10):
            yield b" " * 200  # 2000 bytes without a Content-Length
        yield b'{"crews": ["echo"]}'

    r = await client.post("/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "payload_too_large")
    assert_error(await client.post("/jobs", content=b"{}", headers={"content-length": "x"}),
                 400, "bad_request")
    small = await client.post("/jobs", json={"crews": ["echo"], "inputs": {"story_text": "ok"}})
    assert small.status_code == 202


@pytest.mark.parametrize("body", [
    b'{"crews": ["echo"], "inputs": {"story_text": "a \\ud800 b"}}',
    b'{"crews": ["echo"], "inputs": {"story_text": "a", "k\\udcff": {"x": 1}}}',
    b'{"crews": ["echo"], "inputs": {"story_text": "a"}, "config": {"m": ["\\udcff"]}}',
    b'{"crews": ["echo"], "project_id": "\\ud800", "inputs": {"story_text": "a"}}',
])
async def test_lone_surrogates_are_422_not_500(client, body):
    r = await client.post("/jobs", content=body, headers={"content-type": "application/json"})
    assert_error(r, 422, "invalid_input")


@pytest.mark.parametrize("path", ["/jobs", "/crews/execute"])
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_are_malformed_json(client, path, constant):
    """Not JSON (RFC 8259), and a job holding one would answer with a record no JSON client
    can read; so they are refused with the body, naming the value."""
    body = ((b'{"crews": ["echo"], "inputs": {"story_text": "a", "x": %s}}' if path == "/jobs"
             else b'{"crew_type": "echo", "input_data": {"story_text": "a", "x": %s}}')
            % constant.encode())
    r = await client.post(path, content=body, headers={"content-type": "application/json"})
    err = assert_error(r, 400, "malformed_json")
    assert constant.lstrip("-") in err["details"]["errors"][0]["msg"] + str(err)
    assert (await client.get("/jobs")).json()["count"] == 0  # nothing was queued


@pytest.mark.parametrize("extra", [b"", b', "note": "\\ud800"'])
async def test_bodies_nested_deeper_than_the_store_reads_are_malformed(client, extra):
    """Accepted, such a job could never be read back (pydantic's reader stops at 200 levels);
    so it is refused, with or without a lone surrogate sending it to the slower parser."""
    deep = b"[" * 250 + b"]" * 250
    body = b'{"crews": ["echo"], "inputs": {"story_text": "a", "deep": %s%s}}' % (deep, extra)
    r = await client.post("/jobs", content=body, headers={"content-type": "application/json"})
    err = assert_error(r, 400, "malformed_json")
    assert "recursion limit" in str(err) or "deeper than 200" in str(err)
    shallow = b'{"crews": ["echo"], "inputs": {"story_text": "a", "deep": %s}}' % (
        b"[" * 150 + b"]" * 150)
    r = await client.post("/jobs", content=shallow, headers={"content-type": "application/json"})
    assert r.status_code == 202, r.text
    assert (await client.get(f"/jobs/{r.json()['id']}")).status_code == 200


@pytest.mark.parametrize("path", ["/jobs", "/crews/execute"])
async def test_submission_bodies_refuse_what_fastapi_refused(client, path):
    """FastAPI reads the body; the answers keep the API's statuses and error shape."""
    err = assert_error(await client.post(path), 422, "invalid_input")  # no body at all
    assert err["details"]["errors"] == [{"loc": ["body"], "msg": "Field required",
                                         "type": "missing"}]
    err = assert_error(await client.post(path, content=b"[1, 2]"), 422, "invalid_input")
    assert err["details"]["errors"][0]["loc"] == ["body"]
    err = assert_error(await client.post(path, json={"crews": 3, "crew_type": 3}), 422,
                       "invalid_input")
    assert all(e["loc"][0] == "body" and len(e["loc"]) == 2 for e in err["details"]["errors"])
    assert_error(await client.post(path, content=b'{"crews": ["echo"]',
                                   headers={"content-type": "application/json"}),
                 400, "malformed_json")
    assert_error(await client.post(path, content=b"\xff\xfe{}",
                                   headers={"content-type": "application/json"}),
                 400, "malformed_json")
    assert_error(await client.post(path, content=b"{}", headers={"content-type": "text/plain"}),
                 415, "unsupported_media_type")
    ok = await client.post(path, content=(
                               b'{"crews": ["echo"], "inputs": {"story_text": "a"}}'
                               if path == "/jobs" else
                               b'{"crew_type": "echo", "input_data": {"story_text": "a"}}'),
                           headers={"content-type": "application/vnd.api+json"})
    accepted = 202 if path == "/jobs" else 200  # Novel Movie's call answers 200
    assert ok.status_code == accepted, ok.text
    # FastAPI reads application/json and application/*+json as JSON, not text/json
    r = await client.post(path, content=b'{"crews": ["echo"]}',
                          headers={"content-type": "text/json; charset=utf-8"})
    assert r.status_code == 415, r.text


async def test_big_integers_and_non_ascii_text_are_accepted(client):
    """Valid JSON that a fast encoder refuses (integers past 64 bits) is still a job."""
    body = {"crews": ["echo"], "inputs": {"story_text": "Zoë walks 北へ 🌊",
                                          "seed": 2 ** 80}, "config": {"n": -(2 ** 70)}}
    r = await client.post("/jobs", json=body)
    assert r.status_code == 202, r.text
    assert (await client.get(f"/jobs/{r.json()['id']}")).status_code == 200


@pytest.mark.parametrize("path", ["/jobs/%00", "/crews/%ff%fe", "/jobs/" + "a" * 5000])
async def test_odd_ids_are_404_not_500(client, path):
    r = await client.get(path)
    assert r.status_code == 404


async def test_an_unknown_field_of_a_job_is_422_naming_it(client):
    """A misspelt field (``input``, ``webhook``) must not be dropped silently, leaving a job
    without its story or its webhook."""
    for field in ("input", "webhook", "crew"):
        body = {"crews": ["echo"], "inputs": {"story_text": "a b"}, field: "x"}
        err = assert_error(await client.post("/jobs", json=body), 422, "invalid_input")
        assert err["details"]["errors"] == [
            {"loc": ["body", field], "msg": "Extra inputs are not permitted",
             "type": "extra_forbidden"}]
    assert (await client.get("/jobs")).json()["count"] == 0
    # Novel Movie's call keeps the original server's leniency: extra fields ride along
    r = await client.post("/crews/execute", json={"crew_type": "echo", "extra": 1,
                                                  "input_data": {"story_text": "a b"}})
    assert r.status_code == 200, r.text
