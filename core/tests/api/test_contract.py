"""What the API document promises, checked directly (found by schemathesis, issue #24): a 405
names every method its path answers, ids take the types the document gives them, and every
event of a job's stream, ``server_stopping`` included, fits the event schema it documents."""

from __future__ import annotations

import asyncio
import json

import apicrews
import jsonschema
import pytest
from apihelpers import parse_sse, wait_job

STORY = {"story_text": "the long road"}


@pytest.mark.parametrize(("method", "path", "template", "allow"), [
    ("OPTIONS", "/jobs", "/jobs", "GET, HEAD, POST"),
    ("DELETE", "/jobs", "/jobs", "GET, HEAD, POST"),
    ("DELETE", "/jobs/0123", "/jobs/{job_id}", "GET, HEAD"),
    ("GET", "/jobs/0123/cancel", "/jobs/{job_id}/cancel", "POST"),
    ("OPTIONS", "/crews/execute", "/crews/execute", "POST"),
    ("GET", "/crews/execute", "/crews/execute", "POST"),  # not a crew named "execute"
    ("PUT", "/crews/architect", "/crews/{name}", "GET, HEAD"),
])
async def test_a_405_names_every_method_of_its_path(client, method: str, path: str,
                                                   template: str, allow: str) -> None:
    r = await client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    documented = (await client.get("/openapi.json")).json()["paths"][template]
    methods = {m.upper() for m in documented}
    assert methods | ({"HEAD"} if "GET" in methods else set()) == set(allow.split(", "))


def id_schema(document: dict, model: str, field: str) -> dict:
    return document["components"]["schemas"][model]["properties"][field]  # type: ignore[no-any-return]


async def test_ids_are_strings_or_non_negative_integers_as_documented(client) -> None:
    document = (await client.get("/openapi.json")).json()
    for model, field in [("JobCreate", "user_id"), ("JobCreate", "project_id"),
                         ("ExecuteBody", "user_id"), ("ExecuteBody", "project_id")]:
        types = {branch["type"] for branch in id_schema(document, model, field)["anyOf"]}
        assert types == {"string", "integer", "null"}, (model, field)

    r = await client.post("/jobs", json={"crews": ["echo"], "inputs": STORY,
                                         "project_id": 42, "user_id": 7})
    assert r.status_code == 202
    assert (r.json()["project_id"], r.json()["user_id"]) == ("42", "7")
    r = await client.post("/crews/execute", json={"crew_type": "echo", "input_data": STORY,
                                                  "project_id": 42, "user_id": 9})
    assert r.status_code == 200
    job = (await client.get(f"/jobs/{r.json()['job_id']}")).json()
    assert (job["project_id"], job["user_id"]) == ("42", "9")

    schema = id_schema(document, "JobCreate", "user_id")
    for wrong in [True, -1, 2**53, 1.5, {"id": 1}, "x" * 201]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
        r = await client.post("/jobs", json={"crews": ["echo"], "inputs": STORY,
                                             "user_id": wrong})
        assert r.status_code == 422, wrong
        r = await client.post("/crews/execute", json={"crew_type": "echo",
                                                      "input_data": STORY, "user_id": wrong})
        assert r.status_code == 422 and r.json()["success"] is False, wrong


def check_events(document: dict, events: list[dict]) -> list[dict]:
    """Validate each SSE event and its ``data`` against the documented schemas."""
    content = document["paths"]["/jobs/{job_id}/events"]["get"]["responses"]["200"]["content"]
    schema = content["text/event-stream"]["schema"]
    data_schema = schema["properties"]["data"]["contentSchema"]
    parsed = []
    for event in events:
        if "comment" in event:
            continue
        jsonschema.validate(event, schema)
        data = json.loads(event["data"])
        jsonschema.validate(data, data_schema)
        assert data["type"] == event["event"] and str(data["seq"]) == event["id"]
        parsed.append(data)
    return parsed


async def test_every_event_fits_the_documented_event_schema(client) -> None:
    document = (await client.get("/openapi.json")).json()
    r = await client.post("/jobs", json={"crews": ["echo", "shout"], "inputs": STORY})
    job_id = r.json()["id"]
    await wait_job(client, job_id, "succeeded")
    stream = await client.get(f"/jobs/{job_id}/events")
    events = check_events(document, parse_sse(stream.text))
    assert events[0]["type"] == "queued" and events[-1]["type"] == "succeeded"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


async def test_a_stream_cut_by_shutdown_ends_with_a_documented_server_stopping_event(
        client) -> None:
    document = (await client.get("/openapi.json")).json()
    r = await client.post("/jobs", json={"crews": ["gated"],
                                         "inputs": {"gate": "contract", "steps": 2}})
    job_id = r.json()["id"]
    await wait_job(client, job_id, "running")
    backend = client.app.state.backend  # type: ignore[attr-defined]

    async def stop_soon() -> None:
        await asyncio.sleep(0.3)  # the stream is most likely open by then; either order holds
        await backend.drain(grace=0.1)

    stopping = asyncio.create_task(stop_soon())
    stream = await client.get(f"/jobs/{job_id}/events")
    await stopping
    apicrews.open_gate("contract")
    events = check_events(document, parse_sse(stream.text))
    last = events[-1]
    assert last["type"] == "server_stopping"
    # resuming after it misses nothing: it repeats the seq of the last event sent (if any)
    assert last["seq"] == (events[-2]["seq"] if len(events) > 1 else 0)
    assert last["data"] == {"resume_after": last["seq"]}


async def test_the_main_answers_and_every_error_have_an_example_that_fits_the_schema(client):
    """``/docs`` shows a client what each main answer and each error looks like; an example
    that no longer fits its schema would teach the wrong shape."""
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]

    def example_of(ref: str) -> object:
        name = ref.rsplit("/", 1)[-1]
        examples = schemas[name].get("examples")
        assert examples, f"{name} has no example"
        for example in examples:
            jsonschema.Draft202012Validator(
                {"$ref": ref, "components": doc["components"]}).validate(example)
        return examples[0]

    wanted = [("/crews/execute", "post", "200"), ("/crews/status/{job_id}", "get", "200"),
              ("/jobs", "post", "202"), ("/jobs/{job_id}", "get", "200"),
              ("/jobs/{job_id}/cancel", "post", "202")]
    for path, method, status in wanted:
        ref = doc["paths"][path][method]["responses"][status]["content"][
            "application/json"]["schema"]["$ref"]
        example_of(ref)
    errors = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                # /health's 503 is its report (degraded, unhealthy), not an error
                if status.startswith("4") or (status == "503" and path != "/health"):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    example = example_of(ref)
                    shape = "CompatError" if path.startswith("/crews/") and path != \
                        "/crews/{name}" and path != "/crews" else "ErrorResponse"
                    assert ref.endswith(shape), (method, path, status, ref)
                    assert isinstance(example, dict)
                    errors += 1
    assert errors > 50
    for name, schema in schemas.items():  # and every other example fits its schema too
        if schema.get("examples"):
            example_of(f"#/components/schemas/{name}")
