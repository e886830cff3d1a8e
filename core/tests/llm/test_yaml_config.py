"""A plugin's agents.yaml/tasks.yaml, read by the one loader every crew plugin uses."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from novelcrew.crewai.yaml_config import fill, load_crew_yaml
from novelcrew.errors import PluginError

AGENTS = """\
writer:
  role: >
    Story Writer
  goal: Write the scene.
  backstory: You write for the stage.
editor:
  role: Editor
  goal: Tighten the draft.
  backstory: You cut what is not needed.
"""
TASKS = """\
draft:
  description: 'Draft scene {number} from {story}. Answer as {"scene": 1}.'
  expected_output: A scene of {story}.
  agent: writer
polish:
  description: Polish {draft}.
  expected_output: The polished draft.
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed-looking package ``yaml_crew_pkg`` shipping config/agents.yaml and
    config/tasks.yaml."""
    root = tmp_path / "site" / "yaml_crew_pkg"
    (root / "config").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "config" / "agents.yaml").write_text(AGENTS)
    (root / "config" / "tasks.yaml").write_text(TASKS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "yaml_crew_pkg", raising=False)
    return "yaml_crew_pkg"


def load(package: str, override: Path | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"default_agents": {"polish": "editor"}, **kwargs}
    return load_crew_yaml(package, agents=["writer", "editor"], tasks=["draft", "polish"],
                          override_dir=override, **options)  # type: ignore[arg-type]


def test_shipped_texts_are_stripped_and_tasks_know_their_agent(package: str) -> None:
    texts = load(package)
    assert texts.agent("writer").role == "Story Writer"  # a folded ``>`` role ends in \n
    assert texts.role("draft") == "Story Writer"
    assert texts.tasks["polish"].agent == "editor"  # named by default_agents
    assert texts.task_template("polish").splitlines()[0] == "Editor"
    assert "yaml_crew_pkg/config/tasks.yaml" in texts.source


def test_render_fills_the_named_placeholders_and_leaves_json_braces(package: str) -> None:
    texts = load(package, placeholders=("number", "story"))
    description, expected = texts.tasks["draft"].render(story="the flood")
    assert description == 'Draft scene  from the flood. Answer as {"scene": 1}.'
    assert expected == "A scene of the flood."
    assert fill("{a} {b} {c}", {"a": "1", "b": "2"}) == "1 2 {c}"
    assert fill("{a} {b}", {"a": "1"}, ["a", "b"]) == "1 "


def test_an_override_folder_replaces_fields_one_by_one(package: str, tmp_path: Path) -> None:
    folder = tmp_path / "edited"
    folder.mkdir()
    (folder / "agents.yaml").write_text("editor:\n  backstory: You edit for radio.\n")
    texts = load(package, folder)
    assert texts.agent("editor").backstory == "You edit for radio."
    assert texts.agent("editor").goal == "Tighten the draft."
    assert texts.tasks["draft"].description.startswith("Draft scene")  # no tasks.yaml there
    assert str(folder / "agents.yaml") in texts.source


@pytest.mark.parametrize(("agents", "tasks", "kwargs", "says"), [
    ("writer: {role: W, backstory: ''}\n", "", {}, "'writer' lacks backstory"),
    ("", "polish: {description: P, expected_output: E, agent: nobody}\n", {},
     "task 'polish' names unknown agent 'nobody'"),
    ("", "draft: {description: Draft it.}\n", {"required": {"draft": ["story"]}},
     "task 'draft' must contain {story}"),
    ("", "draft: [not, an, entry]\n", {}, "missing entry 'draft'"),
    ("", "draft: {description: [unclosed\n", {}, "is not valid YAML"),
])
def test_a_broken_edit_is_a_plugin_error_naming_file_and_key(
        package: str, tmp_path: Path, agents: str, tasks: str, kwargs: dict[str, object],
        says: str) -> None:
    folder = tmp_path / "edited"
    folder.mkdir()
    for name, text in (("agents.yaml", agents), ("tasks.yaml", tasks)):
        if text:
            (folder / name).write_text(text)
    with pytest.raises(PluginError) as caught:
        load(package, folder, **kwargs)
    assert says in caught.value.message
    assert str(folder) in caught.value.message
