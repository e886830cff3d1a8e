"""``--judge``: a real model endpoint (the SDK's local server) scores scenes and compares A/B."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from eval_fixtures import VELL, perfect_architect, vell

from novelcrew_eval.plugin import register_commands
from novelcrew_sdk import check_plugin
from novelcrew_sdk.openai_server import OpenAIServer

JUDGE = "openai/judge"


def _text_of(body: dict[str, Any]) -> tuple[str, str]:
    system, user = (m["content"] for m in body["messages"][:2])
    return system, user


def judge_handler(body: dict[str, Any]) -> str:
    """A judge with a taste: it prefers the breakdown that says GOOD, and quotes the scene."""
    system, user = _text_of(body)
    scene = re.search(r"<<<\n(.*?)\n>>>", user, re.S)
    assert scene is not None
    if system.startswith("Two breakdowns"):
        first = user.split("Breakdown 1:")[1].split("Breakdown 2:")[0]
        return json.dumps({"better": 1 if "GOOD" in first else 2, "reason": "fuller"})
    quote = scene.group(1).split(". ")[0]
    invented = "This sentence is not in the scene."
    return json.dumps({"score": 4, "evidence": [quote, invented], "reason": "mostly right"})


def always_first(body: dict[str, Any]) -> str:
    """A judge biased to whatever it reads first."""
    system, _ = _text_of(body)
    if system.startswith("Two breakdowns"):
        return json.dumps({"better": 1})
    return json.dumps({"score": 5, "evidence": ["not quoted from anything"], "reason": "x"})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[OpenAIServer]:
    with OpenAIServer(default=judge_handler) as srv:
        monkeypatch.setenv("NOVELCREW_OPENAI_BASE_URL", srv.url)
        monkeypatch.setenv("NOVELCREW_OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("NOVELCREW_MODEL_MAX_RETRIES", "0")
        monkeypatch.setenv("NOVELCREW_PLUGINS", "eval")
        yield srv


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Root."""

    register_commands(app)
    return app


def _files(tmp_path: Path) -> tuple[Path, Path]:
    a = perfect_architect(vell())
    b = json.loads(json.dumps(a))
    for scene in a["scenes"]:
        scene["summary"] = "GOOD " + scene["summary"]
    (tmp_path / "a.json").write_text(json.dumps({"architect": a}))
    (tmp_path / "b.json").write_text(json.dumps({"architect": b}))
    return tmp_path / "a.json", tmp_path / "b.json"


def test_the_judge_scores_every_scene_with_quotes_from_its_text(
    server: OpenAIServer, cli: typer.Typer, tmp_path: Path
) -> None:
    a, _ = _files(tmp_path)
    run = CliRunner().invoke(cli, ["eval", str(VELL), "--result", str(a), "--judge", JUDGE,
                                   "--json"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    judged = report["stories"][0]["judge"]
    assert judged["model"] == JUDGE
    assert len(judged["scenes"]) == 6 and judged["mean_score"] == 4.0
    for verdict in judged["scenes"]:
        assert verdict["grounded"] is True
        assert verdict["evidence"] and "This sentence is not in the scene." not in verdict[
            "evidence"]
    assert report["overall"]["judge_score"] == 4.0
    # the judge saw each gold scene's own text (the result scenes need not carry any)
    first = [c for c in server.calls if "Rosa Amati unlocked the back door" in c.messages[1][
        "content"]]
    assert first and all(c.model == "judge" for c in server.calls)


def test_a_b_comparison_counts_only_preferences_that_survive_swapping(
    server: OpenAIServer, cli: typer.Typer, tmp_path: Path
) -> None:
    a, b = _files(tmp_path)
    run = CliRunner().invoke(cli, ["eval", str(VELL), "--result", str(a), "--compare", str(b),
                                   "--judge", JUDGE, "--json"])
    assert run.exit_code == 0, run.output
    judged = json.loads(run.stdout)["stories"][0]["judge"]
    assert (judged["a_wins"], judged["b_wins"], judged["ties"]) == (6, 0, 0)

    server.default = always_first  # position bias: 1 in both orders means no preference
    biased = CliRunner().invoke(cli, ["eval", str(VELL), "--result", str(b), "--compare",
                                      str(a), "--judge", JUDGE, "--json"])
    judged = json.loads(biased.stdout)["stories"][0]["judge"]
    assert (judged["a_wins"], judged["b_wins"], judged["ties"]) == (0, 0, 6)
    assert judged["mean_score"] is None and judged["grounded_share"] == 0.0  # nothing quoted


def test_compare_needs_a_judge(cli: typer.Typer, tmp_path: Path) -> None:
    a, b = _files(tmp_path)
    run = CliRunner().invoke(cli, ["eval", str(VELL), "--result", str(a), "--compare", str(b)])
    assert run.exit_code == 2 and "--compare needs --judge" in run.stderr


def test_the_judge_crew_passes_the_plugin_contract(tmp_path: Path) -> None:
    report = check_plugin("eval", data_dir=tmp_path)
    assert report.crews == {"eval-judge": "succeeded"}
    assert set(report.hooks) == {"register_commands", "register_crews"}
