"""The crewAI tools (imported only when a job builds them: this module imports crewAI).

Each tool is a crewAI ``BaseTool`` whose ``_run`` gives an agent a compact text answer, plus
``acall(**kwargs)`` returning the pydantic result for crew code. Both run inside the job's
project scope; names in and out are plain.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from crewai.tools import BaseTool
from pydantic import BaseModel, Field, PrivateAttr

from novelcrew_pathrag.backends.base import GraphBackend
from novelcrew_pathrag.models import (
    CustomKG,
    DeleteResult,
    GraphListing,
    GraphVersion,
    InsertCounts,
    QueryRequest,
    QueryResult,
)

T = TypeVar("T")


class InsertCustomKGArgs(BaseModel):
    custom_kg: CustomKG = Field(
        description="chunks [{content, source_id}], entities [{entity_name, entity_type, "
        "description, source_id}], relationships [{src_id, tgt_id, description, keywords, "
        "weight, source_id}]"
    )


class InsertDocumentsArgs(BaseModel):
    documents: list[str] = Field(description="texts to index", min_length=1)


class QueryArgs(QueryRequest):
    """What to look up in the project's knowledge graph."""


class DeleteEntityArgs(BaseModel):
    entity_name: str = Field(description="the entity's name, e.g. 'Maya' or 'Scene 3'")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even when a loop runs in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class GraphTool(BaseTool):
    """Shared plumbing: the backend, the project scope and the sync/async entry points."""

    _backend: GraphBackend = PrivateAttr()
    _scope: str = PrivateAttr()

    def bind(self, backend: GraphBackend, scope: str) -> GraphTool:
        self._backend = backend
        self._scope = scope
        return self

    @property
    def scope(self) -> str:
        return self._scope

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> GraphTool:
        """A fresh tool on the same backend (the backend holds connections and locks)."""
        return type(self)().bind(self._backend, self._scope)  # type: ignore[call-arg]

    async def _call(self, args: Any) -> BaseModel:
        raise NotImplementedError

    async def acall(self, **kwargs: Any) -> Any:
        """The structured result (a pydantic model) for crew code."""
        assert self.args_schema is not None
        return await self._call(self.args_schema.model_validate(kwargs))

    def _text(self, result: Any) -> str:
        data = result.model_dump()
        if data.get("queued") is False:
            del data["queued"]  # an agent hears of the outbox only when a write waits there
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    def _run(self, **kwargs: Any) -> str:
        return self._text(run_sync(self.acall(**kwargs)))

    async def _arun(self, **kwargs: Any) -> str:
        return self._text(await self.acall(**kwargs))


class InsertCustomKGTool(GraphTool):
    name: str = "kg_insert_custom_kg"
    description: str = (
        "Insert a knowledge graph fragment into this project's story graph: chunks of source "
        "text, entities (character, location, object, scene, theme, shot) and relationships. "
        "Re-inserting an entity merges its description. Returns counts."
    )
    args_schema: type[BaseModel] = InsertCustomKGArgs

    async def _call(self, args: InsertCustomKGArgs) -> InsertCounts:
        return await self._backend.insert_custom_kg(self._scope, args.custom_kg)

    async def acall(self, **kwargs: Any) -> InsertCounts:
        return await super().acall(**kwargs)


class InsertDocumentsTool(GraphTool):
    name: str = "kg_insert_documents"
    description: str = "Index plain texts in this project's knowledge graph. Returns counts."
    args_schema: type[BaseModel] = InsertDocumentsArgs

    async def _call(self, args: InsertDocumentsArgs) -> InsertCounts:
        return await self._backend.insert_documents(self._scope, args.documents)

    async def acall(self, **kwargs: Any) -> InsertCounts:
        return await super().acall(**kwargs)


class QueryTool(GraphTool):
    name: str = "kg_query"
    description: str = (
        "Look up this project's story graph: the matching entities, the relationships and "
        "relational paths between them, and source text, within a token budget. Optionally "
        "limit entities to types (character, location, object, scene, theme, shot)."
    )
    args_schema: type[BaseModel] = QueryArgs
    empty_answer: ClassVar[str] = "Nothing in this project's knowledge graph matches."

    async def _call(self, args: QueryArgs) -> QueryResult:
        request = QueryRequest.model_validate(args.model_dump())
        return await self._backend.query(self._scope, request)

    async def acall(self, **kwargs: Any) -> QueryResult:
        return await super().acall(**kwargs)

    def _text(self, result: Any) -> str:
        return result.context or self.empty_answer


class DeleteEntityTool(GraphTool):
    name: str = "kg_delete_entity"
    description: str = "Delete an entity and its relationships from this project's graph."
    args_schema: type[BaseModel] = DeleteEntityArgs

    async def _call(self, args: DeleteEntityArgs) -> DeleteResult:
        return await self._backend.delete_entity(self._scope, args.entity_name)

    async def acall(self, **kwargs: Any) -> DeleteResult:
        return await super().acall(**kwargs)


class NewVersionArgs(BaseModel):
    keep_previous: int = Field(
        3, ge=0, le=1000, description="earlier versions to keep archived (0 deletes them all)")


class NewVersionTool(GraphTool):
    name: str = "kg_new_version"
    description: str = (
        "Start a new analysis version of this project's graph before writing a new "
        "analysis: the graph's current content is archived (or deleted) so the new analysis "
        "replaces it instead of merging into it. Returns the version number."
    )
    args_schema: type[BaseModel] = NewVersionArgs

    async def _call(self, args: NewVersionArgs) -> GraphVersion:
        return await self._backend.new_version(self._scope, args.keep_previous)

    async def acall(self, **kwargs: Any) -> GraphVersion:
        return await super().acall(**kwargs)


class GraphListingArgs(BaseModel):
    max_entities: int = Field(300, ge=1, le=5000, description="most-linked entities first")
    max_links: int = Field(2000, ge=0, le=50000)


class GraphListingTool(GraphTool):
    name: str = "kg_graph"
    description: str = (
        "List this project's graph (entities and relationships, capped, most-linked first) "
        "for a person to look at; agents should use kg_query instead."
    )
    args_schema: type[BaseModel] = GraphListingArgs

    async def _call(self, args: GraphListingArgs) -> GraphListing:
        return await self._backend.listing(self._scope, args.max_entities, args.max_links)

    async def acall(self, **kwargs: Any) -> GraphListing:
        return await super().acall(**kwargs)


TOOL_CLASSES: dict[str, type[GraphTool]] = {
    cls.model_fields["name"].default: cls
    for cls in (InsertCustomKGTool, InsertDocumentsTool, QueryTool, DeleteEntityTool,
                NewVersionTool, GraphListingTool)
}


def build(name: str, backend: GraphBackend, scope: str) -> GraphTool:
    return TOOL_CLASSES[name]().bind(backend, scope)  # type: ignore[call-arg]
