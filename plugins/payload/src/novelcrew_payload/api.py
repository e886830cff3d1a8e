"""The three operations behind the tools, as plain async functions over a ``PayloadClient``.

Crew code can call these through a tool's ``acall``; the observer uses the same client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the client imports httpx: load it only when a call is made
    from novelcrew_payload.client import DocId, PayloadClient

PROJECTS = "projects"
STORIES = "stories"

#: A project's fields that Novel Movie links to records of other collections (the slugs): at
#: ``depth=0`` Payload gives their ids. Notes and genres (hasMany) become the records' names;
#: ``LINKED_DETAILS`` become a record's name with a few more of its fields. Other setups may keep
#: any of them as text, which is read as it is.
LINKED_NOTES = {"tone": "tone-options", "mood": "mood-descriptors",
                "targetAudience": "audience-demographics", "primaryGenres": "genres"}
#: single links read as ``{"name": ..., <field>: ...}``: the look the storyboard paints in, and
#: the format whose suggested duration (minutes) is the director's fallback runtime
LINKED_DETAILS = {"movieStyle": ("movie-styles", ("description",)),
                  "movieFormat": ("movie-formats", ("suggestedDuration",))}
#: the fields that name a linked record, in order of preference
NAME_FIELDS = ("name", "title")
#: ids that come as strings: MongoDB ObjectIds and UUIDs (SQLite and Postgres ids are numbers)
_STRING_ID = re.compile(r"^(?:[0-9a-fA-F]{24}"
                        r"|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$")


async def read_project(client: PayloadClient, project_id: DocId, *, depth: int = 0,
                       **kwargs: Any) -> dict[str, Any]:
    """The project document (``PayloadNotFound`` when there is none)."""
    return await client.get(PROJECTS, project_id, depth=depth, **kwargs)


async def read_project_with_names(client: PayloadClient, project_id: DocId) -> dict[str, Any]:
    """The project as crews and agents need it: its links as words, so a prompt says "Tone:
    Melancholic" and "Style: Painterly Noir", not "Tone: 3" and "Style: 2".

    Notes and genres (``LINKED_NOTES``) become the linked records' names, in the project's
    order; ``movieStyle`` and ``movieFormat`` (``LINKED_DETAILS``) become ``{"name",
    "description"}`` and ``{"name", "suggestedDuration"}``. The project is read at ``depth=0``
    as ever; only when a link holds ids does one more read populate just those fields
    (``select``), and of their records just those fields (``populate``), so the story and other
    heavy relationships stay unread. A record that does not populate (a deleted one, a depth
    limit, no read access) is left out (a single link becomes None) rather than shown as an
    id. Links kept as text make no second read and come back as they are.
    """
    doc = await read_project(client, project_id)
    fields = {**{f: (slug, ()) for f, slug in LINKED_NOTES.items()}, **LINKED_DETAILS}
    linked = [field for field in fields if _holds_ids(doc.get(field))]
    if not linked:
        return doc
    populate: dict[str, dict[str, bool]] = {}
    for field in linked:
        slug, extra = fields[field]
        populate.setdefault(slug, {}).update({key: True for key in (*NAME_FIELDS, *extra)})
    populated = await client.get(PROJECTS, project_id, depth=1,
                                 select={field: True for field in linked}, populate=populate)
    words = {field: _details(populated.get(field), LINKED_DETAILS[field][1])
                    if field in LINKED_DETAILS else _names(populated.get(field))
             for field in linked}
    return {**doc, **words}


def _is_id(value: Any) -> bool:
    """Whether ``value`` is a record's id (or an unpopulated polymorphic link), not text."""
    if isinstance(value, Mapping):
        return "relationTo" in value and not isinstance(value.get("value"), Mapping)
    if isinstance(value, str):
        return bool(_STRING_ID.match(value))
    return isinstance(value, int) and not isinstance(value, bool)


def _holds_ids(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(_is_id(item) for item in items)


def _names(value: Any) -> Any:
    """A populated relationship's display names: a list for a hasMany field, else one name
    (or None); ids of records that did not populate are dropped."""
    if isinstance(value, list):
        return [name for item in value if (name := _name(item)) is not None]
    return _name(value)


def _name(item: Any) -> str | None:
    if isinstance(item, Mapping) and "relationTo" in item:  # a polymorphic link
        return _name(item.get("value"))
    if isinstance(item, Mapping):
        return next((item[key].strip() for key in NAME_FIELDS
                     if isinstance(item.get(key), str) and item[key].strip()), None)
    if isinstance(item, str) and not _is_id(item):
        return item
    return None


def _details(value: Any, extra: tuple[str, ...]) -> dict[str, Any] | None:
    """A populated single link as ``{"name", <extra fields that have a value>}``; None for a
    record that did not populate or has no name (its id is never a word)."""
    if isinstance(value, Mapping) and "relationTo" in value:
        value = value.get("value")
    name = _name(value) if isinstance(value, Mapping) else None
    if name is None or not isinstance(value, Mapping):
        return None
    found = {key: value[key].strip() if isinstance(value[key], str) else value[key]
             for key in extra if value.get(key) not in (None, "")
             and not isinstance(value[key], bool)}
    return {"name": name, **found}


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
