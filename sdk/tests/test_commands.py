"""`novelcrew plugin new NAME` prints the next commands exactly as the plugin-author guide
shows them when they would run in novelcrew's own environment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from novelcrew_sdk.commands import register_commands


def new(name: str, directory: Path) -> str:
    """Run `novelcrew plugin new NAME --dir DIRECTORY` as the SDK adds it to the CLI."""
    cli = typer.Typer()
    cli.callback()(lambda: None)
    register_commands(cli)
    result = CliRunner().invoke(cli, ["plugin", "new", name, "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    return result.output


def test_next_step_says_python_when_python_on_path_is_novelcrews(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # an activated venv
    output = new("synopsis", tmp_path)
    assert output.splitlines()[-1].endswith(
        "next: cd " + str(tmp_path / "novelcrew-synopsis")
        + " && novelcrew install -e '.[test]' && python -m pytest"), output


def test_next_step_names_novelcrews_python_when_python_is_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `python`, or another one
    output = new("synopsis", tmp_path)
    assert output.rstrip().endswith(f"&& {sys.executable} -m pytest"), output


@pytest.mark.parametrize(("name", "words"), [
    ("Café Noir", "'é' cannot be part of a Python package name"),
    ("9lives", "start with a letter"),
    ("architect", "one of novelcrew's own plugins or crews"),
    ("SDK", "one of novelcrew's own plugins or crews"),  # would install over novelcrew-sdk
])
def test_an_unusable_name_is_refused_saying_why(tmp_path: Path, name: str, words: str) -> None:
    cli = typer.Typer()
    cli.callback()(lambda: None)
    register_commands(cli)
    result = CliRunner().invoke(cli, ["plugin", "new", name, "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert words in result.output, result.output
    assert list(tmp_path.iterdir()) == []  # nothing half written


def test_a_name_of_words_becomes_one_slug(tmp_path: Path) -> None:
    new("Story Board_2", tmp_path)
    assert (tmp_path / "novelcrew-story-board-2" / "src" / "novelcrew_story_board_2").is_dir()
