"""Test helpers: a sample story graph, a real ``novelcrew-pathrag serve`` process, settings."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

from novelcrew.settings import Settings
from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

SCENES = [
    (1, "Maya trims the wick of the great lantern as fog rolls in.", "The Lighthouse", "NIGHT",
     ["Maya"], "quiet dread", "Introduce Maya and her duty.", ['"The light never sleeps."'],
     ["The Brass Lantern"]),
    (2, "Tom warns Maya about strange lights off the reef.", "The Harbour", "DAY",
     ["Maya", "Tom"], "unease", "Plant the mystery of the lights.",
     ['"They signal at midnight."', '"Who does?"'], []),
    (3, "Iris paints the smugglers' ship while Elias watches from the doorway.",
     "Iris's Studio", "DAY", ["Iris", "Elias"], "longing", "Reveal Elias's past with Iris.",
     ['"You came back."'], []),
    (4, "Captain Reyes confronts Elias on the pier about the cargo.", "The Harbour", "NIGHT",
     ["Captain Reyes", "Elias"], "confrontation", "Raise the stakes.", [], []),
]
CHARACTERS = {
    "Maya": "The lighthouse keeper's daughter, stubborn and watchful.",
    "Tom": "A young fisherman and Maya's oldest friend.",
    "Iris": "Tom's sister, a painter who lives above the harbour.",
    "Elias": "A smuggler who runs contraband past the reef at night.",
    "Captain Reyes": "The harbour master, strict and tired.",
}
LOCATIONS = {
    "The Lighthouse": "A white tower on the northern cliffs, battered by storms.",
    "The Harbour": "A crowded fishing harbour with a long wooden pier.",
    "Iris's Studio": "An attic full of canvases that smells of turpentine.",
}
# character -> character links: Maya reaches Elias only through Tom and Iris
BONDS = [
    ("Maya", "Tom", "childhood friends who trust each other"),
    ("Tom", "Iris", "siblings; Tom protects his sister"),
    ("Iris", "Elias", "former lovers; Iris still paints him"),
]


def scene_description(scene: tuple[Any, ...]) -> str:
    number, summary, location, time_, chars, beat, purpose, dialogue, _ = scene
    lines = [f"Scene {number}: {summary}", f"Location: {location}", f"Time: {time_}",
             f"Characters: {', '.join(chars)}", f"Emotional beat: {beat}", f"Purpose: {purpose}"]
    if dialogue:
        lines.append("Dialogue: " + " | ".join(dialogue))
    return "\n".join(lines)


def story_graph() -> dict[str, Any]:
    """The custom KG the architect would write for a four-scene story (docs/architecture.md)."""
    chunks = [{"content": f"Scene {s[0]}. {s[1]}", "source_id": f"chunk-{s[0]}"} for s in SCENES]
    entities: list[dict[str, Any]] = []
    rels: list[dict[str, Any]] = []
    for name, text in CHARACTERS.items():
        entities.append({"entity_name": name, "entity_type": "character", "description": text,
                         "source_id": "chunk-1"})
    for name, text in LOCATIONS.items():
        entities.append({"entity_name": name, "entity_type": "location", "description": text,
                         "source_id": "chunk-2"})
    entities.append({"entity_name": "The Brass Lantern", "entity_type": "object",
                     "description": "The lighthouse's old lantern.", "source_id": "chunk-1"})
    for scene in SCENES:
        name, src = f"Scene {scene[0]}", f"chunk-{scene[0]}"
        entities.append({"entity_name": name, "entity_type": "scene",
                         "description": scene_description(scene), "source_id": src})
        for who in scene[4]:
            rels.append({"src_id": who, "tgt_id": name, "keywords": "appears_in",
                         "description": f"{who} appears in {name}.", "weight": 1.0,
                         "source_id": src})
        rels.append({"src_id": name, "tgt_id": scene[2], "keywords": "located_in",
                     "description": f"{name} takes place at {scene[2]}.", "weight": 1.0,
                     "source_id": src})
        for thing in scene[8]:
            rels.append({"src_id": name, "tgt_id": thing, "keywords": "features",
                         "description": f"{name} features {thing}.", "weight": 1.0,
                         "source_id": src})
    for a, b in itertools.pairwise(SCENES):
        rels.append({"src_id": f"Scene {a[0]}", "tgt_id": f"Scene {b[0]}",
                     "keywords": "precedes", "description": "", "weight": 0.5,
                     "source_id": f"chunk-{b[0]}"})
    for a, b, how in BONDS:
        rels.append({"src_id": a, "tgt_id": b, "keywords": "relationship", "description": how,
                     "weight": 2.0, "source_id": "chunk-1"})
    return {"chunks": chunks, "entities": entities, "relationships": rels}


def serve(data_dir: Path, *extra: str,
          port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """``novelcrew-pathrag serve`` (the installed console script) on ``port`` or a free one."""
    script = Path(sys.executable).with_name("novelcrew-pathrag")
    port = port or free_port()
    process = subprocess.Popen(
        [str(script), "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--log-level", "warning", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", process, timeout=30)
    return url, process


def stop(process: subprocess.Popen[bytes]) -> None:
    stop_process(process, 10)




def make_settings(tmp_path: Path, url: str | None) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None,
                    plugin_config={"pathrag": {"url": url}})
