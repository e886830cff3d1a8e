"""Plugins installed as pip installs them, for the tests of plugin loading: a ``.dist-info``
with a ``novelcrew`` entry point (and PEP 610's ``direct_url.json`` for an editable install),
and the source of a small word-counting crew plugin to put behind it.

importlib.metadata finds such a folder on ``sys.path`` (or ``PYTHONPATH`` in a subprocess)
exactly as it finds a pip-installed package, so the loader sees a real entry point.
"""

from __future__ import annotations

import json
from pathlib import Path

#: a crew's models and ``run``: ``register_crews`` (and any other hook) follows in each test
COUNTER = """
from pydantic import BaseModel
from novelcrew import Crew, Tool, hookimpl

class In(BaseModel):
    story_text: str

class Out(BaseModel):
    words: int

async def run(ctx, inputs):
    return Out(words=len(inputs.story_text.split()))
"""


def dist_info(site: Path, dist: str, module: str, *, entry_name: str | None = None,
              version: str = "0.1.0", editable: Path | None = None) -> Path:
    """Write ``<dist>-<version>.dist-info`` into ``site``, its entry point ``entry_name``
    (default: ``dist``) naming ``module``; ``editable``: the project folder of an ``-e``
    install. Returns the folder."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[novelcrew]\n{entry_name or dist} = {module}\n")
    if editable is not None:  # what pip and uv write for `install -e`
        (info / "direct_url.json").write_text(json.dumps(
            {"url": editable.as_uri(), "dir_info": {"editable": True}}))
    return info
