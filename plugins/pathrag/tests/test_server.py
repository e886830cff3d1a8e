"""``novelcrew-pathrag serve`` speaks the upstream PathRAG contract (shapes, statuses, errors)."""

from __future__ import annotations

import httpx
from pathrag_helpers import story_graph

from novelcrew_pathrag.backends.remote import scoped_kg
from novelcrew_pathrag.models import CustomKG


def test_health_and_upstream_shapes(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=10) as http:
        health = http.get("/health").json()
        assert health["status"] == "healthy"
        assert {"timestamp", "version", "components"} <= set(health)
        assert health["capabilities"] == ["scope", "structured", "versions", "listing"]

        kg = scoped_kg("srv", CustomKG.model_validate(story_graph()))
        inserted = http.post("/insert_custom_kg", json={"custom_kg": kg})
        assert inserted.status_code == 201
        body = inserted.json()
        assert (body["chunks_count"], body["entities_count"], body["relationships_count"]) == (
            len(kg["chunks"]), len(kg["entities"]), len(kg["relationships"]))
        assert {"message", "timestamp"} <= set(body)

        docs = http.post("/insert", json={"documents": "A lone document.", "scope": "srv"})
        assert docs.status_code == 201 and docs.json()["document_count"] == 1

        params = {"mode": "hybrid", "only_need_context": True, "top_k": 5, "scope": "srv"}
        answer = http.post("/query", json={"query": "Elias", "params": params})
        assert answer.status_code == 200
        body = answer.json()
        assert body["query"] == "Elias" and body["params"] == params
        assert "srv::Elias" in body["result"]  # names come back as they were written
        assert body["data"]["entities"][0]["name"] == "srv::Elias"

        # without a scope the query sees only unscoped data (none here)
        unscoped = http.post("/query", json={"query": "Elias", "params": {"mode": "hybrid"}})
        assert unscoped.json()["data"]["entities"] == []

        gone = http.request("DELETE", "/delete_entity", json={"entity_name": "srv::Tom"})
        assert gone.status_code == 200 and gone.json()["deleted"] is True


def test_errors_look_like_upstream(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=10) as http:
        cases = [
            ("POST", "/insert_custom_kg", {"custom_kg": {"chunks": []}}, "Missing required field"),
            ("POST", "/insert_custom_kg", {}, "No JSON data"),
            ("POST", "/insert", {"documents": 3}, "must be a string or list"),
            ("POST", "/query", {"params": {}}, "No 'query' field"),
            ("POST", "/query", {"query": "x", "params": {"mode": "naive"}}, "only 'hybrid'"),
            ("DELETE", "/delete_entity", {"name": "x"}, "No 'entity_name' field"),
            ("POST", "/insert_custom_kg",
             {"custom_kg": {"chunks": [], "entities": [],
                            "relationships": [{"src_id": "a::X", "tgt_id": "b::Y"}]}},
             "crosses scopes"),
        ]
        for method, path, body, message in cases:
            response = http.request(method, path, json=body)
            assert response.status_code == 400, (path, response.text)
            error = response.json()
            assert {"error", "message", "timestamp", "type"} <= set(error)
            assert message in error["message"], error
