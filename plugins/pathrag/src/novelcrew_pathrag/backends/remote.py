"""The ``remote`` backend: an httpx client of the Novel Movie PathRAG service contract.

The service has no notion of projects, so names and ``source_id``s go out as
``<scope>::<name>`` and only results carrying this scope come back (prefix stripped). Our own
server (``novelcrew-pathrag serve``) says in ``/health`` that it understands ``params.scope``
and returns structured ``data`` with ``/query``; against upstream the client reads the plain
``result`` text instead and keeps documents isolated by sending them as scoped chunks.

Outages (connection errors, timeouts, 5xx) are retried with exponential backoff and end in
``GraphUnavailable`` (a ``TransientError``: the job may be retried); a 4xx is a
``GraphRequestError`` at once. With an outbox (the default, ``outbox.py``) a write that gives up
is queued instead and answers ``queued``: a graph outage delays the graph, never a job, and a
drainer thread replays the queue in order once the service answers again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import threading
from typing import Any

import httpx

from novelcrew.specs import Health
from novelcrew_pathrag import scope as scopes
from novelcrew_pathrag.backends.embedded import document_chunks
from novelcrew_pathrag.contextfmt import parse_context
from novelcrew_pathrag.errors import GraphRequestError, GraphUnavailable
from novelcrew_pathrag.models import (
    CustomKG,
    DeleteResult,
    Entity,
    GraphListing,
    GraphVersion,
    InsertCounts,
    QueryRequest,
    QueryResult,
)
from novelcrew_pathrag.outbox import GraphOutbox, QueuedWrite
from novelcrew_pathrag.retrieval import fit_budget

log = logging.getLogger(__name__)

OK_STATUSES = (200, 201)
#: what our own server announces in ``/health`` (upstream announces nothing)
CAPABILITY_SCOPE = "scope"
CAPABILITY_STRUCTURED = "structured"
CAPABILITY_VERSIONS = "versions"
CAPABILITY_LISTING = "listing"
#: first wait before the drainer tries the service again; doubles up to ``drain_max_seconds``
DRAIN_FIRST_SECONDS = 0.5


class RemoteBackend:
    """A client of one PathRAG service URL; safe to share between jobs and event loops."""

    name = "remote"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        outbox: GraphOutbox | None = None,
        drain_max_seconds: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._capabilities: set[str] | None = None
        self.outbox = outbox
        self.drain_max_seconds = drain_max_seconds
        self._drain_lock = threading.Lock()
        self._draining = False
        self._closed = threading.Event()
        if outbox is not None and outbox.pending(self.base_url):
            self.start_drainer()  # left by an earlier process

    # HTTP ----------------------------------------------------------------------------------
    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.75 + random.random() / 2))
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.request(method, url, json=body)
            except httpx.TimeoutException as exc:
                last = f"timed out after {self.timeout.read}s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last = f"cannot connect: {type(exc).__name__}: {exc}"
            else:
                if response.status_code in OK_STATUSES:
                    try:
                        data = response.json()
                    except ValueError:
                        raise GraphRequestError(
                            f"PathRAG {method} {path} answered {response.status_code} with "
                            f"non-JSON: {response.text[:200]!r}",
                            {"url": url, "status": response.status_code},
                        ) from None
                    return data if isinstance(data, dict) else {"result": data}
                message = _error_message(response)
                if response.status_code >= 500:
                    last = f"HTTP {response.status_code}: {message}"
                else:
                    raise GraphRequestError(
                        f"PathRAG {method} {path} refused the request "
                        f"(HTTP {response.status_code}): {message}",
                        {"url": url, "status": response.status_code},
                    )
            log.warning("pathrag %s %s attempt %d failed: %s", method, path, attempt + 1, last)
        raise GraphUnavailable(
            f"PathRAG service at {self.base_url} unavailable for {method} {path} after "
            f"{self.retries + 1} attempts: {last}",
            {"url": url, "attempts": self.retries + 1},
        )

    # writes: to the service, or into the outbox while it is away ---------------------------
    async def insert_custom_kg(self, scope: str, kg: CustomKG) -> InsertCounts:
        queued = InsertCounts(chunks=len(kg.chunks), entities=len(kg.entities),
                              relationships=len(kg.relationships), queued=True)
        result = await self._write(scope, "insert_custom_kg",
                                   {"kg": kg.model_dump(mode="json")}, queued)
        assert isinstance(result, InsertCounts)
        return result

    async def insert_documents(self, scope: str, documents: list[str]) -> InsertCounts:
        queued = InsertCounts(documents=len(documents), queued=True)
        result = await self._write(scope, "insert_documents", {"documents": documents}, queued)
        assert isinstance(result, InsertCounts)
        return result

    async def delete_entity(self, scope: str, entity_name: str) -> DeleteResult:
        queued = DeleteResult(deleted=False, queued=True)
        result = await self._write(scope, "delete_entity", {"entity_name": entity_name},
                                   queued)
        assert isinstance(result, DeleteResult)
        return result

    async def new_version(self, scope: str, keep_previous: int) -> GraphVersion:
        queued = GraphVersion(
            version=0, replaced=False, queued=True,
            note=f"the PathRAG service at {self.base_url} is unavailable: starting a new "
            "version of the project's graph is queued, and runs before this analysis's "
            "writes when the service is back")
        result = await self._write(scope, "new_version", {"keep_previous": keep_previous},
                                   queued)
        assert isinstance(result, GraphVersion)
        return result

    async def _apply(self, scope: str, op: str, body: dict[str, Any]) -> Any:
        if op == "insert_custom_kg":
            return await self._insert_custom_kg(scope, CustomKG.model_validate(body["kg"]))
        if op == "insert_documents":
            return await self._insert_documents(scope, list(body["documents"]))
        if op == "delete_entity":
            return await self._delete_entity(scope, str(body["entity_name"]))
        if op == "new_version":
            return await self._new_version(scope, int(body["keep_previous"]))
        raise ValueError(f"unknown graph write {op!r}")

    async def _write(self, scope: str, op: str, body: dict[str, Any], queued: Any) -> Any:
        outbox = self.outbox
        if outbox is None:
            return await self._apply(scope, op, body)
        if await asyncio.to_thread(outbox.pending, self.base_url):
            # earlier writes wait for the service: this one goes behind them, in order
            await self._enqueue(scope, op, body, "earlier writes are waiting")
            return queued
        try:
            return await self._apply(scope, op, body)
        except GraphUnavailable as exc:
            await self._enqueue(scope, op, body, exc.message)
            return queued

    async def _enqueue(self, scope: str, op: str, body: dict[str, Any], why: str) -> None:
        assert self.outbox is not None
        await asyncio.to_thread(self.outbox.add, self.base_url, scope, op, body)
        log.warning("pathrag_write_queued", extra={"op": op, "reason": why[:300]})
        self.start_drainer()

    # the drainer ---------------------------------------------------------------------------
    def pending_writes(self) -> int:
        return 0 if self.outbox is None else self.outbox.pending(self.base_url)

    def start_drainer(self) -> None:
        """Replay the outbox in a thread of its own (its own event loop: a job's loop may end
        before the service is back)."""
        with self._drain_lock:
            if self._draining or self._closed.is_set():
                return
            self._draining = True
        threading.Thread(target=lambda: asyncio.run(self._drain()), daemon=True,
                         name=f"pathrag-outbox {self.base_url}").start()

    async def _drain(self) -> None:
        assert self.outbox is not None
        replay = RemoteBackend(self.base_url, timeout=self.timeout.read or 30.0,
                               connect_timeout=self.timeout.connect or 5.0, retries=0)
        delay = DRAIN_FIRST_SECONDS
        try:
            while not self._closed.is_set():
                with self._drain_lock:
                    if not self.outbox.pending(self.base_url):
                        self._draining = False
                        return
                try:
                    with self.outbox.draining() as mine:
                        emptied = mine and await self._drain_all(replay)
                except (OSError, sqlite3.Error) as exc:
                    if self._closed.is_set():
                        return  # the backend was closed under us (tests, a data dir change)
                    log.warning("pathrag_outbox_error", extra={"error": f"{exc!r}"[:300]})
                    emptied = False
                if emptied:
                    delay = DRAIN_FIRST_SECONDS
                    continue
                await asyncio.to_thread(self._closed.wait, delay)
                delay = min(delay * 2, self.drain_max_seconds)
        finally:
            with self._drain_lock:
                self._draining = False

    async def _drain_all(self, replay: RemoteBackend) -> bool:
        """Replay writes in order until none is left (True) or the service fails (False)."""
        assert self.outbox is not None
        while not self._closed.is_set():
            item: QueuedWrite | None = self.outbox.first(self.base_url)
            if item is None:
                log.info("pathrag_outbox_drained", extra={"url": self.base_url})
                return True
            try:
                await replay._apply(item.scope, item.op, item.body)
            except GraphUnavailable as exc:
                self.outbox.failed(item.id, exc.message)
                return False
            except Exception as exc:  # refused (4xx) or unreadable: it would never succeed
                log.warning("pathrag_write_dropped", extra={
                    "op": item.op, "error": f"{type(exc).__name__}: {exc}"[:300]})
                self.outbox.done(item.id)
                continue
            self.outbox.done(item.id)
        return False

    def close(self) -> None:
        """Stop the drainer (what is queued stays in the outbox for the next process)."""
        self._closed.set()

    async def capabilities(self) -> set[str]:
        """What the service announces in ``/health`` (cached; empty for upstream)."""
        if self._capabilities is None:
            data = await self._request("GET", "/health")
            caps = data.get("capabilities") or []
            self._capabilities = {str(c) for c in caps} if isinstance(caps, list) else set()
        return self._capabilities

    # operations ----------------------------------------------------------------------------
    async def _insert_custom_kg(self, scope: str, kg: CustomKG) -> InsertCounts:
        payload = scoped_kg(scope, kg)
        data = await self._request("POST", "/insert_custom_kg", {"custom_kg": payload})
        return InsertCounts(
            chunks=int(data.get("chunks_count", len(kg.chunks))),
            entities=int(data.get("entities_count", len(kg.entities))),
            relationships=int(data.get("relationships_count", len(kg.relationships))),
        )

    async def _insert_documents(self, scope: str, documents: list[str]) -> InsertCounts:
        if CAPABILITY_SCOPE in await self.capabilities():
            data = await self._request(
                "POST", "/insert", {"documents": documents, "scope": scope}
            )
            result = data.get("result") if isinstance(data.get("result"), dict) else {}
            return InsertCounts(
                documents=int(data.get("document_count", len(documents))),
                chunks=int((result or {}).get("chunks", 0)),
            )
        # upstream would extract entities with unscoped names: send scoped chunks instead,
        # each cited by one scoped "document" entity so a hybrid query can reach it
        chunks = document_chunks(documents)
        kg = CustomKG(
            chunks=chunks,
            entities=[
                Entity(entity_name=f"Document {c.source_id}", entity_type="document",
                       description=c.content[:500], source_id=c.source_id)
                for c in chunks
            ],
        )
        counts = await self._insert_custom_kg(scope, kg)
        return InsertCounts(documents=len(documents), chunks=counts.chunks)

    async def query(self, scope: str, request: QueryRequest) -> QueryResult:
        body = {
            "query": request.query,
            "params": {
                "mode": "hybrid",
                "only_need_context": True,
                "top_k": request.top_k,
                "max_token_for_text_unit": int(request.max_tokens * 0.3),
                "max_token_for_global_context": int(request.max_tokens * 0.35),
                "max_token_for_local_context": int(request.max_tokens * 0.35),
                # extensions, ignored upstream
                "scope": scope,
                "max_tokens": request.max_tokens,
                "entity_types": request.entity_types,
            },
        }
        data = await self._request("POST", "/query", body)
        structured = data.get("data")
        if isinstance(structured, dict):
            raw = QueryResult.model_validate(structured)
        else:
            text = data.get("result")
            raw = parse_context(text if isinstance(text, str) else str(text or ""))
        return unscope_result(scope, raw, request)

    async def _delete_entity(self, scope: str, entity_name: str) -> DeleteResult:
        try:
            data = await self._request(
                "DELETE", "/delete_entity", {"entity_name": scopes.scoped(scope, entity_name)}
            )
        except GraphRequestError as exc:
            if exc.details.get("status") == 404:
                return DeleteResult(deleted=False)
            raise
        return DeleteResult(deleted=bool(data.get("deleted", True)))

    async def _new_version(self, scope: str, keep_previous: int) -> GraphVersion:
        """Our server replaces the project's graph (``POST /graph_version``); upstream PathRAG
        cannot (it has no projects and no listing), which the answer says."""
        if CAPABILITY_VERSIONS not in await self.capabilities():
            return GraphVersion(
                version=1, replaced=False,
                note=f"the PathRAG service at {self.base_url} cannot replace a project's "
                "graph: this analysis is merged into the previous one (serve the graph with "
                "`novelcrew-pathrag serve`, or use the embedded store, for versions)")
        data = await self._request("POST", "/graph_version",
                                   {"scope": scope, "keep_previous": keep_previous})
        return GraphVersion.model_validate(data.get("result") or {})

    async def listing(self, scope: str, max_entities: int, max_links: int) -> GraphListing:
        """Our server lists a project's graph (``POST /graph_listing``); upstream PathRAG has
        no listing at all."""
        if CAPABILITY_LISTING not in await self.capabilities():
            raise NotImplementedError(
                f"the PathRAG service at {self.base_url} cannot list a graph (upstream PathRAG "
                "has no such call): serve the graph with `novelcrew-pathrag serve` or use the "
                "embedded store to see it")
        data = await self._request("POST", "/graph_listing", {
            "scope": scope, "max_entities": max_entities, "max_links": max_links})
        return GraphListing.model_validate(data.get("result") or {})

    async def health(self) -> Health:
        info: dict[str, Any] = {"backend": self.name, "url": self.base_url}
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(3.0)) as client:
                response = await client.get(f"{self.base_url}/health")
        except httpx.HTTPError as exc:
            info["queued_writes"] = await asyncio.to_thread(self.pending_writes)
            return Health(status="down", detail=f"PathRAG at {self.base_url}: {exc!r}",
                          data=info)
        try:
            body = response.json()
        except ValueError:
            body = {}
        info["service"] = body if isinstance(body, dict) else {}
        waiting = info["queued_writes"] = await asyncio.to_thread(self.pending_writes)
        if response.status_code == 200 and waiting:
            return Health(status="degraded", data=info,
                          detail=f"remote PathRAG at {self.base_url}: {waiting} queued graph "
                          "write(s) being replayed")
        if response.status_code == 200:
            return Health(status="ok", detail=f"remote PathRAG at {self.base_url}", data=info)
        return Health(status="degraded",
                      detail=f"PathRAG at {self.base_url} answered HTTP {response.status_code}",
                      data=info)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("message", "error", "detail") if body.get(k)]
        return "; ".join(parts) or str(body)[:300]
    return str(body)[:300]


def scoped_kg(scope: str, kg: CustomKG) -> dict[str, Any]:
    """The custom KG with every name and source_id under ``scope``."""
    return {
        "chunks": [
            {"content": c.content, "source_id": scopes.scoped(scope, c.source_id or "chunk")}
            for c in kg.chunks
        ],
        "entities": [
            {"entity_name": scopes.scoped(scope, e.entity_name), "entity_type": e.entity_type,
             "description": e.description, "source_id": scopes.scoped(scope, e.source_id)}
            for e in kg.entities
        ],
        "relationships": [
            {"src_id": scopes.scoped(scope, r.src_id), "tgt_id": scopes.scoped(scope, r.tgt_id),
             "description": r.description, "keywords": r.keywords, "weight": r.weight,
             "source_id": scopes.scoped(scope, r.source_id)}
            for r in kg.relationships
        ],
    }


def unscope_result(scope: str, raw: QueryResult, request: QueryRequest) -> QueryResult:
    """Keep only this scope's items, names stripped; rebuild the context from what is kept."""
    mine = lambda name: scopes.belongs(scope, name)  # noqa: E731
    bare = lambda name: scopes.strip(scope, name)  # noqa: E731
    entities = [
        e.model_copy(update={"name": bare(e.name)}) for e in raw.entities if mine(e.name)
    ]
    if request.entity_types:
        entities = [e for e in entities if e.type in request.entity_types]
    relationships = [
        r.model_copy(update={"src": bare(r.src), "tgt": bare(r.tgt)})
        for r in raw.relationships if mine(r.src) and mine(r.tgt)
    ]
    paths = [[bare(n) for n in path] for path in raw.paths if path and all(map(mine, path))]
    chunks = [
        (bare(c.source_id), c.content) for c in raw.chunks
        if mine(c.source_id) and not scopes.foreign_prefixes(scope, c.content)
    ]
    if raw.entities or raw.relationships or raw.paths or raw.chunks:
        return fit_budget(request, entities, relationships, paths, chunks, lambda s: s)
    # plain text without sections (an LLM answer): drop lines naming other projects
    lines = [
        line for line in raw.context.splitlines() if not scopes.foreign_prefixes(scope, line)
    ]
    return QueryResult(context=scopes.strip_text(scope, "\n".join(lines)))

