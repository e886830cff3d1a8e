"""The architect crew's run: split, analyse chunks concurrently, merge, synthesise, write graph.

The story's text goes to models once (each chunk to one Story Structure Analyst task, plus a
short overlap for continuity); scenes are located in the text and merged in plain Python; the
Knowledge Graph Architect writes the overview from the merged analysis alone; the graph is built
deterministically from it and written as a new version of the project's graph.
crewAI is imported here, lazily, when a job runs (the entry-point module stays light).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from novelcrew.context import RunContext
from novelcrew.crewai.yaml_config import fill
from novelcrew.errors import InvalidInput, JobCancelled, JobError, describe_error
from novelcrew.llm.sampling import whole_number
from novelcrew_architect.chunking import Chunk, split_story
from novelcrew_architect.crew_config import (
    ANALYSE_TASK,
    SYNTHESIS_TASK,
    CrewConfig,
    load_config,
)
from novelcrew_architect.graph import batches, build_custom_kg
from novelcrew_architect.merge import MergedAnalysis, merge_analyses, one_protagonist
from novelcrew_architect.models import (
    AnalysisStatistics,
    ArchitectInput,
    ChunkAnalysis,
    ModelInfo,
    StoryAnalysis,
    StorySynthesis,
    compact_schema,
)
from novelcrew_architect.story import UNTITLED, Story, load_story
from novelcrew_architect.summary import summarise
from novelcrew_architect.tokens import count_words, estimate_tokens

log = logging.getLogger(__name__)

KG_TOOL = "kg_insert_custom_kg"
#: attempts per chunk: the first answer plus two retries with the validation error fed back
MAX_ATTEMPTS = 3
#: crewAI's own wrapper text around a task prompt (measured about 650 characters)
CREWAI_OVERHEAD_TOKENS = 300
#: room kept for the validation error fed back on a retry
FEEDBACK_TOKENS = 400
FEEDBACK_CHARS = FEEDBACK_TOKENS * 4 - 200
OVERLAP_TOKENS = 300
GRAPH_BATCH = 200
VERSION_TOOL = "kg_new_version"
#: what the prompts say when the job names no language
STORY_LANGUAGE = "the language the story is written in"
#: earlier analyses kept (archived, never queried) when a new one replaces them
KEEP_VERSIONS = 3
#: sampling per task: low temperature for the close reading, a little more for the overview;
#: output room for a chunk's full scene list with every line of dialogue. A job's
#: ``config: {"temperature": ..., "max_tokens": ...}`` (every task) and, over it,
#: ``config: {"tasks": {"analyse_chunk": {"temperature": ...}}}`` (one task) win over these
#: (core's rule: the most specific setting wins, ``novelcrew.llm.sampling``).
TASK_SETTINGS: dict[str, dict[str, Any]] = {
    ANALYSE_TASK: {"temperature": 0.2, "max_tokens": 12_000},
    SYNTHESIS_TASK: {"temperature": 0.4, "max_tokens": 2_000},
}
OFFLINE_NOTE = (
    "Produced by the offline stand-in model: names, places, scenes and lines are extracted "
    "from the text by plain pattern matching, not an understanding of the story. Configure a "
    "real model (for example openrouter/anthropic/claude-sonnet-4) for a real analysis."
)


class MalformedAnswer(JobError):
    """A model kept answering a task with something that does not fit its output model."""

    error_type = "malformed_model_answer"


@dataclass
class _Tally:
    """What the run spent, for the statistics and the budget checks."""

    attempts: int = 0
    retries: int = 0
    prompt_tokens: int = 0

    def sent(self, tokens: int) -> None:
        self.attempts += 1
        self.prompt_tokens += tokens


@functools.cache
def schema_text(model: type[BaseModel]) -> str:
    """The output schema as the prompt states it: compact JSON, no titles or descriptions
    (the task text explains every field)."""
    return json.dumps(compact_schema(model.model_json_schema()), ensure_ascii=False,
                      separators=(",", ":"))


def answer_format(model: type[BaseModel], *, schema: bool = True) -> str:
    """What ends every task's description: answer with the JSON object alone, and for the
    offline stand-in (``schema``) the JSON schema it fills by extraction.

    A real model reads the fields from the task's own text, which names every key, its type
    and its values; the schema said it all again, about 580 tokens in every chunk's prompt
    (the director's prompts do the same). The schema line opens with ``JSON schema:`` as the
    director's does, so a dry run's estimate counts it as the stand-in's only.

    The tasks carry no ``output_pydantic``: crewAI would add its own format instructions,
    which tell the model to "preserve the original content exactly as-is", the last words
    it reads before writing summaries and arcs. The answer is validated here instead
    (``parse_output``), with the validation error fed back on a retry.
    """
    text = "\n\nAnswer with one JSON object with the fields above, and nothing else."
    return text + (f"\nJSON schema: {schema_text(model)}" if schema else "")


def schema_tokens(model: type[BaseModel], *, schema: bool = True) -> int:
    """Tokens of the answer-format part of a prompt."""
    return estimate_tokens(answer_format(model, schema=schema))


def prompt_overhead(config: CrewConfig, task: str, model: type[BaseModel],
                    variables: dict[str, str], *, schema: bool = True) -> int:
    """Tokens of a task's prompt without its big variable (story text or summary)."""
    template = fill(config.task_template(task), variables)
    return (estimate_tokens(template) + schema_tokens(model, schema=schema)
            + CREWAI_OVERHEAD_TOKENS + FEEDBACK_TOKENS)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_url=False, include_input=False)[:8]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "(answer)"
            parts.append(f"{where}: {err.get('msg')}")
        more = exc.error_count() - len(parts)
        return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    if type(exc).__name__ == "ConverterError":
        # crewAI's own message here is about its converter, not the answer
        return ("the answer was not a JSON object (it was prose, or JSON crewAI could not "
                "repair); answer with the JSON object alone")
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _is_malformed(exc: BaseException) -> bool:
    """Errors that mean 'the answer did not fit the output model' (worth asking again)."""
    if isinstance(exc, (ValidationError, json.JSONDecodeError, NoJSONObject)):
        return True
    return type(exc).__name__ in {"ConverterError", "OutputParserError", "OutputParserException"}


