"""The PathRAG HTTP contract served over the embedded store (``novelcrew-pathrag serve``).

Same routes, bodies and statuses as Novel Movie's PathRAG service, plus additive extensions
that upstream clients never see unless they ask:
- ``/health`` adds ``service`` and ``capabilities: ["scope", "structured", "versions", "listing"]``;
  ``POST /graph_version`` and ``POST /graph_listing`` (a scope's graph, capped) are extensions.
- Names and ``source_id``s written as ``<scope>::<name>`` land in namespace ``<scope>`` (names
  without a scope in namespace ``""``), and come back with the prefix.
- ``/query`` honours ``params.scope`` (namespace), ``params.max_tokens`` and
  ``params.entity_types``, and adds ``data`` (entities, relationships, paths, chunks, context).
  There is no LLM here: ``result`` is always the retrieved context.
- ``/insert`` takes an optional ``scope``; ``/delete_entity`` adds ``deleted``.
``plain=True`` drops the extensions (one namespace, names verbatim, text only): an emulation
of the upstream service for testing clients against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from novelcrew_pathrag import retrieval
from novelcrew_pathrag import scope as scopes
from novelcrew_pathrag.backends.embedded import document_chunks
from novelcrew_pathrag.models import (
    Chunk,
    CustomKG,
    GraphEntity,
    GraphLink,
    GraphListing,
    GraphVersion,
    QueryRequest,
)
from novelcrew_pathrag.store import GraphStore


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _version() -> str:
    try:
        return version("novelcrew-pathrag")
    except PackageNotFoundError:
        return "0"


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _error(exc: Exception, message: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"error": str(exc), "message": message, "timestamp": _now(), "type": type(exc).__name__},
        status_code=status,
    )


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise BadRequest("No JSON data provided") from None
    if not isinstance(data, dict) or not data:
        raise BadRequest("No JSON data provided")
    return data


def _split_kg(kg: CustomKG, plain: bool) -> dict[str, CustomKG]:
    """The custom KG split by the scope of each item's name (``plain``: all in ``""``)."""
    if plain:
        return {"": kg}
    parts: dict[str, CustomKG] = defaultdict(CustomKG)
    for chunk in kg.chunks:
        ns, source = scopes.split(chunk.source_id)
        parts[ns].chunks.append(Chunk(content=chunk.content, source_id=source))
    for entity in kg.entities:
        ns, name = scopes.split(entity.entity_name)
        source_ns, source = scopes.split(entity.source_id)
        parts[ns].entities.append(entity.model_copy(update={
            "entity_name": name, "source_id": source if source_ns == ns else entity.source_id,
        }))
    for rel in kg.relationships:
        ns, src = scopes.split(rel.src_id)
        tgt_ns, tgt = scopes.split(rel.tgt_id)
        if tgt_ns != ns:
            raise BadRequest(f"relationship {rel.src_id!r} -> {rel.tgt_id!r} crosses scopes")
        source_ns, source = scopes.split(rel.source_id)
        parts[ns].relationships.append(rel.model_copy(update={
            "src_id": src, "tgt_id": tgt, "source_id": source if source_ns == ns else rel.source_id,
        }))
    return dict(parts)


