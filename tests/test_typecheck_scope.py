"""`make typecheck` (part of `make test`, so of CI) covers every package of the repository.

Issue #16: mypy runs on core, the SDK and each plugin. A new plugin folder is picked up by the
Makefile's wildcards; this test fails if the target is narrowed again or a package lives
somewhere the wildcards do not reach.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _packages() -> set[str]:
    """Every folder with its own pyproject.toml and a src/ layout (a distribution of ours)."""
    found = set()
    for pyproject in ROOT.glob("**/pyproject.toml"):
        rel = pyproject.parent.relative_to(ROOT)
        # test fixtures (a broken plugin, a crewai-create project) are data, not our packages
        skip = {"node_modules", "dist", "tests"}
        if any(part.startswith(".") or part in skip for part in rel.parts):
            continue
        if (pyproject.parent / "src").is_dir():
            found.add(f"{rel.as_posix()}/src")
    return found


def test_make_typecheck_runs_mypy_on_every_package() -> None:
    dry = subprocess.run(["make", "-n", "typecheck"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    command = next(line for line in dry.splitlines() if "mypy" in line)
    checked = set(command.split()[command.split().index("mypy") + 1:])
    packages = _packages()
    assert {"core/src", "sdk/src", "plugins/architect/src"} <= packages
    missing = packages - checked
    assert not missing, f"make typecheck does not run mypy on {sorted(missing)}"
