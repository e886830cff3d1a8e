"""The interface both backends implement, and the choice between them from settings.

Backends are shared by every job of a process (one SQLite store per path, one client per URL);
the scope of each call is an argument, so one backend serves every project.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from novelcrew.specs import Health
from novelcrew_pathrag.models import (
    CustomKG,
    DeleteResult,
    GraphListing,
    GraphVersion,
    InsertCounts,
    QueryRequest,
    QueryResult,
)

if TYPE_CHECKING:
    from novelcrew.settings import Settings

DB_NAME = "pathrag.sqlite3"


class GraphBackend(Protocol):
    """One knowledge graph store; every method works inside one project scope."""

    name: str

    async def insert_custom_kg(self, scope: str, kg: CustomKG) -> InsertCounts: ...

    async def insert_documents(self, scope: str, documents: list[str]) -> InsertCounts: ...

    async def query(self, scope: str, request: QueryRequest) -> QueryResult: ...

    async def delete_entity(self, scope: str, entity_name: str) -> DeleteResult: ...

    async def new_version(self, scope: str, keep_previous: int) -> GraphVersion: ...

    async def listing(self, scope: str, max_entities: int, max_links: int) -> GraphListing: ...

    async def health(self) -> Health: ...


_lock = threading.Lock()
_backends: dict[str, GraphBackend] = {}


def backend_for(settings: Settings) -> GraphBackend:
    """``remote`` when the pathrag ``url`` is set (``NOVELCREW_PATHRAG_URL``), else
    ``embedded`` under the data directory."""
    from novelcrew_pathrag.settings import PathragSettings

    config = PathragSettings.of(settings)
    if config.url:
        key = f"remote:{config.url}"
    else:
        key = f"embedded:{settings.resolved_data_dir / DB_NAME}"
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            if config.url:
                from novelcrew_pathrag.backends.remote import RemoteBackend
                from novelcrew_pathrag.outbox import outbox_at

                backend = RemoteBackend(
                    config.url, timeout=config.timeout, retries=config.retries,
                    outbox=outbox_at(settings.resolved_data_dir) if config.outbox else None,
                    drain_max_seconds=config.outbox_retry_max_seconds)
            else:
                from novelcrew_pathrag.backends.embedded import EmbeddedBackend

                backend = EmbeddedBackend(settings.resolved_data_dir / DB_NAME)
            _backends[key] = backend
        return backend


def reset_backends() -> None:
    """Forget shared backends (tests; after the data directory moved)."""
    with _lock:
        for backend in _backends.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        _backends.clear()
    from novelcrew_pathrag.outbox import forget_outboxes

    forget_outboxes()
