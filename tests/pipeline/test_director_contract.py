"""The director plugin passes the SDK's contract check over a real (embedded) story graph."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from novelcrew.context import ToolContext
from novelcrew_sdk import check_plugin, make_plugins, make_settings


def _graph() -> dict[str, list[dict[str, Any]]]:
    scenes = {
        1: "Scene 1: Ada finds the ward empty.\nLocation: Ward Six\nTime: NIGHT\n"
           "Characters: Ada\nEmotional beat: unease\nDialogue: \"Hello?\"",
        2: "Scene 2: A voice on the intercom calls Ada by name.\nLocation: Ward Six\n"
           "Time: NIGHT\nCharacters: Ada\nEmotional beat: fear",
    }
    entities = [
        {"entity_name": "Ada", "entity_type": "character",
         "description": "Role: protagonist. A night nurse on her last shift.", "source_id": "c1"},
        {"entity_name": "Ward Six", "entity_type": "location",
         "description": "A hospital ward. Atmosphere: humming fluorescent quiet.",
         "source_id": "c1"},
    ] + [{"entity_name": f"Scene {n}", "entity_type": "scene", "description": text,
          "source_id": "c1"} for n, text in scenes.items()]
    relationships = [
        {"src_id": "Ada", "tgt_id": f"Scene {n}", "description": f"Ada appears in Scene {n}.",
         "keywords": "appears_in", "weight": 1.0, "source_id": "c1"} for n in scenes
    ] + [
        {"src_id": f"Scene {n}", "tgt_id": "Ward Six", "description": "set in Ward Six.",
         "keywords": "located_in", "weight": 1.0, "source_id": "c1"} for n in scenes
    ]
    return {"chunks": [{"content": "Ada walks the empty ward.", "source_id": "c1"}],
            "entities": entities, "relationships": relationships}


def test_director_passes_the_sdk_contract_on_the_offline_model(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    plugins = make_plugins(entry_points=["pathrag"])
    tool = plugins.registry.tools["kg_insert_custom_kg"].spec.factory(
        ToolContext(settings=make_settings(data_dir), project_id="contract"))
    asyncio.run(tool.acall(custom_kg=_graph()))

    report = check_plugin("director", data_dir=data_dir, entry_points_for_tools=("pathrag",))
    assert report.crews == {"director": "succeeded"}
    assert report.hooks == ["register_crews", "register_renderers"]
