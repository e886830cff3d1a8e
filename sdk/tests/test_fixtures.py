"""The pytest fixtures a plugin author gets from novelcrew-sdk."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, hookimpl


class In(BaseModel):
    story_text: str


class Out(BaseModel):
    words: int


async def count(ctx: Any, inputs: In) -> Out:
    await ctx.add_tasks(1)
    await ctx.task_started("count")
    await ctx.task_finished("count")
    return Out(words=len(inputs.story_text.split()))


class CountPlugin:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="count", description="counts words", input_model=In,
                      output_model=Out, run=count))


def test_settings_are_private_and_offline(novelcrew_settings: Any, tmp_path: Any) -> None:
    assert novelcrew_settings.model_for("any") == "offline"
    assert str(novelcrew_settings.data_dir).startswith(str(tmp_path))


def test_plugins_factory_registers_objects_and_entry_points(novelcrew_plugins: Any) -> None:
    plugins = novelcrew_plugins(CountPlugin(), entry_points=["pathrag"])
    assert "count" in plugins.registry.crews
    assert "kg_query" in plugins.registry.tools
    assert "architect" not in plugins.registry.crews


async def test_run_fixture_runs_a_job(novelcrew_plugins: Any, novelcrew_run: Any) -> None:
    job, events = await novelcrew_run(novelcrew_plugins(CountPlugin()), "count",
                                      {"story_text": "a b c d"}, project_id="p")
    assert job.status == "succeeded" and job.result == {"count": {"words": 4}}
    assert job.project_id == "p"
    assert events[0].type == "queued" and events[-1].type == "succeeded"


async def test_client_fixture_serves_the_real_app(novelcrew_plugins: Any,
                                                  novelcrew_client: Any) -> None:
    import asyncio

    async with novelcrew_client(novelcrew_plugins(CountPlugin())) as client:
        crews = (await client.get("/crews")).json()
        assert "count" in str(crews)
        created = await client.post("/jobs", json={"crews": ["count"],
                                                   "inputs": {"story_text": "one two"}})
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        for _ in range(100):
            job = (await client.get(f"/jobs/{job_id}")).json()
            if job["status"] == "succeeded":
                break
            await asyncio.sleep(0.05)
        assert job["result"] == {"count": {"words": 2}}


class Line(BaseModel):
    line: str


async def write_line(ctx: Any, inputs: In) -> Line:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew

    writer = Agent(role="Line Writer", goal="Write one line.", backstory="A writer.",
                   llm=ctx.llm("Line Writer"), allow_delegation=False)
    task = Task(description="One line for: {story_text}", expected_output='{"line": "..."}',
                agent=writer, output_pydantic=Line)
    result = await ctx.kickoff(CrewAICrew(agents=[writer], tasks=[task]),
                               {"story_text": inputs.story_text})
    return Line(line=result.pydantic.line)


class LinePlugin:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="line", description="one line", input_model=In, output_model=Line,
                      run=write_line, agents=("Line Writer",)))


async def test_client_fixture_uses_the_scripted_llm_like_run(novelcrew_plugins: Any,
                                                            novelcrew_client: Any) -> None:
    """The same plugins and ScriptedLLM answer over HTTP as they do through novelcrew_run."""
    import asyncio
    import json

    from novelcrew_sdk import ScriptedLLM

    llm = ScriptedLLM(replies={"Line Writer": json.dumps({"line": "Keep the light."})})
    async with novelcrew_client(novelcrew_plugins(LinePlugin(), llm=llm)) as client:
        created = await client.post("/jobs", json={"crews": ["line"],
                                                   "inputs": {"story_text": "Mara keeps it."}})
        assert created.status_code == 202, created.text
        for _ in range(200):
            job = (await client.get(f"/jobs/{created.json()['id']}")).json()
            if job["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert job["result"] == {"line": {"line": "Keep the light."}}
    assert llm.calls


class CountExport:
    """An export format reading the count crew's result, as a third-party export would."""

    @hookimpl
    def register_exports(self, register: Any) -> None:
        from novelcrew import Export, ExportUnavailable

        def render(job: dict[str, Any]) -> str:
            if "count" not in job["result"]:
                raise ExportUnavailable("the job has no count: run the count crew")
            return f"{job['result']['count']['words']} words\n"

        register(Export(name="count.txt", media_type="text/plain", suffix=".count.txt",
                        description="The word count.", render=render))


async def test_client_fixture_serves_the_jobs_of_a_store_you_fill(
        novelcrew_plugins: Any, novelcrew_run: Any, novelcrew_client: Any) -> None:
    """An export's test as the guide writes it: run the crew into a MemoryStore, then ask the
    real app for the file; no polling, no backend built by hand."""
    from novelcrew import Job
    from novelcrew.backends import MemoryStore

    plugins = novelcrew_plugins(CountPlugin(), CountExport())
    store = MemoryStore()
    job, _events = await novelcrew_run(plugins, "count", {"story_text": "a b c"}, store=store)
    await store.create(Job(id="0123abcd", crews=["count"], status="succeeded", result={}))
    async with novelcrew_client(plugins, store=store) as client:
        answer = await client.get(f"/jobs/{job.id}/export/count.txt")
        assert answer.status_code == 200 and answer.text == "3 words\n"
        empty = await client.get("/jobs/0123abcd/export/count.txt")
        assert empty.status_code == 409
        assert empty.json()["error"]["message"] == "the job has no count: run the count crew"


def test_a_plugin_that_is_not_installed_is_named_not_a_key_error(novelcrew_plugins: Any) -> None:
    """The scaffold's first test asks for its plugin by entry-point name: when pyproject.toml
    lost the entry point (or the package is not installed here) the author reads why."""
    import pytest

    from novelcrew_sdk import ContractError, check_plugin

    with pytest.raises(LookupError) as caught:
        novelcrew_plugins(entry_points=["pathrag", "no-such-plugin"])
    message = str(caught.value)
    assert message.startswith("no installed plugin is named 'no-such-plugin': declare it in")
    assert "[project.entry-points.novelcrew]" in message and "pathrag" in message
    with pytest.raises(ContractError, match=r"named 'no-such-plugin': declare it in your "):
        check_plugin("no-such-plugin")
