"""The ``embedded`` backend: the SQLite store in the data directory, one namespace per scope."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

from novelcrew.specs import Health
from novelcrew_pathrag import retrieval
from novelcrew_pathrag.models import (
    Chunk,
    CustomKG,
    DeleteResult,
    GraphEntity,
    GraphLink,
    GraphListing,
    GraphVersion,
    InsertCounts,
    QueryRequest,
    QueryResult,
)
from novelcrew_pathrag.store import GraphStore

CHUNK_CHARS = 1200
_PARAGRAPH = re.compile(r"\n\s*\n")


def split_document(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Paragraphs packed into chunks of about ``size`` characters (long ones cut)."""
    chunks: list[str] = []
    current = ""
    for paragraph in (p.strip() for p in _PARAGRAPH.split(text)):
        if not paragraph:
            continue
        while len(paragraph) > size:
            cut = paragraph.rfind(" ", 0, size)
            cut = cut if cut > size // 2 else size
            if current:
                chunks.append(current)
                current = ""
            chunks.append(paragraph[:cut].strip())
            paragraph = paragraph[cut:].strip()
        if current and len(current) + len(paragraph) + 2 > size:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        chunks.append(current)
    return chunks


def document_chunks(documents: list[str]) -> list[Chunk]:
    """Chunks of each document, cited as ``doc-<hash>-<n>``."""
    out = []
    for document in documents:
        digest = hashlib.sha1(document.encode()).hexdigest()[:12]
        out += [
            Chunk(content=piece, source_id=f"doc-{digest}-{index}")
            for index, piece in enumerate(split_document(document))
        ]
    return out


class EmbeddedBackend:
    """Sync store calls run in worker threads so crews' event loops never block on SQLite."""

    name = "embedded"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.store = GraphStore(self.path)

    async def insert_custom_kg(self, scope: str, kg: CustomKG) -> InsertCounts:
        return await asyncio.to_thread(self.store.insert_custom_kg, scope, kg)

    async def insert_documents(self, scope: str, documents: list[str]) -> InsertCounts:
        chunks = document_chunks(documents)
        await asyncio.to_thread(self.store.insert_chunks, scope, chunks)
        return InsertCounts(documents=len(documents), chunks=len(chunks))

    async def query(self, scope: str, request: QueryRequest) -> QueryResult:
        return await asyncio.to_thread(retrieval.query, self.store, scope, request)

    async def delete_entity(self, scope: str, entity_name: str) -> DeleteResult:
        deleted = await asyncio.to_thread(self.store.delete_entity, scope, entity_name)
        return DeleteResult(deleted=deleted)

    async def new_version(self, scope: str, keep_previous: int) -> GraphVersion:
        version, archived, removed = await asyncio.to_thread(self.store.new_version, scope,
                                                             keep_previous)
        return GraphVersion(version=version, archived=archived, removed=removed)

    async def listing(self, scope: str, max_entities: int, max_links: int) -> GraphListing:
        entities, links, truncated, total_entities, total_links = await asyncio.to_thread(
            self.store.listing, scope, max_entities, max_links)
        return GraphListing(
            entities=[GraphEntity(name=n, type=t, description=d) for n, t, d in entities],
            relationships=[GraphLink(source=a, target=b, description=d, keywords=k, weight=w)
                           for a, b, d, k, w in links],
            truncated=truncated, total_entities=total_entities,
            total_relationships=total_links)

    async def health(self) -> Health:
        try:
            await asyncio.to_thread(self.store.ping)
        except Exception as exc:  # report, never raise, from a health check
            return Health(status="down", detail=f"sqlite {self.path}: {exc}",
                          data={"backend": self.name, "path": str(self.path)})
        return Health(status="ok", detail=f"embedded SQLite at {self.path}",
                      data={"backend": self.name, "path": str(self.path)})

    def close(self) -> None:
        self.store.close()
