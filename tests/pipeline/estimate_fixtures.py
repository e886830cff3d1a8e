"""A local server's answers for the estimate tests: what a model that follows each crew's
prompt answers (see ``test_estimate_accuracy``)."""

from __future__ import annotations

import json
import re
from typing import Any

from novelcrew.default_plugins.offline.llm import answer
from novelcrew_architect.crew import schema_text
from novelcrew_architect.models import ChunkAnalysis, StorySynthesis

#: the architect's agents and the answers their tasks describe field by field
ARCHITECT = {"Story Structure Analyst": ChunkAnalysis, "Knowledge Graph Architect": StorySynthesis}


def _final(value: Any) -> str:
    return f"Thought: I can answer.\nFinal Answer: {json.dumps(value)}"


def _ids(prompt: str) -> list[str]:
    found = re.search(r"one entry per (?:id|shot number) in (\[.*?\])", prompt)
    return [str(i) for i in json.loads(found.group(1))] if found else []


def _material(prompt: str) -> str:
    found = re.search(r"<<<\n(.*?)\n>>>", prompt, re.S)
    return found.group(1) if found else prompt


def reply(body: dict[str, Any]) -> str:
    """What a model that follows each crew's prompt answers."""
    messages = body.get("messages") or []
    prompt = "\n\n".join(str(m.get("content") or "") for m in messages)
    system = " ".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    for role, model in ARCHITECT.items():
        if role in system:  # the offline extractor fills the schema the task's text describes
            schema = f"\nJSON schema: {schema_text(model)}"
            return answer([*messages, {"role": "user", "content": schema}])[0]
    words = _material(prompt).split()
    summary = " ".join(words[:40]) or "A scene."
    if "Cinematography Specialist" in prompt:
        return _final({"shots": [
            {"size": size, "angle": "eye level", "movement": "static", "lens_mm": lens,
             "estimated_duration_seconds": 4, "notes": " ".join(words[i * 12:i * 12 + 12])}
            for i, (size, lens) in enumerate((("WS", 24), ("MS", 35), ("CU", 85)))]})
    if "Scene Analysis Director" in prompt:
        return _final({"summary": summary, "blocking": [" ".join(words[40:60])],
                       "mood": "tense", "lighting": "low key", "palette": ["grey", "amber"],
                       "props": [w.strip(".,;") for w in words[60:64]]})
    if '{"characters"' in prompt:
        return _final({"characters": [{"id": i, "hair": {"value": "dark hair"}}
                                      for i in _ids(prompt)]})
    if '{"locations"' in prompt:
        return _final({"locations": [{"id": i, "look": "weathered stone"}
                                     for i in _ids(prompt)]})
    if '{"shots"' in prompt:
        return _final({"shots": [{"number": int(n), "action": " ".join(words[:15]),
                                  "composition": "subject left, horizon high"}
                                 for n in _ids(prompt)]})
    return _final({"era": "present day", "palette": ["grey", "amber", "green"],
                   "lighting_style": "natural", "film_look": "35mm",
                   "fragments": ["wet stone", "low sun"]})
