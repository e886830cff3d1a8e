"""The SDK's contract checks, run on this plugin as any plugin author would run them."""

from __future__ import annotations

from pathlib import Path

from novelcrew_sdk import check_plugin


def test_architect_passes_the_plugin_contract(tmp_path: Path) -> None:
    report = check_plugin("architect", entry_points_for_tools=("pathrag",), data_dir=tmp_path)
    assert report.plugin == "architect"
    assert report.hooks == ["register_crews", "register_renderers"]
    assert report.crews == {"architect": "succeeded"}
