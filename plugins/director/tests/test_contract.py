"""The director passes the SDK's contract check, run as users run it: after the architect
(its ``runs_after``), whose scenes it plans."""

from pathlib import Path

from novelcrew_sdk import check_plugin


def test_director_passes_the_plugin_contract_after_the_architect(tmp_path: Path) -> None:
    report = check_plugin("director", entry_points_for_tools=("pathrag", "architect"),
                          data_dir=tmp_path)
    assert report.crews == {"director": "succeeded"}
    assert report.hooks == ["register_crews", "register_renderers"]
