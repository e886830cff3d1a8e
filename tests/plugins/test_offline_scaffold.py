"""The offline stand-in never echoes a crew's prompt scaffolding (issue #23): a freshly
scaffolded crew (task "Summarise this story:\\n\\n{story_text}") gets an extract of the story,
not of its instructions."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from novelcrew_sdk.scaffold import new_plugin
from novelcrew_sdk.testing import make_plugins, make_settings, run_job

STORY = ("Ana Reyes finds a brass key under the floorboards of her grandmother's house. "
         "She opens the old door in the cellar. Behind it, Tomas has been waiting for years.")


@pytest.fixture
def scaffolded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    package = new_plugin("tidings", tmp_path)
    monkeypatch.syspath_prepend(str(package / "src"))
    yield importlib.import_module("novelcrew_tidings.plugin")
    for name in [n for n in sys.modules if n.startswith("novelcrew_tidings")]:
        del sys.modules[name]


@pytest.mark.parametrize("instruction", [
    None,  # the scaffold's own task: "Summarise this story:\n\n{story_text}"
    "Summarise this story in 4 sentences:\n\n{story_text}",  # an author's first edit
])
async def test_offline_summary_of_a_scaffolded_crew_has_no_prompt_text(
    scaffolded, tmp_path, monkeypatch, instruction
):
    if instruction is not None:
        source = Path(scaffolded.__file__).read_text()
        assert '"Summarise this story:\\n\\n{story_text}"' in source
        edited = source.replace('"Summarise this story:\\n\\n{story_text}"', repr(instruction))
        Path(scaffolded.__file__).write_text(edited)
        scaffolded = importlib.reload(scaffolded)
    plugins = make_plugins(scaffolded)
    job, _events = await run_job(plugins, ["tidings"], {"story_text": STORY},
                                 settings=make_settings(tmp_path / "data"))
    assert job.status == "succeeded", job.error
    summary = job.result["tidings"]["summary"]
    for scaffolding in ("Summarise", "this story", "sentences", "JSON", "Current Task",
                        "criteria"):
        assert scaffolding not in summary, summary
    assert "Ana Reyes finds a brass key" in summary  # extracted from the story itself
    assert job.result["tidings"]["words"] == len(STORY.split())
