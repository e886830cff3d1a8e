"""``offline``: a deterministic stand-in for a language model. It does not understand stories.

It answers every call without a network by plain extraction from the prompt's input text: when
the task asks for a schema (crewAI puts it in the prompt as "OpenAPI schema", or passes
``response_model``), it fills that schema (``fill``); otherwise it answers with a short
extract. Tool-using agents get a final answer at once. Its answers say they come from
``offline`` (a ``notes``/``model`` field when the schema has one, and every ``llm_call`` event).
"""

from __future__ import annotations

import json
import re
from typing import Any

from novelcrew.default_plugins.offline.extract import TextFacts
from novelcrew.default_plugins.offline.fill import OFFLINE_NOTE, SchemaFiller
from novelcrew.llm.local import LocalLLM, messages_of, text_of

__all__ = ["OfflineLLM", "answer", "input_text", "schema_in"]

_SCHEMA_MARKERS = ("OpenAPI schema:", "JSON schema:", "json schema:", "following schema:")
#: crewAI prompt boilerplate that is not input text
_BOILERPLATE = re.compile(
    r"^\s*(This is the expected criteria for your final answer:.*|you MUST return the actual.*|"
    r"IMPORTANT:.*|Do not include the OpenAPI schema.*|Ensure the final output.*|"
    r"Provide your complete response:?|Begin!.*|Thought:.*|Analy[sz]e the tool result.*|"
    r"Format your final answer.*|This is the context you're working with:|"
    r"Ensure your final answer.*|The output should be formatted as.*)\s*$",
    re.MULTILINE,
)


def schema_in(text: str) -> tuple[dict[str, Any] | None, str]:
    """The JSON schema a prompt asks for, and the prompt without it."""
    for marker in _SCHEMA_MARKERS:
        at = text.find(marker)
        if at < 0:
            continue
        start = text.find("{", at)
        if start < 0:
            continue
        try:
            schema, end = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(schema, dict):
            return schema, text[:at] + text[end:]
    return None, text


_BLOCKS = (
    re.compile(r"<<<[ \t]*\n(.*?)\n[ \t]*>>>", re.S),
    re.compile(r"<(story|text|chapter|document|input)>(.*?)</\1>", re.S | re.I),
    re.compile(r"```[a-z]*\n(.*?)\n```", re.S),
    re.compile(r'"""\n?(.*?)\n?"""', re.S),
)
_CONTEXT_LABEL = re.compile(r"\bcontext\b", re.I)
_LABEL = re.compile(r"^\s*(?:the\s+)?(?:story|story text|text|chapter|excerpt|input|"
                    r"manuscript)\s*:\s*$", re.I | re.M)
#: a task whose first line ends in a colon ("Summarise this story in 4 sentences:"): that
#: line is the instruction, the material follows it
_LEAD = re.compile(r"\A\s*[^\n]{1,200}:[ \t]*\n")
#: a task's instruction line introducing its material ("Summarise this story:"), the first
#: one only: a story's own line may end the same way further down
_INSTRUCTION = re.compile(r"^[ \t]*[A-Za-z][^\n.!?:]{0,80}\b(?:story|text|chapter|excerpt|"
                          r"input|manuscript|passage|scene|document)\s*:[ \t]*$", re.I | re.M)


def _material(text: str) -> str:
    """The part of a prompt that is the material (a story, an analysis), not instructions.

    Prompts that fence their material (``<<< >>>``, ``<story>``, code fences, triple quotes)
    give exactly that; a prompt with a label line ("Story:") gives what follows it.
    """
    for pattern in _BLOCKS:
        matches = [m for m in pattern.finditer(text) if m.groups()[-1].strip()]
        # a block the prompt labels as context (the end of the previous part) is not the
        # material to answer about, when another block is
        material = [m for m in matches if not _CONTEXT_LABEL.search(
            text[max(0, m.start() - 120):m.start()].rsplit("\n\n", 1)[-1])] or matches
        if material:
            return "\n\n".join(m.groups()[-1].strip() for m in material)
    labels = list(_LABEL.finditer(text))
    if labels:
        return text[labels[-1].end():].strip()
    instruction = _LEAD.match(text) or _INSTRUCTION.search(text)
    if instruction:  # "Summarise this story:" then the story: the material is what follows
        return text[instruction.end():].strip() or text
    return text


def input_text(messages: list[dict[str, Any]]) -> str:
    """The text a call is about: user turns without crewAI's instructions and schema."""
    parts = []
    for message in messages:
        if message.get("role") not in ("user", "tool"):
            continue
        text = text_of(message.get("content"))
        _schema, text = schema_in(text)
        text = text.replace("Current Task:", "")
        text = _BOILERPLATE.sub("", text)
        parts.append(_material(text).strip())
    return "\n\n".join(p for p in parts if p)


def _schema_of(response_model: Any, prompt: str) -> dict[str, Any] | None:
    if response_model is not None and hasattr(response_model, "model_json_schema"):
        try:
            return dict(response_model.model_json_schema())
        except Exception:
            pass
    schema, _ = schema_in(prompt)
    return schema


def answer(messages: Any, response_model: Any = None) -> tuple[str, dict[str, Any] | None]:
    """The offline answer to a call: JSON for a schema, else a plain extract."""
    msgs = messages_of(messages)
    prompt = "\n\n".join(text_of(m.get("content")) for m in msgs)
    schema = _schema_of(response_model, prompt)
    facts = TextFacts(input_text(msgs) or prompt)
    if schema is not None:
        value = SchemaFiller(facts, schema).fill()
        return json.dumps(value, ensure_ascii=False), value
    lines = [f"[offline] {OFFLINE_NOTE}"]
    if facts.sentences:
        lines.append("Summary: " + " ".join(facts.sentences[:3]))
    if facts.characters:
        lines.append("Names: " + ", ".join(facts.characters[:8]))
    if facts.places:
        lines.append("Places: " + ", ".join(facts.places[:6]))
    return "\n".join(lines), None


class OfflineLLM(LocalLLM):
    """Answers from the prompt's own text, deterministically, with no network."""

    llm_type: str = "offline"
    context_window: int = 1_000_000

    def __init__(self, model: str = "offline", **kwargs: Any) -> None:
        super().__init__(model=model, provider="offline", **kwargs)

    def respond(self, messages: list[dict[str, Any]], prompt: str, from_agent: Any,
                response_model: Any) -> str:
        text, _value = answer(messages, response_model)
        if response_model is not None:
            return text
        # a final answer in crewAI's ReAct format; JSON stays findable inside it
        return f"Thought: I can answer from the input text.\nFinal Answer: {text}"
