"""The tools ``payload_read_project``, ``payload_read_story`` and ``payload_update_project``.

Each factory returns a crewAI ``BaseTool`` (built lazily so importing the plugin never imports
crewAI): agents get text from ``run`` and only ever reach the job's own project; crew code awaits
``acall(**kwargs)`` for the document itself (a dict, or None for a missing story), may name any
project, and gets typed ``PayloadError``s on failure. While the process knows Payload is out
(``outage``), a call gets one attempt and no retries, and its error says so.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Coroutine
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from novelcrew.errors import InvalidInput
from novelcrew.specs import Tool
from novelcrew_payload import api
from novelcrew_payload.config import PayloadConfig, payload_config
from novelcrew_payload.errors import PayloadError, PayloadUnavailable
from novelcrew_payload.health import tool_health
from novelcrew_payload.outage import known_outage

if TYPE_CHECKING:
    from novelcrew.context import ToolContext
    from novelcrew_payload.client import PayloadClient

ProjectId = int | str


class ReadProjectArgs(BaseModel):
    project_id: ProjectId | None = Field(
        None, description="Payload id of the project; defaults to the job's project")


class ReadStoryArgs(BaseModel):
    project_id: ProjectId | None = Field(
        None, description="Payload id of the project whose story to read; defaults to the "
                          "job's project")


class UpdateProjectArgs(BaseModel):
    project_id: ProjectId | None = Field(
        None, description="Payload id of the project; defaults to the job's project")
    data: dict[str, Any] = Field(
        description="Only the fields to change, in Payload's field names (a partial update)")


Operation = Callable[["PayloadClient", ProjectId, BaseModel], Awaitable[Any]]


async def _read_project(client: PayloadClient, project_id: ProjectId, args: BaseModel) -> Any:
    return await api.read_project_with_names(client, project_id)


async def _read_story(client: PayloadClient, project_id: ProjectId, args: BaseModel) -> Any:
    return await api.read_story(client, project_id)


async def _update_project(client: PayloadClient, project_id: ProjectId, args: BaseModel) -> Any:
    assert isinstance(args, UpdateProjectArgs)
    return await api.update_project(client, project_id, args.data)


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine from sync code, even when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="payload-tool")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


@cache
def _tool_class() -> type:
    """The crewAI tool class, made on first use (crewAI is imported only here)."""
    from crewai.tools import BaseTool
    from pydantic import PrivateAttr

    class PayloadTool(BaseTool):  # type: ignore[misc]
        """A Payload operation scoped to one job's project."""

        _config: PayloadConfig | None = PrivateAttr(default=None)
        _project_id: ProjectId | None = PrivateAttr(default=None)
        _operation: Operation | None = PrivateAttr(default=None)

        def bind(self, config: PayloadConfig | None, project_id: ProjectId | None,
                 operation: Operation) -> PayloadTool:
            self._config, self._project_id, self._operation = config, project_id, operation
            return self

        @property
        def configured(self) -> bool:
            """Whether Payload is configured (other plugins ask before calling)."""
            return self._config is not None

        async def acall(self, **kwargs: Any) -> Any:
            """The structured result (a document dict, or None for a missing story)."""
            args = self.args_schema.model_validate(kwargs)
            if self._config is None:
                raise PayloadError(
                    f"{self.name}: Payload is not configured; set NOVELCREW_PAYLOAD_URL "
                    "(or NOVEL_MOVIE_API_URL) and NOVELCREW_PAYLOAD_API_KEY")
            project_id = getattr(args, "project_id", None) or self._project_id
            if project_id is None or project_id == "":
                raise InvalidInput(f"{self.name}: no project id given and the job has none")
            assert self._operation is not None
            from novelcrew_payload.client import PayloadClient

            # retrying into an outage the process already knows of only spends the job's time
            config, outage = self._config, known_outage(self._config.api_url)
            if outage is not None:
                config = config.model_copy(update={"retries": 0})
            try:
                async with PayloadClient(config) as client:
                    return await self._operation(client, project_id, args)
            except PayloadUnavailable as exc:
                if outage is not None:
                    exc.message = (f"{exc.message} (Payload has been unavailable for "
                                   f"{outage:.1f}s: one attempt, no retries, until it answers)")
                    exc.args = (exc.message,)
                raise

        async def _arun(self, **kwargs: Any) -> str:
            # agents stay within the job's project: a guessed id must not reach another one
            asked = kwargs.get("project_id")
            if self._project_id not in (None, "") and asked not in (None, "") \
                    and str(asked) != str(self._project_id):
                return (f"Payload error: this job works on project {self._project_id}; "
                        f"{self.name} refuses project {asked}")
            try:
                result = await self.acall(**kwargs)
            except (PayloadError, InvalidInput) as exc:
                return f"Payload error: {exc.message}"
            if result is None:
                return "No story exists in Payload for this project."
            return json.dumps(for_agents(result), ensure_ascii=False, default=str)

        def _run(self, **kwargs: Any) -> str:
            return run_sync(self._arun(**kwargs))  # type: ignore[no-any-return]

    return PayloadTool


