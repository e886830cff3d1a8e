"""Where the story comes from: the job's ``story_text``, or the project's story in Payload.

The payload plugin is optional: its ``payload_read_story`` tool is used when a job has no
text and the tool is loaded; the architect never imports that plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novelcrew.context import RunContext
from novelcrew.errors import InvalidInput, StoryTooLarge
from novelcrew_architect.chunking import normalise
from novelcrew_architect.models import ArchitectInput

READ_STORY_TOOL = "payload_read_story"
UNTITLED = "Untitled story"


@dataclass(frozen=True)
class Story:
    text: str
    title: str
    source: str  #: "input" or "payload"


def rich_text(value: Any) -> str:
    """Plain text from a string or a Lexical rich-text document (paragraphs kept)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n\n".join(t for t in (rich_text(v) for v in value) if t.strip())
    if isinstance(value, dict):
        if "root" in value:
            return rich_text(value["root"])
        if isinstance(value.get("text"), str):
            return value["text"]
        children = value.get("children")
        if isinstance(children, list):
            joiner = "" if value.get("type") in ("paragraph", "heading", "quote") else "\n\n"
            return joiner.join(rich_text(c) for c in children)
    return ""


def guess_title(text: str) -> str:
    """The first line when it reads like a title (short, no sentence punctuation at the end)."""
    first = text.strip().split("\n", 1)[0].strip().lstrip("#").strip()
    if first and len(first) <= 100 and not first.endswith((".", ",", ";", ":", "!", "?")) \
            and len(first.split()) <= 14:
        return first
    return UNTITLED


async def load_story(ctx: RunContext, inputs: ArchitectInput) -> Story:
    """The story to analyse, or ``InvalidInput`` saying why there is none."""
    source = "input"
    text = inputs.story_text
    title = (inputs.title or "").strip()
    if text is None:
        project_id = inputs.project_id or ctx.project_id
        doc: Any = None
        if project_id and ctx.has_tool(READ_STORY_TOOL):
            doc = await ctx.tool(READ_STORY_TOOL).acall(project_id=project_id)
            if hasattr(doc, "model_dump"):
                doc = doc.model_dump()
        if not doc:
            raise InvalidInput(
                "no story_text and no story in Payload"
                + ("" if ctx.has_tool(READ_STORY_TOOL) else
                   " (the payload plugin is not loaded or not configured)"),
                {"project_id": project_id},
            )
        text = rich_text(doc.get("currentContent") or doc.get("content"))
        title = title or str(doc.get("title") or "").strip()
        source = "payload"
    if len(text) > ctx.settings.max_story_chars:
        raise StoryTooLarge(
            f"the story has {len(text):,} characters; the limit is "
            f"{ctx.settings.max_story_chars:,} (NOVELCREW_MAX_STORY_CHARS)",
            {"chars": len(text), "limit": ctx.settings.max_story_chars},
        )
    text = normalise(text)
    if not text:
        raise InvalidInput(f"the story is empty ({source})", {"source": source})
    return Story(text=text, title=title or guess_title(text), source=source)