def create_app(data_dir: Path, *, plain: bool = False) -> FastAPI:
    """The service over ``<data_dir>/pathrag.sqlite3``."""
    store = GraphStore(Path(data_dir) / "pathrag.sqlite3")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="novelcrew-pathrag", version=_version(), lifespan=lifespan)
    app.state.store = store

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return _error(exc, str(exc), exc.status)

    @app.exception_handler(ValidationError)
    async def _invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return _error(exc, "Invalid request body", 400)

    @app.get("/health")
    def health() -> JSONResponse:
        body: dict[str, Any] = {"timestamp": _now(), "version": _version()}
        try:
            store.ping()
            ok = True
        except Exception:
            ok = False
        body["status"] = "healthy" if ok else "unhealthy"
        body["components"] = {"sqlite": "connected" if ok else "disconnected",
                              "pathrag": "ready" if ok else "not_initialized"}
        if not plain:
            body["service"] = "novelcrew-pathrag"
            body["capabilities"] = ["scope", "structured", "versions", "listing"]
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.post("/insert")
    async def insert(request: Request) -> JSONResponse:
        data = await _json(request)
        documents = data.get("documents")
        if not documents:
            raise BadRequest("No 'documents' field provided")
        if isinstance(documents, str):
            documents = [documents]
        if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
            raise BadRequest("'documents' must be a string or list of strings")
        ns = "" if plain else str(data.get("scope") or "")
        chunks = document_chunks(documents)
        await run_in_threadpool(store.insert_chunks, ns, chunks)
        return JSONResponse({
            "message": f"Successfully inserted {len(documents)} document(s)",
            "document_count": len(documents), "timestamp": _now(),
            "result": {"chunks": len(chunks)},
        }, status_code=201)

    @app.post("/insert_custom_kg")
    async def insert_custom_kg(request: Request) -> JSONResponse:
        data = await _json(request)
        raw = data.get("custom_kg")
        if not raw:
            raise BadRequest("No 'custom_kg' field provided")
        for name in ("chunks", "entities", "relationships"):
            if name not in raw:
                raise BadRequest(f"Missing required field '{name}' in custom_kg")
        kg = CustomKG.model_validate(raw)
        for ns, part in _split_kg(kg, plain).items():
            await run_in_threadpool(store.insert_custom_kg, ns, part)
        return JSONResponse({
            "message": "Successfully inserted custom knowledge graph",
            "chunks_count": len(kg.chunks), "entities_count": len(kg.entities),
            "relationships_count": len(kg.relationships), "timestamp": _now(), "result": None,
        }, status_code=201)

    @app.post("/query")
    async def query(request: Request) -> JSONResponse:
        data = await _json(request)
        text = data.get("query")
        if not text or not isinstance(text, str):
            raise BadRequest("No 'query' field provided")
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise BadRequest("'params' must be an object")
        if params.get("mode", "hybrid") != "hybrid":
            raise BadRequest(f"unsupported mode {params.get('mode')!r}: only 'hybrid' exists")
        budget = params.get("max_tokens") if not plain else None
        if budget is None:
            budget = sum(int(params.get(k, 4000)) for k in (
                "max_token_for_text_unit", "max_token_for_global_context",
                "max_token_for_local_context"))
        req = QueryRequest(
            query=text, top_k=min(int(params.get("top_k", 20)), 200),
            max_tokens=max(50, min(int(budget), 100_000)),
            entity_types=None if plain else params.get("entity_types"),
        )
        ns = "" if plain else str(params.get("scope") or "")
        label = (lambda name: scopes.scoped(ns, name)) if ns else (lambda name: name)
        result = await run_in_threadpool(retrieval.query, store, ns, req, label)
        body: dict[str, Any] = {
            "query": text, "result": result.context, "params": params, "timestamp": _now(),
        }
        if not plain:
            body["data"] = result.model_dump()
        return JSONResponse(body, status_code=200)

    if not plain:
        @app.post("/graph_version")
        async def graph_version(request: Request) -> JSONResponse:
            """Extension: start a new analysis version of a scope (see ``kg_new_version``)."""
            data = await _json(request)
            ns = str(data.get("scope") or "")
            keep = data.get("keep_previous", 1)
            if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
                raise BadRequest("'keep_previous' must be a whole number >= 0")
            version, archived, removed = await run_in_threadpool(store.new_version, ns, keep)
            result = GraphVersion(version=version, archived=archived, removed=removed)
            return JSONResponse({"message": f"version {version} started", "timestamp": _now(),
                                 "result": result.model_dump()}, status_code=201)

        @app.post("/graph_listing")
        async def graph_listing(request: Request) -> JSONResponse:
            """Extension: a scope's graph for people to look at (see ``kg_graph``)."""
            data = await _json(request)
            ns = str(data.get("scope") or "")
            caps = []
            for key, default, top in (("max_entities", 300, 5000), ("max_links", 2000, 50000)):
                value = data.get(key, default)
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
                    raise BadRequest(f"'{key}' must be a whole number from 0 to {top}")
                caps.append(value)
            entities, links, truncated, total_entities, total_links = await run_in_threadpool(
                store.listing, ns, *caps)
            listing = GraphListing(
                entities=[GraphEntity(name=n, type=t, description=d) for n, t, d in entities],
                relationships=[GraphLink(source=a, target=b, description=d, keywords=k,
                                         weight=w) for a, b, d, k, w in links],
                truncated=truncated, total_entities=total_entities,
                total_relationships=total_links)
            return JSONResponse({"timestamp": _now(), "result": listing.model_dump()},
                                status_code=200)

    @app.delete("/delete_entity")
    async def delete_entity(request: Request) -> JSONResponse:
        data = await _json(request)
        name = data.get("entity_name")
        if not name or not isinstance(name, str):
            raise BadRequest("No 'entity_name' field provided")
        ns, plain_name = ("", name) if plain else scopes.split(name)
        deleted = await run_in_threadpool(store.delete_entity, ns, plain_name)
        return JSONResponse({
            "message": f"Successfully deleted entity: {name}", "entity_name": name,
            "timestamp": _now(), "result": None, "deleted": deleted,
        }, status_code=200)

    return app

