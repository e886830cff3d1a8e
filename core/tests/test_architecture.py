"""The import rules of the design, checked by import-linter on the real import graph (the
contracts live in the workspace pyproject.toml, ``[tool.importlinter]``): core never imports a
plugin or the SDK, plugins never import each other, ``novelcrew.context`` is a leaf below the
runner, and core's packages (``api``, ``backends``, ``crewai``, ``llm``, ...) import each other
without a cycle, counting imports inside functions."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts() -> None:
    out = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
                         capture_output=True, text=True, cwd=ROOT)
    report = " ".join(out.stdout.split())  # long contract names wrap
    results = dict((name.strip(" -"), verdict) for name, verdict in
                   re.findall(r"([\w.,() -]+?) (KEPT|BROKEN)", report.split("Contracts:")[0]
                              .split("-----")[-1]))
    assert len(results) == 5, out.stdout + out.stderr
    broken = {name for name, verdict in results.items() if verdict == "BROKEN"}
    assert broken == set(), out.stdout
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_contracts_cover_every_plugin_and_the_sdk() -> None:
    """A plugin package missing from the contracts could import core's insides or another
    plugin unnoticed: every package under ``plugins/*/src`` and the SDK is named in each."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    packages = {p.name for p in ROOT.glob("plugins/*/src/*") if (p / "__init__.py").is_file()}
    packages |= {p.name for p in ROOT.glob("sdk/src/*") if (p / "__init__.py").is_file()}
    assert "novelcrew_sdk" in packages and len(packages) > 2
    contracts = {c["id"]: c for c in config["contracts"]}
    assert packages <= set(config["root_packages"])
    assert packages <= set(contracts["core-imports-no-plugin"]["forbidden_modules"])
    assert packages <= set(contracts["plugins-independent"]["modules"])
