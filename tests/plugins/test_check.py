"""`novelcrew plugins --check` runs the SDK's contract check on every loaded plugin (issue #23).

The plugins are installed-looking distributions (dist-info with entry points) on PYTHONPATH of
a fresh process, so discovery is exactly that of a pip-installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from types import SimpleNamespace

HEADER = """
from pydantic import BaseModel
from novelcrew import Crew, hookimpl

class In(BaseModel):
    story_text: str

class Out(BaseModel):
    words: int
"""

SOUND = HEADER + """
async def run(ctx, inputs):
    return Out(words=len(inputs.story_text.split()))

@hookimpl
def register_crews(register):
    register(Crew(name="sound", description="counts", input_model=In, output_model=Out,
                  run=run, example_inputs={"story_text": "a b c"}))
"""

WRONG_SHAPE = HEADER + """
async def run(ctx, inputs):
    return {"words": "many"}  # not an int: the job fails validating the output

@hookimpl
def register_crews(register):
    register(Crew(name="wrong-shape", description="x", input_model=In, output_model=Out,
                  run=run))
"""

UNMARKED = HEADER + """
def register_crews(register):  # forgot @hookimpl
    pass
"""


def _site(tmp_path: Path, plugins: dict[str, str]) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    for dist, source in plugins.items():
        module = dist.replace("-", "_")
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{module}-1.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0.0\n")
        (info / "entry_points.txt").write_text(f"[novelcrew]\n{dist} = {module}\n")
    return site


def _check(env_tools: SimpleNamespace, tmp_path: Path, site: Path, allow: str,
           *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "NOVELCREW_PLUGINS": allow,
           "NOVELCREW_DATA_DIR": str(tmp_path / "data"), "NOVELCREW_LOG_LEVEL": "WARNING"}
    return subprocess.run([str(env_tools.bin / "novelcrew"), "plugins", "--check", *flags],
                          capture_output=True, text=True, env=env, timeout=300)


def test_check_passes_sound_plugins_and_fails_broken_ones(
    tmp_path: Path, env_tools: SimpleNamespace
) -> None:
    site = _site(tmp_path, {"sound-plugin": SOUND, "shape-plugin": WRONG_SHAPE,
                            "unmarked-plugin": UNMARKED})

    good = _check(env_tools, tmp_path, site, "sound-plugin")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "ok   sound-plugin (contract): hooks register_crews; crews: sound succeeded" in (
        good.stdout)

    bad = _check(env_tools, tmp_path, site, "sound-plugin,shape-plugin,unmarked-plugin",
                 "--json")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    results = {row["plugin"]: row for row in json.loads(bad.stdout)}
    assert results["sound-plugin"]["ok"] is True
    assert results["shape-plugin"]["ok"] is False
    assert "crew 'wrong-shape' did not run end to end" in results["shape-plugin"]["message"]
    assert results["unmarked-plugin"]["ok"] is False
    assert "'register_crews' is named like a hook but lacks @hookimpl" in (
        results["unmarked-plugin"]["message"])


def test_check_prints_the_verdicts_without_info_log_lines(
    tmp_path: Path, env_tools: SimpleNamespace
) -> None:
    """As the plugin-author guide shows it: the `ok` line, not the checked jobs' info lines
    (job_started, crew_finished...) between them; NOVELCREW_LOG_LEVEL=INFO brings those back."""
    site = _site(tmp_path, {"sound-plugin": SOUND})
    env = {key: value for key, value in os.environ.items() if key != "NOVELCREW_LOG_LEVEL"}
    env.update(PYTHONPATH=str(site), NOVELCREW_PLUGINS="sound-plugin",
               NOVELCREW_DATA_DIR=str(tmp_path / "data"))
    argv = [str(env_tools.bin / "novelcrew"), "plugins", "--check"]
    quiet = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert quiet.stdout.startswith("ok   sound-plugin (contract)")
    assert "job_started" not in quiet.stderr and "job_succeeded" not in quiet.stderr, (
        quiet.stderr)
    loud = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                          env={**env, "NOVELCREW_LOG_LEVEL": "INFO"})
    assert loud.returncode == 0 and "job_succeeded" in loud.stderr, loud.stderr