#: what an agent sees of a stored storyboard instead of the whole of it
STORYBOARD_SUMMARY_FIELDS = ("title", "offline", "ready_for_media_generation", "totals",
                             "warnings")


def for_agents(doc: Any) -> Any:
    """``doc`` as an agent gets it: a project's stored storyboard (2 KB a shot, 150 KB for a
    70-shot film) is cut to its flags, totals and warnings, so reading or updating a project
    does not fill the agent's context window with prompts it never asked for."""
    content = doc.get("generatedContent") if isinstance(doc, dict) else None
    if not isinstance(content, dict) or not isinstance(content.get("storyboard"), dict):
        return doc
    board = content["storyboard"]
    summary = {key: board[key] for key in STORYBOARD_SUMMARY_FIELDS if key in board}
    summary["left_out"] = ("the bible and per-shot prompts: crew code gets them from "
                           "payload_read_project's acall, or the storyboard job's result")
    return {**doc, "generatedContent": {**content, "storyboard": summary}}


_SPECS: tuple[tuple[str, str, type[BaseModel], Operation], ...] = (
    ("payload_read_project",
     "Read a Novel Movie project from Payload CMS: name, projectTitle, descriptions, status, "
     "corePremise, tone, mood, targetAudience and primaryGenres (the names of the linked "
     "records), movieStyle (name, description), movieFormat (name, suggestedDuration in "
     "minutes), durationUnit (the target runtime in minutes), workflowStatus and "
     "generatedContent.",
     ReadProjectArgs, _read_project),
    ("payload_read_story",
     "Read the story of a Novel Movie project from Payload CMS (its currentContent holds the "
     "story text); answers that there is none when the project has no story yet.",
     ReadStoryArgs, _read_story),
    ("payload_update_project",
     "Update some fields of a Novel Movie project in Payload CMS (a partial update: send only "
     "the fields to change, with Payload's field names).",
     UpdateProjectArgs, _update_project),
)


def _factory(name: str, description: str, schema: type[BaseModel], operation: Operation
             ) -> Callable[[ToolContext], Any]:
    def build(ctx: ToolContext) -> Any:
        # the runner has set crewAI's environment before it builds a job's tools
        cls = _tool_class()
        tool = cls(name=name, description=description, args_schema=schema)
        return tool.bind(payload_config(ctx.settings), ctx.project_id, operation)

    build.__name__ = f"build_{name}"
    build.__doc__ = f"Build ``{name}`` for one job's project."
    return build


def tool_specs() -> list[Tool]:
    """The plugin's registrations, each with its check of the shared Payload probe."""
    return [Tool(name=name, description=description,
                 factory=_factory(name, description, schema, operation),
                 health=tool_health(name))
            for name, description, schema, operation in _SPECS]
