"""The plugin is listed with its tools and observer, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import novelcrew_payload
from novelcrew.plugins import load
from novelcrew.settings import SettingsError, check_plugin_settings
from novelcrew_payload import PayloadConfig
from novelcrew_payload.config import payload_config
from novelcrew_sdk import check_plugin, make_settings

TOOLS = ["payload_read_project", "payload_read_story", "payload_update_project"]


def test_plugin_is_listed_with_its_tools_and_observer() -> None:
    plugins = load(allow=["payload"])
    info = plugins.infos["payload"]
    assert info.error is None
    assert sorted(info.tools) == TOOLS
    assert "job_event" in info.hooks and "register_tools" in info.hooks
    for name in TOOLS:
        assert plugins.registry.tools[name].plugin == "payload"
        assert plugins.registry.tools[name].spec.health is not None


def test_the_plugin_passes_the_sdk_contract_checks() -> None:
    report = check_plugin("payload", entry_points_for_tools=())
    assert report.hooks == ["job_event", "register_tools"]
    assert sorted(report.tools) == TOOLS


def test_importing_the_entry_point_does_not_import_crewai() -> None:
    code = ("import sys, novelcrew_payload.plugin; "
            "print('crewai' in sys.modules, 'httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "False"


def test_public_names_are_exactly_the_intended_ones() -> None:
    assert sorted(novelcrew_payload.__all__) == sorted(
        name for name in dir(novelcrew_payload)
        if not name.startswith("_") and name not in {
            "api", "client", "config", "enums", "errors", "health", "observer", "outage",
            "testing",
            "tools", "workflow", "plugin"})


def test_a_url_without_http_stops_the_server_at_start_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # "localhost:3000" used to start a server whose health said "unreachable ... unsupported
    # protocol" and whose jobs retried each update for the whole budget
    monkeypatch.delenv("NOVELCREW_PAYLOAD_URL", raising=False)
    monkeypatch.setenv("NOVEL_MOVIE_API_URL", "localhost:3000")
    settings = make_settings(tmp_path)
    with pytest.raises(SettingsError) as caught:
        check_plugin_settings(settings)  # what `novelcrew serve`, `worker` and `run` call first
    assert "NOVEL_MOVIE_API_URL='localhost:3000'" in str(caught.value)
    assert "http://" in str(caught.value)
    with pytest.raises(ValidationError):
        PayloadConfig(url="localhost:3000")  # crew code building a client directly
    # blank stays "not configured" (the plugin idles), and a good URL is kept as given
    monkeypatch.setenv("NOVEL_MOVIE_API_URL", " ")
    assert payload_config(make_settings(tmp_path)) is None
    monkeypatch.setenv("NOVEL_MOVIE_API_URL", "https://movie.example/api")
    config = payload_config(make_settings(tmp_path))
    assert config is not None and config.api_url == "https://movie.example/api"
