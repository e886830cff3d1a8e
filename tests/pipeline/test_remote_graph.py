"""The chain over the remote PathRAG contract, served upstream-style (``--plain``: one shared
graph, text only, names as the service returns them) by a real ``novelcrew-pathrag`` process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_fixtures import STORY, replies

from novelcrew_director import ScenePlan
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job
from novelcrew_sdk.testing import free_port, stop_process, wait_for_http


@pytest.fixture
def plain_pathrag(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    script = Path(sys.executable).with_name("novelcrew-pathrag")
    process = subprocess.Popen(
        [str(script), "serve", "--plain", "--port", str(port), "--data-dir",
         str(tmp_path / "served"), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # --log-level warning: little
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", process)
        yield url
    finally:
        stop_process(process, 10)


async def test_chain_over_an_upstream_style_pathrag_service(
        tmp_path: Path, plain_pathrag: str) -> None:
    llm = ScriptedLLM(replies=replies())
    plugins = make_plugins(entry_points=["architect", "director", "pathrag"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted",
                             plugin_config={"pathrag": {"url": plain_pathrag}})
    job, _ = await run_job(plugins, ["architect", "director"], {"story_text": STORY},
                           settings=settings, project_id="nm-remote")
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert [s.heading for s in plan.scenes] == [
        "EXT. KESSEL PIER - NIGHT", "INT. FERRY WHEELHOUSE - NIGHT",
        "EXT. MARROW POINT JETTY - DAWN"]
    prompts = [c.prompt for c in llm.calls if c.role == "Scene Analysis Director"]
    for prompt in prompts:
        material = prompt[prompt.index("<<<\n"):prompt.index("\n>>>")]
        cast = [line for line in material.splitlines() if line.startswith("- ")]
        assert cast
        names = [line[2:].split(":")[0].lower() for line in cast]
        assert len(names) == len(set(names)), cast  # no "Lena Orr" and "LENA ORR" twice
        assert "Captain of the last ferry" in prompt
