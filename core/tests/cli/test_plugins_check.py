"""``novelcrew plugins --check`` without novelcrew-sdk says what to install (exit 2)."""

from __future__ import annotations

import importlib.metadata
import json
import types

import pytest

from novelcrew.cli.plugins import check_plugins


def test_check_without_a_checker_says_to_install_the_sdk(monkeypatch, capsys):
    real = importlib.metadata.entry_points

    def without_checkers(**params):
        return [] if params.get("group") == "novelcrew.checks" else real(**params)

    monkeypatch.setattr(importlib.metadata, "entry_points", without_checkers)
    assert check_plugins([{"name": "anything", "error": None}]) == 2
    assert "novelcrew install novelcrew-sdk" in capsys.readouterr().err


@pytest.mark.parametrize("as_json", [False, True])
def test_a_plugin_that_failed_to_load_fails_the_check_without_running_it(as_json, capsys):
    code = check_plugins([{"name": "broken", "error": "RegistrationError: no module"}], as_json)
    assert code == 1
    assert "RegistrationError: no module" in capsys.readouterr().out


def test_check_with_all_checks_installed_plugins_not_the_built_ins(monkeypatch) -> None:
    """``--all`` adds the built-ins to the listing only: core's own default plugins are not
    packages a contract check is for."""
    from typer.testing import CliRunner

    from novelcrew.cli import app
    from novelcrew.cli import plugins as cli_plugins
    from novelcrew.plugins import get_plugins, register_module, reset_plugins

    checked: list[list[str]] = []
    monkeypatch.setattr(cli_plugins, "check_plugins",
                        lambda rows, as_json: checked.append([r["name"] for r in rows]) or 0)
    monkeypatch.setenv("NOVELCREW_PLUGINS", "")  # no entry points: the built-ins, and one more
    reset_plugins()
    try:
        register_module(get_plugins(), types.ModuleType("extra"), "tests_check_extra")
        listed = CliRunner().invoke(app, ["plugins", "--all", "--json"])
        result = CliRunner().invoke(app, ["plugins", "--check", "--all"])
    finally:
        reset_plugins()
    assert result.exit_code == 0, result.output
    assert any(row["name"].startswith("novelcrew.default_plugins")
               for row in json.loads(listed.output))
    assert checked == [["tests_check_extra"]]
