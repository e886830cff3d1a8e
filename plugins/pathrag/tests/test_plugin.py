"""The plugin as novelcrew sees it: listed with its tools, cheap to import, health reported."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pathrag_helpers import free_port, make_settings, story_graph

from novelcrew.plugins import load
from novelcrew_pathrag import QueryResult

TOOLS = ["kg_delete_entity", "kg_graph", "kg_insert_custom_kg", "kg_insert_documents",
         "kg_new_version",
         "kg_query"]


def test_plugin_is_listed_with_its_tools() -> None:
    plugins = load(["pathrag"])
    info = plugins.infos["pathrag"]
    assert info.error is None
    assert sorted(info.tools) == TOOLS
    assert "register_tools" in info.hooks
    assert {plugins.registry.tools[name].plugin for name in TOOLS} == {"pathrag"}


def test_entry_point_module_does_not_import_crewai() -> None:
    code = (
        "import sys, novelcrew.plugins as p; p.load(['pathrag']); "
        "print(any(m == 'crewai' or m.startswith('crewai.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_tools_work_for_agents_and_for_crew_code(tmp_path: Path, registry: Any) -> None:
    from crewai.tools import BaseTool

    from novelcrew.context import ToolContext

    settings = make_settings(tmp_path, None)
    ctx = ToolContext(settings=settings, project_id="42", job_id="j")
    insert = registry.tool("kg_insert_custom_kg").factory(ctx)
    query = registry.tool("kg_query").factory(ctx)
    assert isinstance(insert, BaseTool) and isinstance(query, BaseTool)
    assert insert.name == "kg_insert_custom_kg" and query.name == "kg_query"
    assert set(query.args_schema.model_fields) >= {"query", "top_k", "max_tokens",
                                                   "entity_types"}

    # an agent's call: arguments validated by the schema, a compact text answer
    graph = story_graph()
    text = insert.run(custom_kg=graph)
    assert json.loads(text) == {
        "documents": 0, "chunks": len(graph["chunks"]), "entities": len(graph["entities"]),
        "relationships": len(graph["relationships"]),
    }
    answer = query.run(query="Who is Elias?", top_k=5)
    assert isinstance(answer, str) and "Elias" in answer and "smuggler" in answer
    assert query.run(query="zeppelin xylophone") == query.empty_answer
    # crewAI may copy tools with their agent; a copy stays bound to the same project
    assert "smuggler" in copy.deepcopy(query).run(query="Elias")
    structured = query.to_structured_tool()
    assert "smuggler" in structured.invoke({"query": "Elias"})


async def test_acall_returns_structured_results(tmp_path: Path, registry: Any) -> None:
    from novelcrew.context import ToolContext

    ctx = ToolContext(settings=make_settings(tmp_path, None), project_id="7")
    await registry.tool("kg_insert_custom_kg").factory(ctx).acall(custom_kg=story_graph())
    result = await registry.tool("kg_query").factory(ctx).acall(query="Elias", top_k=3)
    assert isinstance(result, QueryResult)
    assert result.entities[0].name == "Elias" and result.entities[0].type == "character"
    # the agent's run() inside a running event loop (crew code calling it directly)
    text = registry.tool("kg_query").factory(ctx).run(query="Elias")
    assert "Elias" in text


async def test_health_reports_backend_and_reachability(
    tmp_path: Path, registry: Any, server_url: str
) -> None:
    check = registry.tool("kg_query").health
    assert check is not None
    embedded = await check(make_settings(tmp_path, None))
    assert embedded.status == "ok" and embedded.data["backend"] == "embedded"
    assert embedded.data["path"] == str((tmp_path / "data" / "pathrag.sqlite3").resolve())

    remote = await check(make_settings(tmp_path, server_url))
    assert remote.status == "ok" and remote.data["url"] == server_url
    assert remote.data["service"]["status"] == "healthy"

    dead = f"http://127.0.0.1:{free_port()}"
    down = await check(make_settings(tmp_path, dead))
    assert down.status == "down" and dead in down.detail


def test_pathrag_api_url_alias_selects_remote(monkeypatch: Any, tmp_path: Path) -> None:
    from novelcrew.settings import Settings
    from novelcrew_pathrag import backend_for

    monkeypatch.setenv("PATHRAG_API_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("NOVELCREW_PATHRAG_URL", raising=False)
    backend = backend_for(Settings(data_dir=tmp_path, _env_file=None))
    assert backend.name == "remote"
    assert backend.base_url == "http://127.0.0.1:9"  # type: ignore[attr-defined]


def test_sdk_contract_check_passes() -> None:
    from novelcrew_sdk.contract import check_plugin

    report = check_plugin("pathrag", entry_points_for_tools=())
    assert sorted(report.tools) == TOOLS and report.hooks == ["register_tools"]