class NoJSONObject(ValueError):
    """The answer had no JSON object in it at all."""


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def parse_output(output: Any, model: type[BaseModel]) -> BaseModel:
    """The task's answer as ``model``: crewAI's parsed object, or the raw text validated."""
    raw = str(getattr(output, "raw", output) or "").strip()
    raw = _FENCE.sub("", raw).strip()
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end < start:
        raise NoJSONObject("the answer was not a JSON object (it was prose); answer with the "
                           "JSON object alone")
    return model.model_validate_json(raw[start: end + 1])


class ArchitectRun:
    """One run of the crew for one job."""

    def __init__(self, ctx: RunContext, inputs: ArchitectInput) -> None:
        self.ctx = ctx
        self.inputs = inputs
        self.config = load_config(ctx.settings)
        self.tally = _Tally()

    # crewAI ---------------------------------------------------------------------------------
    def states_schema(self, task_key: str) -> bool:
        """Whether ``task_key``'s prompt states the JSON schema: only for the offline
        stand-in, which fills a schema (see ``answer_format``)."""
        role = self.config.agents[self.config.tasks[task_key].agent].role
        model = self.ctx.model_id(role)
        return model == "offline" or model.startswith("offline/")

    def _crew(self, task_key: str, name: str, model: type[BaseModel], feedback: str) -> Any:
        from crewai import Agent, Crew, Process, Task

        task_cfg = self.config.tasks[task_key]
        agent_cfg = self.config.agents[task_cfg.agent]
        agent = Agent(
            role=agent_cfg.role, goal=agent_cfg.goal, backstory=agent_cfg.backstory,
            llm=self.ctx.llm(agent_cfg.role, task=task_key, **TASK_SETTINGS.get(task_key, {})),
            allow_delegation=False, verbose=False,
            max_iter=3, max_retry_limit=0, cache=False,
        )
        description = task_cfg.description
        if feedback:
            safe = feedback.replace("{", "(").replace("}", ")")[:FEEDBACK_CHARS]
            description = (
                "YOUR PREVIOUS ANSWER TO THIS TASK WAS REJECTED because it did not match the "
                f"required JSON structure: {safe}\nAnswer again with one JSON object that "
                "follows the structure exactly.\n\n" + description
            )
        task = Task(name=name, description=description + answer_format(
                        model, schema=self.states_schema(task_key)),
                    expected_output=task_cfg.expected_output, agent=agent)
        return Crew(agents=[agent], tasks=[task], process=Process.sequential, verbose=False,
                    tracing=False)

    async def _kickoff(self, crew: Any, inputs: dict[str, str]) -> Any:
        # progress was announced up front; ctx.kickoff announces the crew's tasks again
        self.ctx.total_tasks = max(self.ctx.completed_tasks,
                                   self.ctx.total_tasks - len(crew.tasks))
        return await self.ctx.kickoff(crew, inputs)

    async def ask(self, task_key: str, name: str, model: type[BaseModel],
                  inputs: dict[str, str], what: str) -> BaseModel:
        """Run one task, retrying a malformed answer with the error fed back."""
        prompt_tokens = estimate_tokens(fill(self.config.task_template(task_key), inputs)) \
            + schema_tokens(model, schema=self.states_schema(task_key)) + CREWAI_OVERHEAD_TOKENS
        feedback = ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            # a retry is the same task asked again (its warning says so): a dry run's
            # estimate counts the offline stand-in's retries of one task once
            crew = self._crew(task_key, name, model, feedback)
            self.tally.sent(prompt_tokens + (estimate_tokens(feedback) if feedback else 0))
            try:
                output = await self._kickoff(crew, inputs)
                return parse_output(output, model)
            except Exception as exc:
                if not _is_malformed(exc):
                    raise
                feedback = _describe(exc)
                if attempt == MAX_ATTEMPTS:
                    raise MalformedAnswer(
                        f"{what}: the model's answer did not fit {model.__name__} after "
                        f"{MAX_ATTEMPTS} attempts; last problem: {feedback}",
                        {"task": name, "attempts": MAX_ATTEMPTS, "error": feedback},
                    ) from exc
                self.tally.retries += 1
                await self.ctx.emit("warning", f"{what}: malformed answer, asking again "
                                    f"({attempt}/{MAX_ATTEMPTS - 1} retries): {feedback}",
                                    task=name, attempt=attempt)
        raise AssertionError("unreachable")

    # steps ----------------------------------------------------------------------------------
    def base_variables(self, story: Story, language: str = "") -> dict[str, str]:
        return {"title": story.title, "preferences": self.inputs.preferences.as_prompt(),
                "language": self.inputs.language or language or STORY_LANGUAGE}

    def chunk_budget(self, story: Story) -> int:
        """Tokens of story text (chunk plus overlap) one analysis prompt may carry."""
        # the longest label a part can get (headings are at most 80 characters)
        variables = {**self.base_variables(story), "part_label": "part 999 of 999, " + "x" * 80,
                     "previous_context": "", "chunk_text": ""}
        # the schema's room is kept for every model, so a story splits the same way for the
        # offline stand-in (which gets it) and a real model, and a dry run's chunks match
        overhead = prompt_overhead(self.config, ANALYSE_TASK, ChunkAnalysis, variables)
        budget = self.ctx.settings.prompt_token_budget - overhead
        if budget < 200:
            raise JobError(
                f"prompt_token_budget={self.ctx.settings.prompt_token_budget} leaves "
                f"{budget} tokens for story text after the prompt itself ({overhead} tokens)",
                {"budget": self.ctx.settings.prompt_token_budget, "overhead": overhead},
            )
        wanted = whole_number(self.ctx.config.get("chunk_tokens"))
        if isinstance(wanted, int) and wanted > 0:
            budget = max(50, min(budget, wanted))
        return budget

    async def analyse(self, story: Story, chunk: Chunk, total: int) -> ChunkAnalysis:
        label = f"part {chunk.index + 1} of {total}"
        if chunk.heading:
            label += f", {chunk.heading}"
        inputs = {**self.base_variables(story), "part_label": label,
                  "previous_context": chunk.context,
                  "chunk_text": chunk.text}
        result = await self.ask(ANALYSE_TASK, f"Analyse {label}", ChunkAnalysis, inputs,
                                f"chunk {chunk.id} ({label})")
        assert isinstance(result, ChunkAnalysis)
        await self.ctx.publish_partial("chunk", chunk.index + 1, result, total=total,
                                       message=f"{label} analysed")
        return result

    async def synthesise(self, story: Story, merged: MergedAnalysis) -> StorySynthesis:
        variables = {**self.base_variables(story, merged.story_language),
                     "candidate_themes": "; ".join(merged.themes[:30]),
                     "analysis_summary": ""}
        room = self.ctx.settings.prompt_token_budget - prompt_overhead(
            self.config, SYNTHESIS_TASK, StorySynthesis, variables)
        variables["analysis_summary"] = summarise(merged, max(100, room))
        result = await self.ask(SYNTHESIS_TASK, "Synthesise the story overview", StorySynthesis,
                                variables, "story overview")
        assert isinstance(result, StorySynthesis)
        return result

    async def write_graph(self, analysis: StoryAnalysis, chunks: list[Chunk],
                          merged: MergedAnalysis) -> dict[str, int]:
        kg = await asyncio.to_thread(
            build_custom_kg, analysis, chunks, scene_chunks=merged.scene_chunks,
            first_chunk=merged.first_chunk, theme_chunks=merged.theme_chunks)
        tool = self.ctx.tool(KG_TOOL)
        analysis.version, queued = await self.new_version()
        for batch in batches(kg, GRAPH_BATCH):
            self.ctx.check_cancelled()
            counts = await tool.acall(custom_kg=batch)
            queued += bool(getattr(counts, "queued", False))
        written = {key: len(items) for key, items in kg.items()}
        if queued:
            # the graph service is away: the writes wait in its outbox (pathrag plugin)
            written["queued_writes"] = queued
            await self.ctx.emit("warning", f"the knowledge graph is unavailable: {queued} "
                                "graph write(s) are queued and will be written when it is "
                                "back; the analysis itself is complete", queued_writes=queued)
        return written

    async def new_version(self) -> tuple[int, int]:
        """Start a new analysis version of the project's graph (the previous one is archived
        or removed, never mixed with this one); 1 when the graph keeps no versions (or the
        version is not known yet: the start was queued). Also says whether it was queued."""
        if not self.ctx.has_tool(VERSION_TOOL):
            await self.ctx.emit("warning", f"the graph has no {VERSION_TOOL} tool: this "
                                "analysis is merged into whatever the project's graph holds")
            return 1, 0
        keep = whole_number(self.ctx.config.get("keep_graph_versions", KEEP_VERSIONS))
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
            raise InvalidInput(f"config keep_graph_versions must be a whole number >= 0, not "
                               f"{keep!r}", {"keep_graph_versions": keep})
        result = await self.ctx.tool(VERSION_TOOL).acall(keep_previous=keep)
        data = result.model_dump() if isinstance(result, BaseModel) else dict(result)
        if data.get("queued"):
            return 1, 1
        if not data.get("replaced", True):
            await self.ctx.emit("warning", str(data.get("note") or "the graph could not "
                                               "replace the previous analysis"))
        return int(data.get("version") or 1), 0

    def model_info(self) -> ModelInfo:
        ids = sorted(self.ctx.usage) or sorted({
            self.ctx.model_id(a.role) for a in self.config.agents.values()
        })
        offline = any(i == "offline" or i.startswith("offline/") for i in ids)
        return ModelInfo(ids=ids, offline=offline, note=OFFLINE_NOTE if offline else "")

    async def __call__(self) -> StoryAnalysis:
        ctx = self.ctx
        story = await load_story(ctx, self.inputs)
        # the CPU-bound steps (splitting, merging, building the graph) run in a worker
        # thread: a long story must never hold up the server's event loop
        chunks = await asyncio.to_thread(split_story, story.text, self.chunk_budget(story),
                                         OVERLAP_TOKENS)
        # one task per chunk, the overview, and writing the graph
        await ctx.add_tasks(len(chunks) + 2)
        # a progress event shaped like the runner's, plus what the split found
        await ctx.emit("progress", f"story split into {len(chunks)} chunk(s)",
                       completed_tasks=ctx.completed_tasks, total_tasks=ctx.total_tasks,
                       current_crew=ctx.crew, current_task=ctx.current_task,
                       chunks=len(chunks), words=count_words(story.text), source=story.source)
        # chunks in flight: twice the calls the analysing agent's model takes at once (shared
        # by every job), so each call slot has a chunk ready; the rest of a long novel's
        # chunks wait here, not as parked crews and threads in the model's queue
        role = self.config.agents[self.config.tasks[ANALYSE_TASK].agent].role
        window = asyncio.Semaphore(2 * ctx.model_limit(role))

        async def analyse(chunk: Chunk) -> ChunkAnalysis:
            async with window:
                return await self.analyse(story, chunk, len(chunks))

        jobs = [asyncio.create_task(analyse(c)) for c in chunks]
        try:
            parts = await asyncio.gather(*jobs)
        except BaseException:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            raise
        ctx.check_cancelled()
        pairs = [(c.id, p) for c, p in zip(chunks, parts, strict=True)]
        ranges = {c.id: (c.start, c.end) for c in chunks}
        merged = await asyncio.to_thread(merge_analyses, pairs, story.text, ranges)
        overview = await self.synthesise(story, merged)
        same_as = [(p.name, p.same_as) for p in overview.same_as
                   if p.name.strip() and p.same_as.strip()]
        if same_as:  # the model's own "these are one" answers, merged as aliases
            merged = await asyncio.to_thread(merge_analyses, pairs, story.text, ranges,
                                             same_as)
        one_protagonist(merged.characters, merged.scene_counts, overview.protagonist,
                        overview.ensemble)
        lost = [s.number for s in merged.scenes if not s.located]
        if lost:
            await ctx.emit("warning", f"{len(lost)} of {len(merged.scenes)} scene(s) were "
                           "placed between their neighbours: the model's opening words were "
                           "not found in the text", scenes=lost[:50])

        usage_calls = sum(u.calls for u in ctx.usage.values())
        usage_prompt = sum(u.prompt_tokens for u in ctx.usage.values())
        analysis = StoryAnalysis(
            title=self.inputs.title or (
                story.title if story.title != UNTITLED else overview.title.strip() or UNTITLED),
            language=self.inputs.language or merged.story_language or "English",
            story_language=merged.story_language,
            logline=overview.logline, genre=overview.genre, tone=overview.tone,
            themes=[t.strip() for t in overview.themes if t.strip()] or merged.themes[:6],
            characters=merged.characters, locations=merged.locations, objects=merged.objects,
            scenes=merged.scenes,
            statistics=AnalysisStatistics(
                words=count_words(story.text), characters_in_text=len(story.text),
                chunks=len(chunks), model_calls=usage_calls or self.tally.attempts,
                prompt_tokens_estimate=usage_prompt or self.tally.prompt_tokens,
                story_tokens_estimate=estimate_tokens(story.text), retries=self.tally.retries,
            ),
            model=self.model_info(),
        )
        await ctx.task_started("Write the knowledge graph")
        try:
            analysis.graph = await self.write_graph(analysis, chunks, merged)
        except JobCancelled:
            raise
        except Exception as exc:  # the analysis is the product: a graph failure must not lose it
            await ctx.emit("warning", f"could not write the knowledge graph: "
                           f"{describe_error(exc)}", error=type(exc).__name__)
        await ctx.task_finished("Write the knowledge graph", **analysis.graph)
        return analysis


async def run(ctx: RunContext, inputs: ArchitectInput) -> StoryAnalysis:
    """The architect crew: a story in, its structure and knowledge graph out."""
    return await ArchitectRun(ctx, inputs)()
