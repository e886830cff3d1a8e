"""The three operations behind the tools, as plain async functions over a ``PayloadClient``.

Crew code can call these through a tool's ``acall``; the observer uses the same client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the client imports httpx: load it only when a call is made
    from novelcrew_payload.client import DocId, PayloadClient

PROJECTS = "projects"
STORIES = "stories"


async def read_project(client: PayloadClient, project_id: DocId, *, depth: int = 0,
                       **kwargs: Any) -> dict[str, Any]:
    """The project document (``PayloadNotFound`` when there is none)."""
    return await client.get(PROJECTS, project_id, depth=depth, **kwargs)


async def read_story(client: PayloadClient, project_id: DocId) -> dict[str, Any] | None:
    """The project's story (``stories`` where ``project`` equals the id), or None."""
    from novelcrew_payload.client import doc_path

    # an id Payload could never have goes nowhere: in a query, SQLite answers it with a 500,
    # which would pass for an outage and be retried (``PayloadBadId`` instead)
    doc_path(PROJECTS, project_id)
    page = await client.find(STORIES, where={"project": {"equals": project_id}}, limit=1,
                             depth=0)
    docs = page.get("docs") if isinstance(page, Mapping) else None
    return docs[0] if docs else None


async def update_project(client: PayloadClient, project_id: DocId, data: Mapping[str, Any],
                         **kwargs: Any) -> dict[str, Any]:
    """PATCH only the fields in ``data``; returns the updated project."""
    return await client.patch(PROJECTS, project_id, data, **kwargs)
