"""``novelcrew plugins --check`` without novelcrew-sdk says what to install (exit 2)."""

from __future__ import annotations

import importlib.metadata

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
