"""``NOVELCREW_PLUGIN_MODULES``: plugin modules by import path, for worker fleets that load a
plugin from ``PYTHONPATH`` without installing it."""

from __future__ import annotations

import pytest

from novelcrew.plugins import load


def test_a_module_by_import_path_registers_like_an_installed_plugin() -> None:
    plugins = load(allow=[], modules=["nc_arq_crews"])
    assert {"sleepy", "noop"} <= set(plugins.registry.crews)
    assert plugins.registry.crews["sleepy"].plugin == "nc_arq_crews"
    assert plugins.infos["nc_arq_crews"].error is None


def test_a_module_that_fails_is_recorded_and_the_rest_load() -> None:
    plugins = load(allow=[], modules=["no_such_module_here", "nc_arq_crews"])
    assert "ModuleNotFoundError" in (plugins.infos["no_such_module_here"].error or "")
    assert "noop" in plugins.registry.crews


def test_the_setting_reads_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVELCREW_PLUGINS", "")
    monkeypatch.setenv("NOVELCREW_PLUGIN_MODULES", " nc_arq_crews , ")
    plugins = load()
    assert "sleepy" in plugins.registry.crews
